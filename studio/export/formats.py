"""Export formats. Each says before writing whether a model converts (``check``), writes its
files (``write``), names the pip packages a program needs (``needs``) and shows how to use
them from your own code (``snippet``). New formats plug in by adding to ``FORMATS``.

Every format also writes a standalone script that prints what ``studio predict`` prints:
studio's feature module copied verbatim, a runtime block that loads the model, and a main.
"""

from __future__ import annotations

import ast
import html
import importlib.metadata
import inspect
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import studio
from studio import __version__, kinds
from studio.errors import StudioError
from studio.model import modelfile
from studio.model.settings import head_of
from studio.samples import atomic

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
# Types beyond skops' defaults that studio's estimators contain; pass them as ``trusted=``.
SKOPS_TRUSTED = [
    "sklearn.calibration._CalibratedClassifier",  # svc, linear_svm
    "sklearn.calibration._SigmoidCalibration",  # svc, linear_svm
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",  # mlp
    "sklearn.tree._tree.Tree",  # forest
]
ONNX_OPSETS = {"": 17, "ai.onnx.ml": 3}
ONNX_INPUT = "features"
# predict.mjs's packages for image models, pinned; both ship their native binaries inside npm
# packages. Sound models need onnxruntime-node only: predict.mjs reads WAV files itself.
NODE_PACKAGES = {"onnxruntime-node": "1.30.0", "sharp": "0.35.5"}
NODE_ENGINES = ">=20.9.0"  # sharp's minimum
NODE_EXAMPLE = "example.mjs"  # the Node.js snippet, written beside predict.mjs


# The module each package an exported script may need is imported as: a missing one is named by its package.
IMPORTS = {"numpy": "numpy", "PIL": "pillow", "cv2": "opencv-python-headless", "scipy": "scipy",
           "onnxruntime": "onnxruntime", "sklearn": "scikit-learn", "joblib": "joblib", "skops": "skops"}
FUTURE = "from __future__ import annotations"  # first in a script, before its missing-package guard


def pinned(packages: list[str]) -> list[str]:
    """``name==version`` for each package as installed here, the versions the export was made with."""
    out = []
    for name in packages:
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(name)
    return out


def _module_body(path: Path) -> str:
    """A module's source without its docstring."""
    source = path.read_text(encoding="utf-8")
    first = ast.parse(source).body[0]
    start = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) else 0
    return "\n".join(source.splitlines()[start:]).strip("\n")


def standalone_script(record: modelfile.ModelRecord, runtime: str, needs: list[str], name: str,
                      fill: dict[str, str] | None = None) -> str:
    """A standalone ``name`` script: studio's feature module verbatim, a reader for one input
    file, a runtime block (``templates/runtime_<runtime>.txt``, placeholders from ``fill``) and a main."""
    kind, spec = kinds.for_spec(record.spec), record.spec
    install = " ".join(pinned(needs))
    notices = "".join(f"\nIts feature step runs a network under its own licence: see {n} beside it.\n"
                      for n in spec.notices())
    header = (
        f'"""Predict with a model exported by studio {__version__}; needs only {", ".join(needs)}:\n\n'
        f"    pip install {install}\n"
        f"    python {name} {kind.input_word()[0]} [...]   (--json: every class's confidence)\n\n"
        "prints one line per file: <path><TAB><label><TAB><confidence>.\n"
        f'{notices}"""\n'
        f"{FUTURE}\n\n"
    )
    packages = {module: pinned([package])[0] for module, package in IMPORTS.items() if package in needs}
    guard = (TEMPLATES / "missing_package.txt").read_text(encoding="utf-8")
    for key, value in (("__PACKAGES__", json.dumps(packages, indent=4)), ("__INSTALL__", install),
                       ("__SCRIPT__", name)):
        guard = guard.replace(key, value)
    runtime_code = (TEMPLATES / f"runtime_{runtime}.txt").read_text(encoding="utf-8")
    for key, value in (fill or {}).items():
        runtime_code = runtime_code.replace(key, value)
    # model.onnx that starts with the feature network reads that network's input instead
    own = spec.graph_kernel if runtime == "onnx" and spec.graph_kernel else spec.extra_kernel
    extra = [inspect.getsource(fn) for fn in own]
    if extra:
        extra.append(f"EXTRACTORS[{spec.kind!r}] = {own[-1].__name__}")
    parts = [guard, _module_body(spec.kernel_path).replace(FUTURE, "", 1), *extra,
             (TEMPLATES / f"reader_{kind.reader}.txt").read_text(encoding="utf-8"),
             runtime_code, (TEMPLATES / "predict_main.txt").read_text(encoding="utf-8")]
    return header + "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def _inputs(record: modelfile.ModelRecord) -> tuple[str, str]:
    """What the scripts of ``record`` read, as usage lines name it, and an example file name."""
    return kinds.for_spec(record.spec).input_word()


