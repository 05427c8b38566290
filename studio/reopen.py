"""Opening an exported model (folder or zip) without its project, safely, and reading the
training images an export carries so a project can be rebuilt from it.

studio opens ``model.skops`` (with its short trusted-type list) or ``model.onnx``; it
unpickles ``model.joblib`` only when the caller passes ``trust=True``, because unpickling
a file runs whatever code it holds.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import NotFound, StudioError, UnsafeFile
from .featurize import is_sound
from .formats import ONNX_INPUT, SKOPS_TRUSTED
from .predictor import Predictor

MAX_MODEL_BYTES = 512 * 2**20


class OnnxModel:
    """The predict_proba / classes_ face of an ONNX classifier exported by studio."""

    def __init__(self, data: bytes, classes: list[str]):
        import onnxruntime as ort

        self.session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        self.classes_ = np.array(classes, dtype=object)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        _, proba = self.session.run(["label", "probabilities"], {ONNX_INPUT: np.asarray(X, np.float32)})
        return np.asarray(proba)


def _read_export(path: Path) -> dict[str, bytes]:
    """{file name: bytes} of an export folder or zip (its top level only)."""
    if path.is_dir():
        return {p.name: p.read_bytes() for p in path.iterdir()
                if p.is_file() and not p.is_symlink() and p.stat().st_size < MAX_MODEL_BYTES}
    if zipfile.is_zipfile(path):
        out = {}
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                parts = PurePosixPath(info.filename).parts
                if not info.is_dir() and len(parts) <= 2 and info.file_size < MAX_MODEL_BYTES:
                    out[parts[-1]] = z.read(info)
        return out
    raise NotFound(f"{path} is neither an export folder nor a zip of one.")


def _metadata(files: dict[str, bytes], path: Path) -> dict:
    if "metadata.json" not in files:
        raise StudioError(f"{path} has no metadata.json, so it is not a studio export.")
    try:
        meta = json.loads(files["metadata.json"].decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise StudioError(f"The metadata.json in {path} is damaged ({e}).") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("labels"), list) or \
            not isinstance(meta.get("feature_spec"), dict):
        raise StudioError(f"The metadata.json in {path} has no labels or feature_spec.")
    return meta


def open_export(path: str | Path, trust: bool = False) -> Predictor:
    """A Predictor for an export folder or zip: from model.skops, else model.onnx, else (only with
    ``trust``) model.joblib."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"{path} does not exist.")
    files = _read_export(path)
    meta = _metadata(files, path)
    labels, spec = meta["labels"], meta["feature_spec"]
    if "model.skops" in files:
        import skops.io as sio

        untrusted = [t for t in sio.get_untrusted_types(data=files["model.skops"]) if t not in SKOPS_TRUSTED]
        if untrusted and not trust:
            raise UnsafeFile(f"{path}/model.skops holds types studio does not trust: {untrusted}. "
                             "Open it only if you trust its source (--trust).")
        estimator = sio.loads(files["model.skops"], trusted=SKOPS_TRUSTED + untrusted)
    elif "model.onnx" in files:
        estimator = OnnxModel(files["model.onnx"], meta.get("onnx", {}).get("classes", labels))
    elif "model.joblib" in files:
        if not trust:
            raise UnsafeFile(f"{path} holds only model.joblib; unpickling runs code from the file, so studio "
                             "opens it only if you trust its source (--trust).")
        import joblib

        estimator = joblib.load(io.BytesIO(files["model.joblib"]))
    else:
        raise NotFound(f"{path} holds no model file (model.skops, model.onnx or model.joblib).")
    return Predictor(estimator, labels, spec, meta)


@dataclass
class ExportedDataset:
    """The training samples of an export made with them, in the form ``transfer`` imports."""

    labels: list[str]  # every class, in the project's order
    kind: str  # the project kind to rebuild: photo, sketch or sound
    settings: dict  # the training settings the model was made with
    items: list[tuple[str | None, str, bytes | None, str]]  # (label, name, data or None, reason skipped)


