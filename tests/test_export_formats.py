"""Export formats in-process: ONNX agrees with scikit-learn for every model and feature kind,
skops loads with the documented trusted list, studio reopens exports (folder or zip) safely,
and a project is rebuilt from an export that carries its images."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from conftest import ARTIFACTS, DATA, FIXTURES
from helpers import clean_env, fixture_images, make_project
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading

from studio.errors import StudioError, UnsafeFile
from studio.export import formats
from studio.export.bundle import export
from studio.export.dataset import exported_dataset
from studio.export.reopen import OnnxModel, open_export
from studio.model.predictor import Predictor, format_line
from studio.model.settings import HEADS, TrainSettings
from studio.model.training import train
from studio.samples.store import Store
from studio.samples.transfer import import_into

FEATURES = ("combined", "hog", "pixels")
ONNX_TOLERANCE = 1e-4
AGREEMENT: dict[str, dict] = {}  # measured numbers, written to tests/artifacts/export_agreement.json


def agreement_images(per_class: int = 10) -> list[Path]:
    """Real photos to predict: the first of each class of rps and face_mask in ../shared/data
    (never the last 12 of rps, which the models are trained on), else the fixture images."""
    if (DATA / "rps").is_dir() and (DATA / "face_mask").is_dir():
        return [f for name in ("rps", "face_mask") for c in sorted((DATA / name).iterdir()) if c.is_dir()
                for f in sorted(c.iterdir())[:per_class]]
    return sorted(FIXTURES.glob("rps/*/*")) + sorted(FIXTURES.glob("face_mask/*/*"))


def write_agreement() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "export_agreement.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**old, **AGREEMENT}, indent=2, sort_keys=True))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(Store(tmp_path_factory.mktemp("captures")), "손 Hands", "rps",
                        classes=["scissors", "rock", "paper"])


@pytest.fixture(scope="module")
def records(project):
    out = {(kind, feat): train(project, TrainSettings(model=kind, features=feat, epochs=30))
           for feat in FEATURES for kind in HEADS}
    yield out
    write_agreement()


@pytest.fixture(scope="module")
def vectors(records):
    """{feature kind: (image paths, float32 feature matrix)} for the agreement images."""
    paths = agreement_images()
    out = {}
    for feat in FEATURES:
        predictor = Predictor.from_record(records[("svc", feat)])
        out[feat] = (paths, np.stack([predictor.vector(p) for p in paths]))
    return out


@pytest.mark.parametrize("feat", FEATURES)
@pytest.mark.parametrize("kind", list(HEADS))
def test_onnx_gives_scikit_learns_top_class_and_probabilities(records, vectors, kind, feat):
    record = records[(kind, feat)]
    paths, X = vectors[feat]
    onnx = OnnxModel(formats.FORMATS["onnx"].convert(record), [str(c) for c in record.estimator.classes_])
    want = record.estimator.predict_proba(X)
    got = onnx.predict_proba(X)
    labels, _ = onnx.session.run(["label", "probabilities"], {formats.ONNX_INPUT: X})
    diff = float(np.abs(got - want).max())
    top_same = float((got.argmax(1) == want.argmax(1)).mean())
    AGREEMENT[f"onnx-python/{kind}/{feat}"] = {"images": len(paths), "max_prob_diff": diff,
                                               "top_class_agreement": top_same}
    assert list(labels) == list(record.estimator.predict(X))
    assert top_same == 1.0
    assert diff <= ONNX_TOLERANCE


def test_onnx_metadata_and_outputs(records, tmp_path):
    record = records[("mlp", "pixels")]
    folder = export(record, tmp_path, formats=["onnx"]).folder
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert meta["onnx"]["input"] == "features" and meta["onnx"]["input_shape"] == ["N", 16 * 16 * 3]
    assert meta["onnx"]["classes"] == ["paper", "rock", "scissors"]  # the model's order; labels keep the project's
    assert meta["labels"] == ["scissors", "rock", "paper"]
    assert meta["feature_spec"] == record.spec.to_json() and meta["preprocessing"]
    assert meta["sketch_framing"] == {"ink_below": 230, "margin": 0.08}
    assert meta["node"]["packages"] == formats.NODE_PACKAGES
    assert set(meta["snippets"]) == {"onnx"} and "onnxruntime" in meta["snippets"]["onnx"]
    assert {"model.onnx", "predict_onnx.py", "predict.mjs", "package.json", ".npmrc"} <= set(meta["files"]["onnx"])
    import onnx

    model = onnx.load(folder / "model.onnx")
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    assert {p.key: p.value for p in model.metadata_props}["labels"] == json.dumps(record.labels, ensure_ascii=False)
    assert not [n for n in model.graph.node if n.op_type == "ZipMap"]


def test_a_model_that_cannot_convert_is_refused_before_anything_is_written(records, tmp_path):
    record = copy.copy(records[("svc", "pixels")])
    X = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    record.estimator = Pipeline([("scale", StandardScaler()), ("model", LabelSpreading())]).fit(X, ["a", "b"] * 6)
    record.id = "unconvertible"
    available = formats.available_formats(record)
    assert available["joblib"] is None and available["skops"] is None
    assert "cannot be exported to ONNX" in available["onnx"] and "choose joblib or skops" in available["onnx"]
    with pytest.raises(StudioError, match="cannot be exported to ONNX"):
        export(record, tmp_path / "out", formats=["joblib", "onnx"])
    assert not (tmp_path / "out").exists()


def test_every_studio_model_converts(records):
    for record in records.values():
        assert formats.available_formats(record) == {"joblib": None, "skops": None, "onnx": None}


@pytest.mark.parametrize("kind", list(HEADS))
def test_skops_loads_with_the_documented_trusted_list_only(records, vectors, kind, tmp_path):
    record = records[(kind, "hog")]
    folder = export(record, tmp_path, formats=["skops"]).folder
    data = (folder / "model.skops").read_bytes()
    assert set(sio.get_untrusted_types(data=data)) <= set(formats.SKOPS_TRUSTED)
    model = sio.load(folder / "model.skops", trusted=formats.SKOPS_TRUSTED)
    _, X = vectors["hog"]
    np.testing.assert_array_equal(model.predict_proba(X), record.estimator.predict_proba(X))
    script = (folder / "predict_skops.py").read_text(encoding="utf-8")
    assert json.dumps(formats.SKOPS_TRUSTED, indent=4) in script  # the list is written out where it is used


def test_reopen_folder_and_zip_predict_as_the_project_does(records, tmp_path):
    record = records[("svc", "hog")]
    result = export(record, tmp_path)
    images = agreement_images(3)
    want = Predictor.from_record(record).probabilities(images)
    for path in (result.folder, result.zip_path):
        predictor = open_export(path)
        assert predictor.labels == ["scissors", "rock", "paper"]
        assert predictor.estimator.__class__.__name__ == "Pipeline"  # skops is preferred: exact
        np.testing.assert_allclose(predictor.probabilities(images), want, rtol=0, atol=1e-12)


def test_reopen_an_onnx_only_export(records, tmp_path):
    record = records[("forest", "pixels")]
    result = export(record, tmp_path, formats=["onnx"])
    predictor = open_export(result.zip_path)
    assert isinstance(predictor.estimator, OnnxModel)
    images = agreement_images(3)
    np.testing.assert_allclose(predictor.probabilities(images), Predictor.from_record(record).probabilities(images),
                               rtol=0, atol=ONNX_TOLERANCE)


def test_joblib_is_never_unpickled_without_trust(records, tmp_path):
    record = records[("logistic", "pixels")]
    folder = export(record, tmp_path, formats=["joblib"]).folder
    with pytest.raises(UnsafeFile, match="--trust"):
        open_export(folder)
    assert open_export(folder, trust=True).labels == record.labels

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (folder / "model.joblib").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(UnsafeFile):
        open_export(folder)
    assert not marker.exists()


def test_a_skops_file_with_other_types_needs_trust(records, tmp_path):
    record = records[("knn", "pixels")]
    folder = export(record, tmp_path, formats=["skops"]).folder
    import math

    from sklearn.preprocessing import FunctionTransformer

    odd = Pipeline([("log", FunctionTransformer(math.log1p)), *record.estimator.steps])  # math.log1p: not trusted
    (folder / "model.skops").write_bytes(sio.dumps(odd))
    with pytest.raises(UnsafeFile, match="does not trust"):
        open_export(folder)
    assert open_export(folder, trust=True).labels == record.labels


def test_reopen_refusals(tmp_path):
    with pytest.raises(StudioError, match="does not exist"):
        open_export(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(StudioError, match="no metadata.json"):
        open_export(tmp_path / "plain")
    (tmp_path / "plain" / "metadata.json").write_text("{broken")
    with pytest.raises(StudioError, match="damaged"):
        open_export(tmp_path / "plain")
    (tmp_path / "plain" / "metadata.json").write_text(json.dumps({"labels": ["a"], "feature_spec": {}}))
    with pytest.raises(StudioError, match="no model file"):
        open_export(tmp_path / "plain")


def test_cli_predicts_with_an_export_zip_as_with_the_project(records, project, tmp_path):
    record = records[("svc", "hog")]
    result = export(record, tmp_path)
    images = [str(p) for p in agreement_images(2)]
    out = subprocess.run([sys.executable, "-m", "studio", "predict", str(result.zip_path), *images],
                         capture_output=True, text=True, encoding="utf-8", env=clean_env(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    predictor = Predictor.from_record(record)
    assert out.stdout.splitlines() == [format_line(p, *predictor.top(p)) for p in images]


# ---- rebuilding a project from an export with its images -----------------------------------------------
def test_a_project_is_rebuilt_from_an_export_folder_or_zip(tmp_path):
    store = Store(tmp_path / "captures")
    labels = ["가위 ✌", "rock", "Paper / 종이"]
    source = store.create("Original", "sketch", classes=labels)
    for label, name in zip(labels, ("apple", "fish", "cat")):
        for f in fixture_images("quickdraw", name)[:4 + len(label) % 3]:
            source.add_sample(label, f)
    source.set_settings(TrainSettings(model="knn", k=3).to_dict())
    record = train(source, TrainSettings(model="knn", k=3))
    imgs = [(c.label, c.folder, [s.path for s in source.samples(c.label)]) for c in source.classes()]
    result = export(record, tmp_path / "out", formats=["skops"], images=imgs)
    for name, path in (("from folder", result.folder), ("from zip", result.zip_path)):
        report = import_into(store, name, path)
        rebuilt = store.project(name)
        assert [c.label for c in rebuilt.classes()] == labels
        assert rebuilt.counts() == source.counts() == report.added
        assert rebuilt.kind.name == "sketch"
        assert rebuilt.settings()["model"] == "knn" and rebuilt.settings()["k"] == 3
        assert sorted(s.path.read_bytes() for s in rebuilt.samples()) == \
            sorted(s.path.read_bytes() for s in source.samples())


def test_import_of_an_export_without_images_says_what_to_do(records, tmp_path):
    result = export(records[("svc", "hog")], tmp_path / "out", formats=["joblib"])
    store = Store(tmp_path / "captures")
    for path in (result.folder, result.zip_path):
        with pytest.raises(StudioError, match="--with-images"):
            import_into(store, "Again", path)
    assert exported_dataset(FIXTURES / "rps") is None  # a plain class-folder tree is no export


def test_cli_export_with_images_then_import(tmp_path):
    caps = tmp_path / "captures"
    store = Store(caps)
    make_project(store, "손 Hands", "rps", classes=["scissors", "rock", "paper"], n=3)
    env = clean_env()

    def studio(*args):
        out = subprocess.run([sys.executable, "-m", "studio", "--captures", str(caps), *map(str, args)],
                             capture_output=True, text=True, encoding="utf-8", env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return out.stdout

    studio("train", "손 Hands", "--model", "logistic", "--quiet")
    printed = studio("export", "손 Hands", "--out", tmp_path / "out", "--format", "skops,onnx", "--with-images")
    zip_path = Path(printed.splitlines()[-1].removeprefix("Zip: "))
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
    assert sum("/dataset/" in n for n in names) == 9
    studio("import", "Again", zip_path)
    assert studio("classes", "Again") == "scissors\t3\nrock\t3\npaper\t3\n"


def test_snippets_are_in_the_metadata_for_every_format(records, tmp_path):
    record = records[("naive_bayes", "hog")]
    meta = json.loads((export(record, tmp_path).folder / "metadata.json").read_text(encoding="utf-8"))
    assert set(meta["snippets"]) == set(formats.DEFAULT_FORMATS)
    for name, code in meta["snippets"].items():
        compile(code, f"snippet_{name}", "exec")
        assert code == formats.FORMATS[name].snippet(record)
        assert code.startswith("# pip install ") and "==" in code.splitlines()[0]
    assert meta["node"]["snippet"].startswith("// npm install")


# ---- sound models ------------------------------------------------------------------------------------------
def tone(path: Path, freq: float, seed: int) -> Path:
    """A one-second WAV: a tone with a little noise, at 16 kHz."""
    from scipy.io import wavfile

    t = np.arange(16000) / 16000
    noise = np.random.default_rng(seed).normal(0, 0.05, t.size)
    wavfile.write(path, 16000, (np.sin(2 * np.pi * freq * t) * 0.5 * np.hanning(t.size) + noise).astype(np.float32))
    return path


def test_a_sound_model_exports_scripts_that_read_wav_files(tmp_path):
    store = Store(tmp_path / "captures")
    project = store.create("Tones", "sound", classes=["low", "high"])
    (tmp_path / "wav").mkdir()
    for label, freq in (("low", 300), ("high", 2500)):
        for i in range(6):
            project.add_sample(label, tone(tmp_path / "wav" / f"{label}{i}.wav", freq * (1 + i / 50), i))
    record = train(project, TrainSettings.from_dict(project.settings()).updated(model="logistic"))
    imgs = [(c.label, c.folder, [s.path for s in project.samples(c.label)]) for c in project.classes()]
    result = export(record, tmp_path / "out", images=imgs)
    meta = json.loads((result.folder / "metadata.json").read_text(encoding="utf-8"))
    assert "sketch_framing" not in meta
    # predict.mjs reads WAV files itself: no sharp (it runs in tests/test_sound_cli.py)
    node_only = {"onnxruntime-node": formats.NODE_PACKAGES["onnxruntime-node"]}
    assert meta["node"]["packages"] == node_only and "SOUND.wav" in meta["node"]["run"]
    assert "'my_sound.wav'" in meta["node"]["snippet"]
    assert json.loads((result.folder / "package.json").read_text())["dependencies"] == node_only
    assert (result.folder / "predict.mjs").read_text() == (formats.TEMPLATES / "predict.mjs").read_text()
    clips = [str(tone(tmp_path / f"test {f}.wav", f, 99)) for f in (320, 2400)]
    predictor = Predictor.from_record(record)
    want = [format_line(c, *predictor.top(c)) for c in clips]
    for script in ("predict.py", "predict_skops.py", "predict_onnx.py"):
        out = subprocess.run([sys.executable, script, *clips], capture_output=True, text=True, encoding="utf-8",
                             cwd=result.folder, env=clean_env())
        assert out.returncode == 0, out.stderr
        assert [line.split("\t")[:2] for line in out.stdout.splitlines()] == [w.split("\t")[:2] for w in want]
    np.testing.assert_allclose(open_export(result.zip_path).probabilities(clips), predictor.probabilities(clips),
                               atol=1e-9)
    import_into(store, "Again", result.zip_path)
    again = store.project("Again")
    assert again.kind.name == "sound" and again.counts() == {"low": 6, "high": 6}
