"""Comparing models and preprocessing on a project's own data, the learning curve, keeping a compared
model, and preprocessing carried by every export (in process, and the CLI in subprocesses)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from helpers import make_project, run_cli, run_without_studio
from sklearn.preprocessing import Binarizer, MinMaxScaler, Normalizer, StandardScaler
from test_export_formats import agreement_images

import studio.model.compare as compare_module
from studio.errors import StudioError
from studio.export.bundle import export
from studio.model import modelfile
from studio.model.compare import CACHE_FILE, compare, learning_curve, use
from studio.model.predictor import Predictor
from studio.model.settings import HEADS, PREPROCESSING, TrainSettings
from studio.model.training import train
from studio.samples.store import Store

QUICK = {"features": "hog", "epochs": 15}
SCRIPTS = {"joblib": "predict.py", "skops": "predict_skops.py", "onnx": "predict_onnx.py"}
TOLERANCE = {"joblib": 1e-5, "skops": 1e-5, "onnx": 1e-4}  # as test_export_runtimes.py


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    p = make_project(Store(tmp_path_factory.mktemp("captures")), "Hands", "rps", classes=["scissors", "rock", "paper"])
    p.set_settings(TrainSettings(**QUICK).to_dict())
    return p


@pytest.fixture
def fits(monkeypatch):
    """How many times the comparison fitted a model."""
    calls = []
    real = compare_module.fit

    def counted(*args, **kw):
        calls.append(args[2].head)
        return real(*args, **kw)

    monkeypatch.setattr(compare_module, "fit", counted)
    return calls


def test_compare_fits_all_seven_on_one_split_then_remembers_them(project, fits):
    steps = []
    result = compare(project, progress=lambda i, n, msg: steps.append((i, n, msg)))
    assert result.complete and result.fitted == len(HEADS) == len(fits)
    assert sorted(r.model for r in result.rows) == sorted(HEADS)
    assert {r.preprocessing for r in result.rows} == {"standardise"}
    assert [r.model for r in result.rows if r.current] == ["svc"]  # hog features' own head
    assert result.n_test > 0 and result.n_train + result.n_test == sum(project.counts().values())
    for r in result.rows:
        assert r.error == "" and 0 <= r.accuracy <= 1 and 0 <= r.macro_f1 <= 1
        assert r.fit_seconds > 0 and r.predict_ms > 0 and r.size_bytes > 1000
        assert set(r.recall) == set(project.labels())
    accs = [r.accuracy for r in result.rows]
    assert accs == sorted(accs, reverse=True)
    assert steps[-1][0] == steps[-1][1] and all(0 <= i <= n for i, n, _ in steps)

    # the same figures as studio train gives the same recipe
    record = train(project, TrainSettings(**QUICK, model="knn"))
    assert result.row("knn").accuracy == record.metrics.test.accuracy

    fits.clear()
    again = compare(project)
    assert fits == [] and again.fitted == 0 and (project.cache_dir / CACHE_FILE).is_file()
    assert [r.to_json() for r in again.rows] == [r.to_json() for r in result.rows]

    # another preprocessing fits only what is new
    more = compare(project, models=["knn", "naive_bayes"], preprocessing=["standardise", "minmax"])
    assert sorted(fits) == ["knn", "naive_bayes"] and more.fitted == 2 and len(more.rows) == 4


def test_changed_images_are_compared_afresh(tmp_path, fits):
    p = make_project(Store(tmp_path / "captures"), "Hands", "rps", classes=["rock", "paper"], n=6)
    p.set_settings(TrainSettings(**QUICK).to_dict())
    compare(p, models=["knn"])
    p.delete_sample("rock", p.samples("rock")[0].name)
    assert compare(p, models=["knn"]).fitted == 1 and len(fits) == 2


def test_compare_can_be_cancelled_and_goes_on_from_there(project, fits):
    done = threading.Event()
    done.set()
    nothing = compare(project, models=["logistic", "forest"], preprocessing=["l2"], cancel=done)
    assert not nothing.complete and nothing.rows == [] and fits == []

    asked = []
    stop_after_first = compare(project, models=["logistic", "forest"], preprocessing=["l2"],
                               cancel=lambda: asked.append(1) or len(fits) >= 1)
    assert not stop_after_first.complete and [r.model for r in stop_after_first.rows] == ["logistic"]
    rest = compare(project, models=["logistic", "forest"], preprocessing=["l2"])
    assert rest.complete and rest.fitted == 1 and fits == ["logistic", "forest"]

    mlp = compare(project, models=["mlp"], preprocessing=["l1"], cancel=lambda: len(fits) >= 3,
                  progress=lambda i, n, msg: None)  # stops between two epochs of the MLP
    assert not mlp.complete and mlp.rows == []


def test_unknown_names_are_refused(project):
    with pytest.raises(StudioError, match="Unknown model 'bogus'"):
        compare(project, models=["knn", "bogus"])
    with pytest.raises(StudioError, match="Unknown preprocessing 'zscore'"):
        compare(project, preprocessing=["zscore"])
    with pytest.raises(StudioError, match="Preprocessing must be one of"):
        TrainSettings(preprocessing="zscore").checked()
    with pytest.raises(StudioError, match="threshold"):
        TrainSettings(preprocessing="binarize", threshold="high").checked()


def test_learning_curve_names_the_class_with_the_lowest_recall(project):
    curve = learning_curve(project)
    assert [p.per_class for p in curve.points] == [5, None]  # the fixture classes have fewer than 10 to train on
    assert curve.points[0].n_train == 15 and curve.points[-1].n_train > 15
    assert all(p.accuracy is not None for p in curve.points)
    full = compare(project, models=["svc"])  # the curve's last point is the comparison's row
    assert curve.points[-1].accuracy == full.rows[0].accuracy and curve.recall == full.rows[0].recall
    low = min(curve.recall.values())
    assert curve.recall[curve.weakest] == low
    if low < 1:
        assert curve.advice.startswith(f"{curve.weakest!r} would gain most from more images")
    assert len(learning_curve(project, sizes=(2, 3, 5)).points) == 4


def test_use_keeps_a_compared_model_as_the_project_model(project):
    record = use(project, "knn", "minmax")
    assert project.settings()["model"] == "knn" and project.settings()["preprocessing"] == "minmax"
    assert isinstance(record.estimator.named_steps["scale"], MinMaxScaler)
    assert modelfile.load(project.model_dir).id == record.id
    row = compare(project, models=["knn"], preprocessing=["minmax"]).rows[0]
    assert row.current and row.accuracy == record.metrics.test.accuracy
    project.set_settings(TrainSettings(**QUICK).to_dict())


def test_old_settings_without_preprocessing_standardise():
    s = TrainSettings.from_dict({"model": "svc", "features": "hog"})
    assert (s.preprocessing, s.threshold) == ("standardise", 0.0)


SCALERS = {"standardise": StandardScaler, "none": StandardScaler, "minmax": MinMaxScaler, "l1": Normalizer,
           "l2": Normalizer, "binarize": Binarizer}


@pytest.fixture(scope="module")
def exported(project, tmp_path_factory):
    """A forest and an SVC with each preprocessing, exported in every format, and studio's predictions."""
    out = tmp_path_factory.mktemp("exports")
    images = agreement_images(4)
    made = []
    for prep in PREPROCESSING:
        for model in ("forest", "svc"):
            record = train(project, TrainSettings(**QUICK, model=model, preprocessing=prep, threshold=0.05))
            predictor = Predictor.from_record(record)
            conf = [(predictor.top_of(c)[0], c) for c in predictor.predict_batch(images)]  # ties as studio breaks them
            made.append((prep, model, record, export(record, out).folder, conf))
    return images, made


