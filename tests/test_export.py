"""Export: a folder (and a zip of it) that programs without studio can use."""

import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest
from helpers import clean_env, fixture_images, make_project

from studio import __version__
from studio.errors import StudioError
from studio.export import bundle as export
from studio.export import formats
from studio.model import modelfile
from studio.model.predictor import Predictor, format_line
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("captures"))
    p = make_project(store, "손 Hands", "rps", classes=["scissors", "rock", "paper"], n=8)
    record = train(p, TrainSettings())
    return p, record


def test_export_folder_and_zip(trained, tmp_path):
    p, record = trained
    result = export.export(record, tmp_path / "out", formats=["joblib"])
    folder = result.folder
    assert folder.parent == tmp_path / "out" and folder.name.startswith("손_Hands-")
    assert {f.name for f in folder.iterdir()} == {"model.joblib", "metadata.json", "labels.txt", "predict.py",
                                                  "example_joblib.py"}
    assert (folder / "labels.txt").read_text(encoding="utf-8") == "scissors\nrock\npaper\n"
    assert result.zip_path == tmp_path / "out" / f"{folder.name}.zip"
    with zipfile.ZipFile(result.zip_path) as z:
        assert sorted(z.namelist()) == sorted(f"{folder.name}/{n}" for n in
                                              ("model.joblib", "metadata.json", "labels.txt", "predict.py",
                                               "example_joblib.py"))
        assert z.read(f"{folder.name}/labels.txt") == (folder / "labels.txt").read_bytes()
    assert not [f for f in (tmp_path / "out").iterdir() if f.name.startswith(".")]  # no partial leftovers


def test_metadata_has_teachable_machine_fields_and_everything_to_rebuild_features(trained, tmp_path):
    p, record = trained
    meta = json.loads((export.export(record, tmp_path, formats=["joblib"]).folder / "metadata.json")
                      .read_text(encoding="utf-8"))
    assert meta["labels"] == ["scissors", "rock", "paper"]
    assert meta["imageSize"] == 64
    assert meta["modelName"] == "손 Hands"
    assert meta["timeStamp"][:4].isdigit()
    assert meta["packageName"] == "studio" and meta["packageVersion"] == __version__
    assert meta["feature_spec"] == record.spec.to_json()
    assert meta["preprocessing"] and all(isinstance(s, str) for s in meta["preprocessing"])
    assert meta["metrics"]["test_accuracy"] == record.metrics.test.accuracy
    assert set(meta["versions"]) >= {"studio", "scikit-learn", "numpy", "python"}
    assert meta["settings"]["model"] == "auto"  # the features' own head: an RBF SVC on combined features
    assert meta["files"]["joblib"] == ["model.joblib", "predict.py", "example_joblib.py"]