def _example(record: modelfile.ModelRecord, needs: list[str], script: str, example: str, imports: str, body: str,
             x_is: str = "float32, shape (1, n_features)") -> str:
    """A snippet: how to use this format from your own Python code, run from the export folder,
    where it is also written as the file ``example``."""
    what, default = _inputs(record)
    return (
        f"# pip install {' '.join(pinned(needs))}\n"
        f"# Run from the export folder: python {example} {what}\n"
        f"import json\nimport sys\n\n{imports}\n"
        f"from {script} import features_of  # studio's own feature code, copied into {script}.py\n\n"
        "meta = json.load(open(\"metadata.json\", encoding=\"utf-8\"))\n"
        f"path = sys.argv[1] if len(sys.argv) > 1 else \"{default}\"\n"
        f"x = features_of(path, meta[\"feature_spec\"])[None, :]  # {x_is}\n"
        + body
    )


@dataclass
class ExportFormat:
    name: str
    title: str

    def check(self, record: modelfile.ModelRecord) -> None:
        """Raise StudioError if this model cannot be written in this format."""

    def write(self, record: modelfile.ModelRecord, folder: Path) -> list[str]:
        """Write this format's files into ``folder``; return their names."""
        raise NotImplementedError

    def needs(self, record: modelfile.ModelRecord) -> list[str]:
        """The pip packages a program needs to use this format's files."""
        return []

    def snippet(self, record: modelfile.ModelRecord) -> str:
        """Python code that uses this format's files from the export folder."""
        return ""

    @property
    def example(self) -> str:
        """The file the snippet is written to, so that the run line it starts with is true."""
        return f"example_{self.name}.py"

    def extra_metadata(self, record: modelfile.ModelRecord) -> dict:
        """Keys this format adds to metadata.json."""
        return {}

    def beside(self, record: modelfile.ModelRecord) -> dict[str, bytes]:
        """Files this format's script reads beside the model: the feature step's own (a network's graph),
        and the licence and attribution of a network the export carries."""
        return {**record.spec.export_files(), **record.spec.notices()}


def _write_all(folder: Path, files: dict[str, str | bytes]) -> list[str]:
    for name, data in files.items():
        atomic.write_bytes(folder / name, data.encode("utf-8") if isinstance(data, str) else data)
    return list(files)


class JoblibFormat(ExportFormat):
    def write(self, record, folder):
        return _write_all(folder, {
            "model.joblib": modelfile.dumps(record.estimator),
            "predict.py": standalone_script(record, "joblib", self.needs(record), "predict.py"),
            self.example: self.snippet(record),
        })

    def needs(self, record):
        return [*record.spec.needs(), "scikit-learn", "joblib"]

    def snippet(self, record):
        return _example(record, self.needs(record), "predict", self.example, "import joblib\n", (
            "model = joblib.load(\"model.joblib\")  # a plain scikit-learn Pipeline; unpickle only files you trust\n"
            "for label, p in zip(model.classes_, model.predict_proba(x)[0]):\n"
            "    print(f\"{label}\\t{p:.4f}\")\n"
        ))


