"""Opening an exported model (folder or zip) without its project, safely.

studio opens ``model.skops`` (with its short trusted-type list) or ``model.onnx``; it
unpickles ``model.joblib`` only when the caller passes ``trust=True``, because unpickling
a file runs whatever code it holds.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from studio.errors import NotFound, StudioError, UnsafeFile
from studio.export.formats import ONNX_INPUT, SKOPS_TRUSTED
from studio.model.predictor import Predictor

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