def test_model_joblib_loads_without_studio(trained, tmp_path):
    p, record = trained
    folder = export.export(record, tmp_path, formats=["joblib"]).folder
    code = (
        "import sys\n"
        "sys.modules['studio'] = None  # any attempt to import studio fails\n"
        "import joblib, numpy as np\n"
        f"m = joblib.load({str(folder / 'model.joblib')!r})\n"
        "print(type(m).__module__, list(m.classes_), m.n_features_in_)\n"
        "print(m.predict(np.zeros((1, m.n_features_in_), np.float32))[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=clean_env())
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == f"sklearn.pipeline ['paper', 'rock', 'scissors'] {record.estimator.n_features_in_}"
    assert second in ("paper", "rock", "scissors")


def test_predict_py_reproduces_studio_predictions(trained, tmp_path):
    p, record = trained
    folder = export.export(record, tmp_path, formats=["joblib"]).folder
    images = [f for lb in ("rock", "paper", "scissors") for f in fixture_images("rps", lb)[8:]]
    out = subprocess.run([sys.executable, "predict.py", *map(str, images)], capture_output=True, text=True,
                         cwd=folder, env=clean_env(), encoding="utf-8")
    assert out.returncode == 0, out.stderr
    predictor = Predictor.from_project(p)
    expected = [format_line(f, *predictor.top(f)) for f in images]
    assert out.stdout.splitlines() == expected


def test_predict_py_usage_and_bad_images(trained, tmp_path):
    p, record = trained
    folder = export.export(record, tmp_path, formats=["joblib"]).folder
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    good = fixture_images("rps", "rock")[-1]
    out = subprocess.run([sys.executable, "predict.py", str(tmp_path / "bad.jpg"), str(good)], capture_output=True,
                         text=True, cwd=folder, env=clean_env())
    assert out.returncode == 1
    assert out.stdout.splitlines() == [format_line(good, *Predictor.from_project(p).top(good))]
    assert "bad.jpg: cannot predict" in out.stderr and "Traceback" not in out.stderr
    usage = subprocess.run([sys.executable, "predict.py"], capture_output=True, text=True, cwd=folder, env=clean_env())
    assert usage.returncode == 2 and "usage: python predict.py IMAGE" in usage.stdout


def test_default_formats_export(trained, tmp_path):
    p, record = trained
    result = export.export(record, tmp_path)
    names = {f.name for f in result.folder.iterdir()}
    assert {"model.joblib", "predict.py", "metadata.json", "labels.txt"} <= names
    assert set(result.files) == set(formats.DEFAULT_FORMATS)


def test_default_destination_and_no_collisions(trained, tmp_path, monkeypatch):
    p, record = trained
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STUDIO_EXPORTS", raising=False)
    a = export.export(record, formats=["joblib"])
    b = export.export(record, formats=["joblib"])  # within the same second
    assert a.folder.parent.resolve() == (tmp_path / "exported").resolve() and a.folder != b.folder
    assert a.zip_path.is_file() and b.zip_path.is_file()
    monkeypatch.setenv("STUDIO_EXPORTS", str(tmp_path / "elsewhere"))
    assert export.export(record, formats=["joblib"]).folder.parent == tmp_path / "elsewhere"


def test_unknown_format_is_refused_before_writing(trained, tmp_path):
    p, record = trained
    with pytest.raises(StudioError, match="Unknown export format"):
        export.export(record, tmp_path / "out", formats=["joblib", "tflite"])
    assert not (tmp_path / "out").exists()


def test_a_new_format_plugs_in(trained, tmp_path, monkeypatch):
    class TextFormat(formats.ExportFormat):
        def write(self, record, folder):
            (folder / "model.txt").write_text(" ".join(record.labels))
            return ["model.txt"]

        def extra_metadata(self, record):
            return {"text": {"file": "model.txt"}}

    monkeypatch.setitem(formats.FORMATS, "text", TextFormat("text", "plain text"))
    p, record = trained
    result = export.export(record, tmp_path, formats=["text"])
    meta = json.loads((result.folder / "metadata.json").read_text(encoding="utf-8"))
    assert (result.folder / "model.txt").read_text() == "scissors rock paper"
    assert meta["files"] == {"text": ["model.txt"]} and meta["text"] == {"file": "model.txt"}


def test_export_with_the_training_images(trained, tmp_path):
    p, record = trained
    imgs = [(c.label, c.folder, [s.path for s in p.samples(c.label)]) for c in p.classes()]
    result = export.export(record, tmp_path, formats=["joblib"], images=imgs)
    assert sorted(f.parent.name for f in (result.folder / "dataset").rglob("*.png")) == \
        sorted(["scissors"] * 8 + ["rock"] * 8 + ["paper"] * 8)
    meta = json.loads((result.folder / "metadata.json").read_text(encoding="utf-8"))
    assert [d["images"] for d in meta["dataset"]] == [8, 8, 8]


def test_export_of_a_reloaded_model(trained, tmp_path):
    p, record = trained
    again = modelfile.load(Store(p.store.root).project("손 Hands").model_dir)
    folder = export.export(again, tmp_path, formats=["joblib"]).folder
    assert json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["model_id"] == record.id


# ---- what a newcomer meets in an export ------------------------------------------------------------
def run_missing(script, module: str, args, cwd) -> subprocess.CompletedProcess:
    """``python -I SCRIPT ARGS`` in a process where ``module`` cannot be imported, as if not installed."""
    code = (f"import runpy, sys; sys.modules[{module!r}] = None; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.run([sys.executable, "-I", "-c", code, str(script), *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", cwd=cwd, env=clean_env(), timeout=120)


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """All three formats of the combined-features model (HOG inside, so OpenCV is needed too)."""
    return export.export(trained[1], tmp_path_factory.mktemp("exported")).folder


@pytest.mark.parametrize("script, module, package", [
    ("predict_onnx.py", "cv2", "opencv-python-headless"),
    ("predict_onnx.py", "onnxruntime", "onnxruntime"),
    ("predict.py", "sklearn", "scikit-learn"),
    ("predict.py", "PIL", "pillow"),
    ("predict_skops.py", "skops", "skops"),
])
def test_a_missing_package_is_one_line_with_the_pip_command(exported, script, module, package):
    image = fixture_images("rps", "rock")[-1]
    out = run_missing(exported / script, module, [image], exported)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines() == [f"{script}: the Python package {package} (module {module}) is missing: "
                                       f"pip install {formats.pinned([package])[0]}"], out.stderr


def test_a_missing_module_beyond_the_scripts_own_names_every_package(trained, exported):
    out = run_missing(exported / "predict.py", "scipy", [fixture_images("rps", "rock")[-1]], exported)
    install = " ".join(formats.pinned(formats.FORMATS["joblib"].needs(trained[1])))  # scikit-learn brings scipy
    assert out.returncode == 1 and out.stderr.splitlines() == [
        f"predict.py: the Python module scipy is missing: pip install {install}"], out.stderr


def test_a_program_importing_a_script_keeps_its_own_tracebacks(exported):
    code = "import sys; hook = sys.excepthook; import predict_onnx; print(sys.excepthook is hook)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=exported,
                         env=clean_env(), timeout=120)
    assert out.returncode == 0 and out.stdout == "True\n", out.stderr