class SkopsFormat(ExportFormat):
    def write(self, record, folder):
        import skops.io as sio

        script = standalone_script(record, "skops", self.needs(record), "predict_skops.py",
                                   {"__TRUSTED__": json.dumps(SKOPS_TRUSTED, indent=4)})
        return _write_all(folder, {"model.skops": sio.dumps(record.estimator), "predict_skops.py": script,
                                   self.example: self.snippet(record)})

    def needs(self, record):
        return [*record.spec.needs(), "scikit-learn", "skops"]

    def snippet(self, record):
        trusted = "".join(f"    {t!r},\n" for t in SKOPS_TRUSTED)
        return _example(record, self.needs(record), "predict_skops", self.example, "import skops.io as sio\n", (
            "# skops runs no code from the file; these are the only types beyond its defaults that studio uses\n"
            f"TRUSTED = [\n{trusted}]\n"
            "model = sio.load(\"model.skops\", trusted=TRUSTED)\n"
            "for label, p in zip(model.classes_, model.predict_proba(x)[0]):\n"
            "    print(f\"{label}\\t{p:.4f}\")\n"
        ))


def onnx_input(record: modelfile.ModelRecord) -> tuple[str, list]:
    """The name and shape of model.onnx's input: the feature network's input when the spec is a
    network (``onnx_front``), else the feature vector."""
    spec = record.spec
    if spec.graph_kernel:
        return spec.graph_input()
    return ONNX_INPUT, ["N", int(record.estimator.n_features_in_)]


