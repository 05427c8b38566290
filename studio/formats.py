"""Export formats. Each says before writing whether a model converts (``check``), writes its
files (``write``), names the packages a program needs (``needs``) and shows how to use them
(``snippet``). New formats plug in by adding to ``FORMATS``."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from . import __version__, atomic, modelfile
from .errors import StudioError

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
# Types beyond skops' defaults that studio's estimators contain; pass them as ``trusted=``.
SKOPS_TRUSTED = [
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
]


def standalone_script(runtime: str, needs: list[str]) -> str:
    """``predict.py`` text: studio's feature module verbatim, a runtime block, and a main."""
    source = (HERE / "features.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    first = tree.body[0]
    body_start = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) else 0
    feature_code = "\n".join(source.splitlines()[body_start:]).lstrip("\n")
    header = (
        f'"""Predict with a model exported by studio {__version__}; needs only {", ".join(needs)}.\n\n'
        "    python predict.py IMAGE [IMAGE ...]\n\n"
        "prints one line per image: <path><TAB><label><TAB><confidence>.\n"
        '"""\n'
    )
    runtime_code = (TEMPLATES / f"runtime_{runtime}.txt").read_text(encoding="utf-8")
    main = (TEMPLATES / "predict_main.txt").read_text(encoding="utf-8")
    return header + feature_code.rstrip() + "\n\n\n" + runtime_code.rstrip() + "\n" + main


def _feature_needs(spec: dict) -> list[str]:
    return ["opencv-python-headless"] if spec.get("kind") == "hog" else []


@dataclass
class ExportFormat:
    name: str
    title: str

    def check(self, record: modelfile.ModelRecord) -> None:
        """Raise StudioError if this model cannot be written in this format."""

    def write(self, record: modelfile.ModelRecord, folder: Path) -> list[str]:
        raise NotImplementedError

    def needs(self, record: modelfile.ModelRecord) -> list[str]:
        """The pip packages a program needs to use this format's files."""
        return []

    def snippet(self, record: modelfile.ModelRecord) -> str:
        return ""

    def extra_metadata(self, record: modelfile.ModelRecord) -> dict:
        """Keys this format adds to metadata.json."""
        return {}


class JoblibFormat(ExportFormat):
    def write(self, record, folder):
        atomic.write_bytes(folder / "model.joblib", modelfile.dumps(record.estimator))
        atomic.write_bytes(folder / "predict.py",
                           standalone_script("joblib", self.needs(record)).encode("utf-8"))
        return ["model.joblib", "predict.py"]

    def needs(self, record):
        return ["numpy", "pillow", "scikit-learn", "joblib", *_feature_needs(record.spec)]

    def snippet(self, record):
        return (
            "# pip install " + " ".join(self.needs(record)) + "\n"
            "# Run from the export folder; predict.py holds the exact image-to-features code.\n"
            "import joblib\n"
            "from predict import extract, load_rgb, load_model, predict\n\n"
            "model = joblib.load(\"model.joblib\")  # a plain scikit-learn Pipeline\n"
            "model, labels, spec = load_model()\n"
            "label, confidence, scores = predict(model, labels, spec, \"my_image.jpg\")\n"
            "print(label, confidence, scores)\n\n"
            "# or by hand: features for a batch, then scikit-learn as usual\n"
            "X = [extract(load_rgb(p), spec) for p in [\"a.jpg\", \"b.jpg\"]]\n"
            "print(model.predict(X), model.predict_proba(X))\n"
        )


class SkopsFormat(ExportFormat):
    def write(self, record, folder):
        import skops.io as sio

        atomic.write_bytes(folder / "model.skops", sio.dumps(record.estimator))
        return ["model.skops"]

    def needs(self, record):
        return ["numpy", "scikit-learn", "skops"]

    def snippet(self, record):
        trusted = ",\n    ".join(repr(t) for t in SKOPS_TRUSTED)
        return (
            "# pip install " + " ".join(self.needs(record)) + "\n"
            "import skops.io as sio\n\n"
            "# skops never runs code from the file; these are the only non-default types studio uses\n"
            f"TRUSTED = [\n    {trusted},\n]\n"
            "model = sio.load(\"model.skops\", trusted=TRUSTED)\n"
            "# features: see predict.py (extract, load_rgb) or metadata.json's \"preprocessing\"\n"
        )


class OnnxFormat(ExportFormat):
    def __init__(self, name: str, title: str):
        super().__init__(name, title)
        self._converted: dict[str, bytes] = {}

    def convert(self, record) -> bytes:
        if record.id not in self._converted:
            import numpy as np
            from skl2onnx import to_onnx

            model = record.estimator.named_steps["model"] if hasattr(record.estimator, "named_steps") else record.estimator
            dim = int(record.estimator.n_features_in_)
            try:
                onx = to_onnx(record.estimator, np.zeros((1, dim), dtype=np.float32),
                              options={id(model): {"zipmap": False}}, target_opset=17)
            except Exception as e:  # skl2onnx raises many kinds; all mean "not convertible"
                raise StudioError(f"The {record.settings.get('model')} model cannot be exported to ONNX "
                                  f"({e.__class__.__name__}: {str(e)[:200]}); choose joblib or skops.") from None
            self._converted = {record.id: onx.SerializeToString()}
        return self._converted[record.id]

    def check(self, record):
        self.convert(record)

    def write(self, record, folder):
        atomic.write_bytes(folder / "model.onnx", self.convert(record))
        script = standalone_script("onnx", self.needs(record))
        atomic.write_bytes(folder / "predict_onnx.py", script.replace("predict.py", "predict_onnx.py").encode())
        return ["model.onnx", "predict_onnx.py"]

    def needs(self, record):
        return ["numpy", "pillow", "onnxruntime", *_feature_needs(record.spec)]

    def extra_metadata(self, record):
        return {"onnx": {"file": "model.onnx", "input": "float32 [N, %d] feature vectors" %
                         int(record.estimator.n_features_in_), "outputs": ["label", "probabilities"],
                         "classes": [str(c) for c in record.estimator.classes_]}}

    def snippet(self, record):
        return (
            "# pip install " + " ".join(self.needs(record)) + "\n"
            "import json\nimport onnxruntime as ort\n"
            "from predict_onnx import extract, load_rgb\n\n"
            "meta = json.load(open(\"metadata.json\", encoding=\"utf-8\"))\n"
            "session = ort.InferenceSession(\"model.onnx\")\n"
            "x = extract(load_rgb(\"my_image.jpg\"), meta[\"feature_spec\"])[None, :]\n"
            "label, probabilities = session.run(None, {session.get_inputs()[0].name: x})\n"
            "print(label[0], dict(zip(meta[\"onnx\"][\"classes\"], probabilities[0])))\n"
        )


FORMATS: dict[str, ExportFormat] = {
    f.name: f for f in (
        JoblibFormat("joblib", "scikit-learn (joblib) + predict.py"),
        SkopsFormat("skops", "skops (safe to load)"),
        OnnxFormat("onnx", "ONNX + predict_onnx.py (onnxruntime)"),
    )
}
DEFAULT_FORMATS = ("joblib", "skops", "onnx")