def exported_dataset(source: str | Path) -> ExportedDataset | None:
    """The samples of a studio export folder or zip, or None if ``source`` is not a studio export.

    Raises StudioError for an export made without its samples.
    """
    source = Path(source)
    found = _export_metadata(source)
    if found is None:
        return None
    meta, root = found
    classes = [c for c in meta.get("dataset") or [] if isinstance(c, dict) and isinstance(c.get("label"), str)]
    if not classes:
        raise StudioError(f"{source} is a studio export without its training images; export the project "
                          "again with its images (--with-images) to rebuild it from the export.")
    spec = meta.get("feature_spec") if isinstance(meta.get("feature_spec"), dict) else {}
    kind = "sound" if is_sound(spec) else ("sketch" if spec.get("framing") == "sketch" else "photo")
    label_of = {str(c.get("folder")): c["label"] for c in classes}
    order = {c["label"]: i for i, c in enumerate(classes)}
    samples = _folder_samples(source / "dataset", kind) if source.is_dir() else _zip_samples(source, root, kind)
    items = sorted(((label_of.get(folder, folder), name, data, reason) for folder, name, data, reason in samples),
                   key=lambda item: order.get(item[0], len(order)))
    return ExportedDataset([c["label"] for c in classes], kind, _settings(meta.get("settings")), items)


def _export_metadata(source: Path) -> tuple[dict, PurePosixPath] | None:
    """(metadata, the export's folder inside the zip) if ``source`` is a studio export, else None."""
    root = PurePosixPath()
    if source.is_dir():
        if not (source / "metadata.json").is_file():
            return None
        data = (source / "metadata.json").read_bytes()
    elif source.is_file() and zipfile.is_zipfile(source) and source.suffix.lower() != ".tm":
        with zipfile.ZipFile(source) as z:
            names = [n for n in z.namelist() if PurePosixPath(n).name == "metadata.json"
                     and len(PurePosixPath(n).parts) <= 2]
            if not names:
                return None
            root = PurePosixPath(names[0]).parent
            data = z.read(names[0])
    else:
        return None
    try:
        meta = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return (meta, root) if isinstance(meta, dict) and meta.get("packageName") == "studio" else None


def _is_sample(name: str, kind: str) -> bool:
    from . import images, sounds

    return sounds.is_sound_name(name) if kind == "sound" else images.is_image_name(name)


def _folder_samples(dataset: Path, kind: str):
    """(class folder, name, data or None, reason) for the files of an export folder's dataset/."""
    from .transfer import MAX_ENTRY_BYTES

    for cls in sorted(p for p in dataset.iterdir() if p.is_dir() and not p.is_symlink()) if dataset.is_dir() else []:
        for f in sorted(cls.iterdir()):
            if f.name.startswith(".") or not f.is_file():
                continue
            if f.is_symlink():
                yield cls.name, str(f), None, "symbolic link"
            elif not _is_sample(f.name, kind):
                yield cls.name, str(f), None, "not a sample"
            elif f.stat().st_size > MAX_ENTRY_BYTES:
                yield cls.name, str(f), None, "too large"
            else:
                yield cls.name, str(f), f.read_bytes(), ""


def _zip_samples(source: Path, root: PurePosixPath, kind: str):
    """The same for a zip, with transfer's bounds on entry counts and sizes (zip bombs)."""
    from .transfer import MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_RATIO, MAX_TOTAL_BYTES

    dataset, total = (root / "dataset").parts, 0
    with zipfile.ZipFile(source) as z:
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES:
            raise StudioError(f"{source} has {len(infos):,} entries; studio reads at most {MAX_ENTRIES:,}.")
        for info in infos:
            path = PurePosixPath(info.filename)
            if info.is_dir() or len(path.parts) != len(dataset) + 2 or path.parts[:len(dataset)] != dataset:
                continue
            folder, name = path.parts[-2], str(path)
            if path.name.startswith(".") or stat.S_ISLNK(info.external_attr >> 16):
                yield folder, name, None, "hidden file or link"
            elif not _is_sample(path.name, kind):
                yield folder, name, None, "not a sample"
            elif info.file_size > MAX_ENTRY_BYTES or info.file_size > MAX_RATIO * max(info.compress_size, 1):
                yield folder, name, None, "too large"
            else:
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise StudioError(f"{source} unpacks to more than {MAX_TOTAL_BYTES // 2**30} GiB.")
                yield folder, name, z.read(info), ""


def _settings(settings) -> dict:
    """The export's training settings if this studio can use them, else none."""
    from .settings import TrainSettings

    try:
        return TrainSettings.from_dict(settings).to_dict() if isinstance(settings, dict) else {}
    except (StudioError, TypeError):
        return {}