def onnx_model(record: modelfile.ModelRecord) -> bytes:
    """The model as ONNX: float32 features in (or, for a spec that is a network, that network's
    input: one graph from the image to the classes), ``label`` and ``probabilities`` (float64) out.

    The scaler is written as ONNX nodes doing exactly the arithmetic scikit-learn does on float32
    features (``scaler_nodes``), and the model itself computes in float64 as scikit-learn does,
    so a random forest's thresholds compare the same numbers and flip no decision.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx

    steps = getattr(record.estimator, "named_steps", {})
    scaler, model = steps.get("scale"), steps.get("model")
    if scaler is None or model is None or getattr(scaler, "n_features_in_", None) is None:
        raise StudioError("Only studio's own models (a scaler and a classifier) can be exported to ONNX.")
    dim = int(scaler.n_features_in_)
    with warnings.catch_warnings():  # skl2onnx reads SVC attributes scikit-learn 1.9 deprecates
        warnings.simplefilter("ignore", FutureWarning)
        onx = to_onnx(model, np.zeros((1, dim), np.float64), options={id(model): {"zipmap": False}},
                      target_opset=ONNX_OPSETS)
    graph = onx.graph
    inner = graph.input[0].name
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info(ONNX_INPUT, TensorProto.FLOAT, [None, dim]))
    initializers, nodes = scaler_nodes(scaler, ONNX_INPUT, "scaled")
    graph.initializer.extend(initializers)
    nodes = [*nodes, helper.make_node("Cast", ["scaled"], [inner], to=TensorProto.DOUBLE, name="to_double"),
             *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.name = "studio"
    onx.producer_name, onx.producer_version = "studio", __version__
    helper.set_model_props(onx, {"labels": json.dumps(record.labels, ensure_ascii=False),
                                 "feature_spec": json.dumps(record.spec.to_json())})
    outputs = [o.name for o in graph.output]
    if outputs != ["label", "probabilities"]:
        raise StudioError(f"The ONNX converter gave outputs {outputs}, not label and probabilities.")
    front = record.spec.onnx_front()
    if front is not None:
        onx = _after(front, onx)
    onnx.checker.check_model(onx)
    return onx.SerializeToString()


def scaler_nodes(scaler, x: str, out: str) -> tuple[list, list]:
    """ONNX initializers and nodes taking float32 ``x`` to float32 ``out`` as ``scaler`` (the
    pipeline's "scale" step: StandardScaler, MinMaxScaler, Normalizer or Binarizer) transforms
    float32 features: StandardScaler with float32 constants, MinMaxScaler in float64 rounded to
    float32 after each step (numpy's in-place arithmetic), Normalizer dividing by the row's norm
    (1 for a row of zeros), Binarizer comparing with the float32 threshold."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.preprocessing import Binarizer, MinMaxScaler, Normalizer, StandardScaler

    def const(name, value, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(value, dtype=dtype), f"scaler_{name}")

    def node(op, inputs, output, **kw):  # every name but x and out prefixed "scaler_"
        inputs = [i if i == x else f"scaler_{i}" for i in inputs]
        output = output if output == out else f"scaler_{output}"
        return helper.make_node(op, inputs, [output], name=f"scaler_{op.lower()}_{output}", **kw)

    F, D = TensorProto.FLOAT, TensorProto.DOUBLE
    dim = int(scaler.n_features_in_)
    if isinstance(scaler, StandardScaler):
        # a scaler that standardises nothing (pretrained features, "none") has no mean_ or scale_: 0 and 1
        mean = scaler.mean_ if scaler.mean_ is not None else np.zeros(dim)
        scale = scaler.scale_ if scaler.scale_ is not None else np.ones(dim)
        return ([const("mean", mean), const("scale", scale)],
                [node("Sub", [x, "mean"], "centred"), node("Div", ["centred", "scale"], out)])
    if isinstance(scaler, MinMaxScaler):
        return ([const("scale", scaler.scale_, np.float64), const("min", scaler.min_, np.float64)],
                [node("Cast", [x], "x_double", to=D), node("Mul", ["x_double", "scale"], "scaled_double"),
                 node("Cast", ["scaled_double"], "scaled_float", to=F),
                 node("Cast", ["scaled_float"], "scaled_again", to=D),
                 node("Add", ["scaled_again", "min"], "shifted_double"),
                 node("Cast", ["shifted_double"], out, to=F)])
    if isinstance(scaler, Normalizer) and scaler.norm in ("l1", "l2"):
        reduce = "ReduceL1" if scaler.norm == "l1" else "ReduceL2"
        return ([const("zero", 0.0), const("one", 1.0)],
                [node(reduce, [x], "norm", axes=[1], keepdims=1), node("Equal", ["norm", "zero"], "norm_is_zero"),
                 node("Where", ["norm_is_zero", "one", "norm"], "norm_safe"), node("Div", [x, "norm_safe"], out)])
    if isinstance(scaler, Binarizer):
        return ([const("threshold", scaler.threshold)],
                [node("Greater", [x, "threshold"], "above"), node("Cast", ["above"], out, to=F)])
    raise StudioError(f"A {type(scaler).__name__} step cannot be exported to ONNX.")


def _after(front, head):
    """One graph: ``front`` (a feature network, output ``vector``) feeding ``head``'s input."""
    import onnx
    from onnx import helper

    ir = max(front.ir_version, head.ir_version)
    front.ir_version = head.ir_version = ir
    merged = onnx.compose.merge_models(front, head, io_map=[("vector", ONNX_INPUT)],
                                       outputs=["label", "probabilities"], producer_name="studio",
                                       producer_version=__version__, doc_string=front.doc_string)
    merged.graph.name = "studio"
    props = {p.key: p.value for m in (front, head) for p in m.metadata_props}
    del merged.metadata_props[:]
    helper.set_model_props(merged, props)
    return merged


class OnnxFormat(ExportFormat):
    def __init__(self, name: str, title: str):
        super().__init__(name, title)
        self._converted: dict[str, bytes] = {}

    def convert(self, record: modelfile.ModelRecord) -> bytes:
        """The ONNX bytes of ``record`` (converted once per model), or StudioError saying why not."""
        if record.id not in self._converted:
            try:
                data = onnx_model(record)
            except StudioError:
                raise
            except Exception as e:  # skl2onnx raises many kinds; all mean "not convertible"
                head = head_of(record.settings.get("model"), record.spec.kind)
                raise StudioError(f"The {head} model cannot be exported to ONNX "
                                  f"({e.__class__.__name__}: {str(e)[:200]}); choose joblib or skops.") from None
            self._converted = {record.id: data}
        return self._converted[record.id]

    def check(self, record):
        self.convert(record)

    def beside(self, record):
        return record.spec.notices()  # model.onnx holds the feature network itself

    def write(self, record, folder):
        files = {"model.onnx": self.convert(record),
                 "predict_onnx.py": standalone_script(record, "onnx", self.needs(record), "predict_onnx.py"),
                 self.example: self.snippet(record)}
        if record.spec.node:  # predict.mjs computes this spec's features
            files.update({
                "predict.mjs": (TEMPLATES / "predict.mjs").read_text(encoding="utf-8"),
                NODE_EXAMPLE: node_snippet(record),
                "package.json": json.dumps(package_json(record), indent=2) + "\n",
                # onnxruntime-node's install script would fetch CUDA libraries from outside npm;
                # its CPU build and sharp need no install script
                ".npmrc": "ignore-scripts=true\n",
                **record.spec.node_files(),
            })
        return _write_all(folder, files)

    def needs(self, record):
        return [*record.spec.needs(), "onnxruntime"]

    def extra_metadata(self, record):
        what, _ = _inputs(record)
        node = {"script": "predict.mjs", "packages": node_packages(record), "node": NODE_ENGINES,
                "run": f"npm install && node predict.mjs {what} [{what} ...]", "snippet": node_snippet(record)} \
            if record.spec.node else {"unsupported": f"predict.mjs does not compute {record.spec.kind} features"}
        name, shape = onnx_input(record)
        return {"onnx": {"file": "model.onnx", "input": name, "input_shape": shape, "input_type": "float32",
                         "outputs": {"label": "the top class, [N]", "probabilities": "float64 [N, classes]"},
                         "classes": [str(c) for c in record.estimator.classes_], "opsets": ONNX_OPSETS},
                "node": node}

    def snippet(self, record):
        name, shape = onnx_input(record)
        return _example(record, self.needs(record), "predict_onnx", self.example, "import onnxruntime as ort\n", (
            "session = ort.InferenceSession(\"model.onnx\", providers=[\"CPUExecutionProvider\"])\n"
            f"label, probabilities = session.run([\"label\", \"probabilities\"], {{\"{name}\": x}})\n"
            "for cls, p in zip(meta[\"onnx\"][\"classes\"], probabilities[0]):\n"
            "    print(f\"{cls}\\t{p:.4f}\")\n"
        ), x_is=f"float32, shape {tuple([1, *shape[1:]])}")


def node_packages(record: modelfile.ModelRecord) -> dict[str, str]:
    """predict.mjs's npm packages for ``record``: sound models read WAV files without sharp."""
    return kinds.for_spec(record.spec).node_packages(NODE_PACKAGES)


def package_json(record: modelfile.ModelRecord) -> dict:
    what, _ = _inputs(record)
    return {"name": "studio-export", "private": True, "type": "module",
            "description": f"Predict with the studio model {record.project_name!r} in Node.js: node predict.mjs {what}",
            "engines": {"node": NODE_ENGINES}, "dependencies": node_packages(record)}


def node_snippet(record: modelfile.ModelRecord) -> str:
    """JavaScript that uses predict.mjs's functions from the export folder."""
    what, default = _inputs(record)
    return (
        f"// npm install, then: node {NODE_EXAMPLE} {what}\n"
        "import { loadModel, predict } from './predict.mjs';\n\n"
        "const model = await loadModel();\n"
        f"const {{ label, confidence, confidences }} = await predict(model, process.argv[2] ?? '{default}');\n"
        "for (const [cls, p] of Object.entries(confidences)) console.log(`${cls}\\t${p.toFixed(4)}`);\n"
    )


class WebFormat(ExportFormat):
    """A web page that runs the model offline in a browser, the way Teachable Machine exports pose
    models: MediaPipe Pose finds the body (webcam or photo), pose_kernel.mjs computes studio's
    features, onnxruntime-web runs model.onnx. Every file is in ``web/``; nothing comes from a CDN."""

    FOLDER = "web"
    STATIC = studio.STATIC / "node_modules"
    # the files the page loads: MediaPipe Pose with its lite landmark model, onnxruntime-web's wasm build
    MEDIAPIPE = ("pose.js", "pose_solution_packed_assets.data", "pose_solution_packed_assets_loader.js",
                 "pose_solution_simd_wasm_bin.data", "pose_solution_simd_wasm_bin.js",
                 "pose_solution_simd_wasm_bin.wasm", "pose_solution_wasm_bin.js", "pose_solution_wasm_bin.wasm",
                 "pose_web.binarypb", "pose_landmark_lite.tflite", "package.json")
    ORT = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")

    def sources(self) -> dict[str, Path]:
        """{name in web/: the installed file}."""
        pose, ort = self.STATIC / "@mediapipe" / "pose", self.STATIC / "onnxruntime-web"
        return {**{f"mediapipe/{n}": pose / n for n in self.MEDIAPIPE},
                **{f"ort/{n}": ort / "dist" / n for n in self.ORT}, "ort/package.json": ort / "package.json",
                "studio-pose.js": studio.STATIC / "pose" / "studio-pose.js",
                "pose_kernel.mjs": TEMPLATES / "pose_kernel.mjs", "pose-model.js": TEMPLATES / "web" / "pose-model.js"}

    def check(self, record):
        if kinds.for_spec(record.spec).medium != "pose":
            raise StudioError("The web page export runs pose models only; export this model as joblib, skops "
                              "or ONNX.")
        missing = [n for n, path in self.sources().items() if not path.is_file()]
        if missing:
            raise StudioError(f"The web page export needs the browser files `make` installs with npm ({missing[0]} "
                              "is missing): run `make run` once with Node.js and npm installed.")
        FORMATS["onnx"].convert(record)

    def write(self, record, folder):
        web = folder / self.FOLDER
        packages = {"@mediapipe/pose": _version(self.sources()["mediapipe/package.json"]),
                    "onnxruntime-web": _version(self.sources()["ort/package.json"])}
        files: dict[str, str | bytes] = {n: p.read_bytes() for n, p in self.sources().items()
                                         if not n.endswith("package.json")}
        page = (TEMPLATES / "web" / "index.html").read_text(encoding="utf-8")
        files.update({
            "index.html": page.replace("__TITLE__", html.escape(record.project_name or "studio model")),
            "model.onnx": FORMATS["onnx"].convert(record),
            "model.json": json.dumps({"labels": record.labels, "classes": [str(c) for c in record.estimator.classes_],
                                      "feature_spec": record.spec.to_json(), "packages": packages}, indent=2),
            "README.txt": WEB_README.format(**packages),
        })
        for name in files:
            (web / name).parent.mkdir(parents=True, exist_ok=True)
        _write_all(web, files)
        return [f"{self.FOLDER}/"]

    def beside(self, record):
        return {}

    def extra_metadata(self, record):
        return {"web": {"folder": f"{self.FOLDER}/", "page": f"{self.FOLDER}/index.html",
                        "module": f"{self.FOLDER}/pose-model.js",
                        "run": f"python -m http.server --bind 127.0.0.1 --directory {self.FOLDER} 8000, "
                               "then open http://127.0.0.1:8000/"}}


WEB_README = """A web page that runs this pose model in a browser, offline.

Browsers load WebAssembly and modules only over HTTP, so serve this folder, for example with

    python -m http.server --bind 127.0.0.1 --directory . 8000

and open http://127.0.0.1:8000/ . Start the webcam or open a photo: MediaPipe Pose finds the body,
and the model names the pose. From your own page:

    import {{ loadPoseModel }} from './pose-model.js';
    const model = await loadPoseModel();
    const {{ label, confidences }} = await model.predict({{ landmarks, width, height }});

Inside: mediapipe/ is the npm package @mediapipe/pose {@mediapipe/pose} (Google, Apache-2.0;
its lite landmark model), ort/ is onnxruntime-web {onnxruntime-web} (Microsoft, MIT), model.onnx
is the classifier, pose_kernel.mjs computes studio's pose features from the landmarks.
"""


def _version(package_json: Path) -> str:
    return json.loads(package_json.read_text(encoding="utf-8"))["version"]


FORMATS: dict[str, ExportFormat] = {
    f.name: f for f in (
        JoblibFormat("joblib", "scikit-learn (joblib) + predict.py"),
        SkopsFormat("skops", "skops (safe to load) + predict_skops.py"),
        OnnxFormat("onnx", "ONNX + predict_onnx.py (onnxruntime) + predict.mjs (Node.js)"),
        WebFormat("web", "Web page (pose models: MediaPipe Pose + onnxruntime-web, offline)"),
    )
}
DEFAULT_FORMATS = kinds.base.EXPORT_FORMATS


def available_formats(record: modelfile.ModelRecord) -> dict[str, str | None]:
    """{format name: None if ``record`` can be exported in it, else the reason it cannot}, for the
    formats its project kind offers (the web page only for pose models)."""
    out: dict[str, str | None] = {}
    for name in kinds.for_spec(record.spec).export_formats:
        try:
            FORMATS[name].check(record)
            out[name] = None
        except StudioError as e:
            out[name] = str(e)
    return out
