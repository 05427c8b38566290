"""Export: a folder (and a zip of it) that programs without studio can use."""

import json
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
    assert {f.name for f in folder.iterdir()} == {"model.joblib", "metadata.json", "labels.txt", "predict.py"}
    assert (folder / "labels.txt").read_text(encoding="utf-8") == "scissors\nrock\npaper\n"
    assert result.zip_path == tmp_path / "out" / f"{folder.name}.zip"
    with zipfile.ZipFile(result.zip_path) as z:
        assert sorted(z.namelist()) == sorted(f"{folder.name}/{n}" for n in
                                              ("model.joblib", "metadata.json", "labels.txt", "predict.py"))
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
    assert meta["files"]["joblib"] == ["model.joblib", "predict.py"]


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