def test_the_snippets_are_example_files_that_run(exported, trained):
    meta = json.loads((exported / "metadata.json").read_text(encoding="utf-8"))
    image = fixture_images("rps", "rock")[-1]
    want = Predictor.from_project(trained[0]).predict(image)
    for name, code in meta["snippets"].items():
        example = f"example_{name}.py"
        assert (exported / example).read_text(encoding="utf-8") == code and example in meta["files"][name]
        assert f"# Run from the export folder: python {example} IMAGE\n" in code
        out = subprocess.run([sys.executable, example, str(image)], capture_output=True, text=True, cwd=exported,
                             env=clean_env(), timeout=120)
        assert out.returncode == 0, out.stderr
        got = dict(line.split("\t") for line in out.stdout.splitlines())
        assert {k: float(v) for k, v in got.items()} == pytest.approx(want, abs=1e-3)  # 4 decimals printed
    assert (exported / "example.mjs").read_text(encoding="utf-8") == meta["node"]["snippet"]
    assert meta["node"]["snippet"].startswith("// npm install, then: node example.mjs IMAGE")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_exported_files_are_as_readable_as_any_new_file(trained, tmp_path, umask, mode):
    p, record = trained
    old = os.umask(umask)
    try:
        imgs = [(c.label, c.folder, [s.path for s in p.samples(c.label)]) for c in p.classes()]
        result = export.export(record, tmp_path, formats=["joblib", "onnx"], images=imgs)
    finally:
        os.umask(old)
    files = [f for f in result.folder.rglob("*") if f.is_file()]
    assert {".npmrc", "model.onnx", "metadata.json"} <= {f.name for f in files}
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: mode for f in files}
    assert stat.S_IMODE(result.zip_path.stat().st_mode) == mode
    with zipfile.ZipFile(result.zip_path) as z:
        assert {stat.S_IMODE(i.external_attr >> 16) for i in z.infolist()} == {mode}
    sample = p.samples(p.classes()[0].label)[0].path
    assert stat.S_IMODE(sample.stat().st_mode) == 0o600  # the project's own files stay as they are


def test_the_page_ticks_the_formats_the_command_line_writes():
    import gradio as gr

    from studio.ui import export as export_panel

    with gr.Blocks():
        panel = export_panel.render()
    assert panel.formats.value == list(formats.DEFAULT_FORMATS) == ["joblib", "skops", "onnx"]  # as the CLI's
