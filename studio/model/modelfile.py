"""A trained model saved inside its project, and loaded back only if this installation wrote it.

``model/model.json`` names the current ``model-<id>.joblib`` and its SHA-256, signed with this
installation's secret (``signing``). A new model is written beside the old one and the pointer
switched atomically, so a crash mid-save leaves the previous model working. A model whose
signature does not verify (a project copied from elsewhere), or whose joblib file does not match
its hash, is refused, never unpickled.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import sklearn

from studio import __version__
from studio.errors import NotFound, StudioError, UnsafeFile, UntrustedModel
from studio.features import registry
from studio.features.spec import FeatureSpec
from studio.model import signing
from studio.model.metrics import Metrics
from studio.samples import atomic

POINTER = "model.json"
FORMAT = 1


def versions() -> dict:
    return {"studio": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "joblib": joblib.__version__, "python": platform.python_version()}


@dataclass
class ModelRecord:
    """A fitted estimator with everything needed to use and describe it."""

    estimator: object
    labels: list[str]
    spec: FeatureSpec
    settings: dict
    metrics: Metrics
    project_name: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    versions: dict = field(default_factory=versions)
    id: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3))

    def info(self) -> dict:
        """Everything but the estimator, as JSON-ready data."""
        return {"format": FORMAT, "id": self.id, "labels": self.labels, "spec": self.spec.to_json(),
                "settings": self.settings, "metrics": self.metrics.to_json(), "project": self.project_name,
                "created": self.created, "versions": self.versions}


def dumps(estimator) -> bytes:
    buf = io.BytesIO()
    joblib.dump(estimator, buf, compress=3)
    return buf.getvalue()


def save(folder: Path, record: ModelRecord) -> Path:
    """Write the model file, then point model.json at it, under the project's lock (the one
    project.json edits take, on the folder holding ``folder``): of two trainings saving at once,
    the last one's model stays, whole, and no other model file is left. On a full disk
    (DiskFull) the previous model stays as it was."""
    folder = Path(folder)
    data = dumps(record.estimator)
    name = f"model-{record.id}.joblib"
    pointer = {**record.info(), "file": name, "sha256": hashlib.sha256(data).hexdigest()}
    pointer["signature"] = signing.sign(pointer)  # before any write: without a secret, the old model stays
    with atomic.on_disk(folder):
        folder.mkdir(parents=True, exist_ok=True)
    with atomic.locked(folder.parent):
        atomic.write_bytes(folder / name, data)
        try:
            atomic.write_json(folder / POINTER, pointer)
        except BaseException:
            (folder / name).unlink(missing_ok=True)  # model.json still names the previous model
            raise
        for old in folder.glob("model-*.joblib"):
            if old.name != name:
                old.unlink(missing_ok=True)
    return folder / name


def _pointer(folder: Path) -> dict | None:
    try:
        return json.loads((folder / POINTER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StudioError(f"{folder / POINTER} is damaged ({e}); train the model again.") from None


def exists(folder: Path) -> bool:
    return (Path(folder) / POINTER).is_file()


def info(folder: Path) -> dict:
    meta = _pointer(Path(folder))
    if meta is None:
        raise NotFound("This project has no trained model yet: train it first.")
    return meta


def load(folder: Path, trust: bool = False) -> ModelRecord:
    """Load the project's model, refusing one this installation did not sign unless ``trust`` (the
    CLI's --trust: the user knows where it came from), and files that do not match their hash."""
    folder = Path(folder)
    meta = info(folder)
    if meta.get("format") != FORMAT:
        raise StudioError(f"The model in {folder} has format {meta.get('format')}, this studio reads "
                          f"format {FORMAT}: train the model again.")
    missing = [k for k in ("file", "sha256", "labels", "spec", "id") if k not in meta]
    if missing or not isinstance(meta.get("file"), str) or not isinstance(meta.get("labels"), list):
        raise StudioError(f"{folder / POINTER} is damaged (missing or wrong: {', '.join(missing) or 'file, labels'}); "
                          "train the model again.")
    if not trust and not signing.verifies(meta):
        raise UntrustedModel(_untrusted(folder, meta))
    file = folder / Path(meta["file"]).name
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"The model file {file} is missing: train the model again.") from None
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise UnsafeFile(f"{file} does not match the checksum studio recorded; it will not be "
                         "opened (it may have been replaced). Train the model again.")
    try:
        estimator = joblib.load(io.BytesIO(data))
    except Exception as e:  # written by studio, yet unreadable here: e.g. another scikit-learn
        made_by = (meta.get("versions") or {}).get("scikit-learn", "an unknown version")
        raise StudioError(f"{file} was written with scikit-learn {made_by} and cannot be read with "
                          f"{sklearn.__version__} ({type(e).__name__}: {e}). Train the model again.") from None
    return ModelRecord(estimator, meta["labels"], registry.from_json(meta["spec"]), meta.get("settings", {}),
                       Metrics.from_json(meta.get("metrics")),
                       meta.get("project", ""), meta.get("created", ""), meta.get("versions", {}), meta["id"])


def _untrusted(folder: Path, meta: dict) -> str:
    """Why the model in ``folder`` is not loaded, and what to do."""
    why = ("it carries no signature: copied with its project from elsewhere, or trained before studio signed "
           "its models" if "signature" not in meta else "its signature does not match this installation's secret")
    return (f"The model in {folder} was not made by this studio installation ({why}), and loading a model runs "
            "code stored in it: retrain to use it here, or pass --trust on the command line if you know where "
            "it came from.")