def test_each_preprocessing_is_in_the_model_and_its_exports_agree_with_studio(exported):
    images, made = exported
    for prep, model, record, folder, want in made:
        scaler = record.estimator.named_steps["scale"]
        assert type(scaler) is SCALERS[prep]
        assert json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["settings"]["preprocessing"] == prep
        for fmt, script in SCRIPTS.items():
            proc = run_without_studio(folder / script, ["--json", *images], folder)
            assert proc.returncode == 0, (prep, model, fmt, proc.stderr[-1000:])
            rows = [json.loads(line) for line in proc.stdout.splitlines()]
            assert [r["label"] for r in rows] == [top for top, _ in want], (prep, model, fmt)
            diff = max(abs(r["confidences"][lb] - p) for r, (_, c) in zip(rows, want) for lb, p in c.items())
            assert diff <= TOLERANCE[fmt], (prep, model, fmt, diff)


# ---- the command line ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    captures = tmp_path_factory.mktemp("cli")
    make_project(Store(captures), "Hands", "rps", classes=["scissors", "rock", "paper"], n=8)
    run_cli("train", "Hands", "--features", "hog", "--epochs", "15", "--preprocessing", "l2", "-q", captures=captures)
    return captures


def test_cli_compare_json_then_use(cli_store):
    out = json.loads(run_cli("compare", "Hands", "--json", "-q", captures=cli_store).stdout)
    assert sorted(r["model"] for r in out["rows"]) == sorted(HEADS) and out["fitted"] == len(HEADS)
    assert [(r["model"], r["preprocessing"]) for r in out["rows"] if r["current"]] == [("svc", "l2")]
    assert {"accuracy", "macro_f1", "fit_seconds", "predict_ms", "size_bytes"} <= set(out["rows"][0])

    text = run_cli("compare", "Hands", "--models", "knn,naive_bayes", "--preprocessing", "all", "-q",
                   captures=cli_store).stdout
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if "preprocessing" in line and "accuracy" in line)
    rows = lines[header + 1:header + 13]
    assert len(rows) == 12 and all(r.split()[0] in ("knn", "naive_bayes") for r in rows)
    for column in ("preprocessing", "accuracy", "macro F1", "size KB"):  # aligned under their headings
        at = lines[header].index(column)
        assert all(r[at - 1] == " " and r[at] != " " for r in rows), column

    kept = json.loads(run_cli("compare", "Hands", "--models", "svc", "--use", "naive_bayes", "--json", "-q",
                              captures=cli_store).stdout)
    assert kept["kept"]["model"] == "naive_bayes" and kept["kept"]["preprocessing"] == "l2"
    assert [r["model"] for r in kept["rows"] if r["current"]] == ["naive_bayes"]
    settings = json.loads((cli_store / "Hands" / "project.json").read_text(encoding="utf-8"))["settings"]
    assert (settings["model"], settings["preprocessing"]) == ("naive_bayes", "l2")
    again = json.loads(run_cli("compare", "Hands", "--json", "-q", captures=cli_store).stdout)
    assert again["fitted"] == 0 and [r["model"] for r in again["rows"] if r["current"]] == ["naive_bayes"]


def test_cli_learning_curve(cli_store):
    out = json.loads(run_cli("learning-curve", "Hands", "--json", "-q", captures=cli_store).stdout)
    assert out["points"][-1]["per_class"] is None and out["weakest"] in ("scissors", "rock", "paper")
    text = run_cli("learning-curve", "Hands", captures=cli_store).stdout
    assert "per class" in text and out["advice"] in text


@pytest.mark.parametrize("args, said", [
    (["compare", "Hands", "--models", "knn,bogus"], "Unknown model 'bogus'"),
    (["compare", "Hands", "--use", "bogus"], "Unknown model 'bogus'"),
    (["compare", "Hands", "--preprocessing", "zscore"], "Unknown preprocessing 'zscore'"),
    (["compare", "Nobody"], "Nobody"),
    (["train", "Hands", "--preprocessing", "zscore"], "invalid choice"),
])
def test_cli_bad_input_is_one_line(cli_store, args, said):
    proc = run_cli(*args, captures=cli_store, check=False)
    assert proc.returncode == 1 and said in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_no_preprocessing_changes_nothing(project):
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    from studio.model.estimators import make_scaler

    np.testing.assert_array_equal(make_scaler(TrainSettings(preprocessing="none")).fit_transform(X), X)
