"""Training: every model kind, the split, refusals, determinism, progress, saving and reloading."""

import json

import numpy as np
import pytest
from helpers import fixture_classes, fixture_images, make_project
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.errors import NotFound, StudioError, TrainingError, UnsafeFile
from studio.kinds import PHOTO
from studio.model import modelfile
from studio.model.predictor import Predictor
from studio.model.settings import HEADS, ITERATIVE, TrainSettings
from studio.model.training import check_counts, split, train
from studio.samples.store import Store, new_capture

QUICK = {"epochs": 15}  # the MLP's epochs; the other models ignore it


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """A photo project (rps) and a sketch project (quickdraw) whose class order is not alphabetical,
    so confidence ties between classes are broken the way the estimator breaks them."""
    store = Store(tmp_path_factory.mktemp("captures"))
    rps = make_project(store, "Hands", "rps", classes=["scissors", "rock", "paper"])
    doodles = make_project(store, "Doodles", "quickdraw", kind="sketch",
                           classes=list(reversed(fixture_classes("quickdraw"))))
    return {"photo": rps, "sketch": doodles}


@pytest.mark.parametrize("model", list(HEADS))
@pytest.mark.parametrize("kind", ["photo", "sketch"])
def test_every_model_kind_trains_and_its_top_class_is_its_prediction(projects, model, kind):
    p = projects[kind]
    record = train(p, TrainSettings(model=model, **QUICK))
    assert record.labels == p.labels()
    assert record.spec.framing == ("sketch" if kind == "sketch" else "crop")
    m = record.metrics
    assert m.n_train + m.n_test == sum(p.counts().values())
    assert m.test.accuracy is not None and 0.0 <= m.test.accuracy <= 1.0
    assert m.train.accuracy >= 0.5  # every kind learns its own training images
    assert set(m.test.per_class) == set(p.labels())
    assert np.array(m.test.confusion).shape == (len(p.labels()),) * 2
    assert "precision" in m.test.report

    paths = [s.path for s in p.samples()]
    predictor = Predictor.from_record(record)
    X = np.stack([predictor.vector(f) for f in paths])
    estimator_says = record.estimator.predict(X)
    proba = predictor.probabilities(paths)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert np.array_equal(np.array(predictor.labels, dtype=object)[predictor.best(proba)], estimator_says)
    assert [predictor.top_of(c)[0] for c in predictor.predict_batch(paths)] == list(estimator_says)
    # the estimator's own predict_proba too, in its own class order
    raw = record.estimator.predict_proba(X)
    assert np.array_equal(record.estimator.classes_[raw.argmax(axis=1)], estimator_says)


def test_training_accuracy_of_a_large_project_is_measured_on_a_sample(projects, monkeypatch):
    import studio.model.training

    p = projects["photo"]
    whole = train(p, TrainSettings(model="knn", **QUICK)).metrics
    assert whole.train.n == whole.n_train
    monkeypatch.setattr(studio.model.training, "TRAIN_SCORED", 5)
    sampled = train(p, TrainSettings(model="knn", **QUICK)).metrics
    assert sampled.train.n == 5 and sampled.n_train == whole.n_train > 5
    assert sampled.test == whole.test  # the held-back images are all scored, as before


def test_mlp_records_accuracy_and_loss_per_epoch(projects):
    steps = []
    record = train(projects["photo"], TrainSettings(model="mlp", epochs=7), lambda i, n, msg: steps.append((i, n)))
    h = record.metrics.history
    assert h["epoch"] == list(range(1, 8))
    for key in ("train_accuracy", "train_loss", "test_accuracy", "test_loss"):
        assert len(h[key]) == 7 and all(np.isfinite(h[key]))
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert "mlp" in ITERATIVE


@pytest.mark.parametrize("model", ["svc", "mlp"])
def test_progress_reaches_n_of_n(projects, model):
    steps = []
    train(projects["photo"], TrainSettings(model=model, epochs=5), lambda i, n, msg: steps.append((i, n, msg)))
    totals = {n for _, n, _ in steps}
    assert len(totals) == 1
    total = totals.pop()
    assert steps[-1][0] == total
    assert [i for i, _, _ in steps] == sorted(i for i, _, _ in steps)
    assert all(isinstance(msg, str) and msg for _, _, msg in steps)


@pytest.mark.parametrize("model", ["svc", "mlp", "forest"])
def test_training_is_deterministic_for_a_seed(projects, model):
    p = projects["photo"]
    paths = [s.path for s in p.samples()]
    a = train(p, TrainSettings(model=model, seed=5, **QUICK))
    b = train(p, TrainSettings(model=model, seed=5, **QUICK))
    assert a.metrics.test.samples == b.metrics.test.samples
    assert a.metrics.test.predicted == b.metrics.test.predicted
    assert np.array_equal(Predictor.from_record(a).probabilities(paths), Predictor.from_record(b).probabilities(paths))
    c = train(p, TrainSettings(model=model, seed=6, **QUICK))  # another held-back share: another model
    assert not np.array_equal(Predictor.from_record(a).probabilities(paths),
                              Predictor.from_record(c).probabilities(paths))


# ---- the split -------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.floats(0.0, 0.5), st.integers(0, 2**31 - 1))
def test_split_is_stratified_and_keeps_training_images_in_every_class(sizes, fraction, seed):
    y = [f"c{i}" for i, n in enumerate(sizes) for _ in range(n)]
    tr, te = (s := split(y, fraction, seed)).train, s.test
    assert sorted(tr.tolist() + te.tolist()) == list(range(len(y))) and s.mixed == []
    y = np.array(y)
    for i, n in enumerate(sizes):
        n_test = int((y[te] == f"c{i}").sum())
        assert (y[tr] == f"c{i}").sum() >= min(n, 2)  # two, so that calibration folds see every class
        assert n_test == max(0, min(n - 2, round(fraction * n)))
    again = split(list(y), fraction, seed)
    assert np.array_equal(again.train, tr) and np.array_equal(again.test, te)


def test_split_holds_back_about_15_percent():
    y = ["a"] * 40 + ["b"] * 20 + ["c"] * 7 + ["d"] * 2
    te = split(y, 0.15, 0).test
    counts = {lb: int(sum(y[i] == lb for i in te)) for lb in "abcd"}
    assert counts == {"a": 6, "b": 3, "c": 1, "d": 0}
    assert split(y, 0.15, 0).test.tolist() != split(y, 0.15, 1).test.tolist()
    assert split(y, 0.15, 0).test.tolist() == [2, 4, 11, 23, 24, 27, 47, 51, 59, 62]  # as before captures


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(1, 12), min_size=1, max_size=6), min_size=1, max_size=4),
       st.floats(0.05, 0.5), st.integers(0, 2**31 - 1))
def test_a_capture_is_held_back_or_trained_on_whole(bursts, fraction, seed):
    """Frames of one hold-to-record burst are near-copies: never some in training and some held back."""
    y = [f"c{i}" for i, sizes in enumerate(bursts) for n in sizes for _ in range(n)]
    groups = [f"c{i}-{j}" for i, sizes in enumerate(bursts) for j, n in enumerate(sizes) for _ in range(n)]
    s = split(y, fraction, seed, groups)
    assert sorted(s.train.tolist() + s.test.tolist()) == list(range(len(y)))
    for i, sizes in enumerate(bursts):
        label = f"c{i}"
        assert sum(1 for k in s.train if y[k] == label) >= min(sum(sizes), 2)
        if label not in s.mixed:
            held = {groups[k] for k in s.test if y[k] == label}
            assert not held & {groups[k] for k in s.train if y[k] == label}


def test_a_class_recorded_in_one_burst_is_split_frame_by_frame_and_says_so():
    y = ["a"] * 20 + ["b"] * 20
    groups = ["a1"] * 20 + [f"b{i // 5}" for i in range(20)]
    s = split(y, 0.2, 0, groups)
    assert s.mixed == ["a"]
    assert sum(1 for i in s.test if y[i] == "a") == 4
    held_b = {groups[i] for i in s.test if y[i] == "b"}
    assert len(held_b) == 1 and not held_b & {groups[i] for i in s.train}


@pytest.mark.parametrize("model", ["svc", "linear_svm"])
def test_tiny_classes_train_even_with_a_large_test_fraction(store, model):
    p = make_project(store, "P", "rps", n=3)
    record = train(p, TrainSettings(model=model, augment=False, test_fraction=0.5))
    assert (record.metrics.n_train, record.metrics.n_test) == (6, 3)


def _bursts(store, name: str, per_class: int, copies: int = 3):
    """A project of two classes recorded in bursts: each burst ``copies`` near-copies of one rps photo
    (a pixel apart), the photos dealt to the classes in turn, so a class says nothing about what a
    photo shows: only a model that saw a burst's other frames can name it."""
    from PIL import Image
    p = store.create(name, "photo", classes=["a", "b"])
    photos = [f for label in fixture_classes("rps") for f in fixture_images("rps", label)][:2 * per_class]
    for i, photo in enumerate(photos):
        capture, img = new_capture(), Image.open(photo).convert("RGB")
        for j in range(copies):
            img.putpixel((j, 0), (j * 40, 0, 0))
            p.add_sample("ab"[i % 2], img.copy(), capture=capture)
    return p


def test_few_held_back_recordings_are_each_held_back_in_turn(store):
    """Two recordings held back would make a figure of a few moments: every recording is held back once,
    and never scored by a model that trained on its frames (1-NN would then be right every time)."""
    p = _bursts(store, "P", per_class=8)
    m = train(p, TrainSettings(model="knn", k=1, augment=False)).metrics
    assert (m.n_train + m.n_test, m.test.n, m.test_captures, m.rounds) == (48, 48, 16, 5)
    assert sorted(m.test.samples) == sorted(f"{s.path.parent.name}/{s.name}" for s in p.samples())
    assert m.test.accuracy < 0.8  # a leak (a burst's own frames in its training) would give 1.0
    assert m.held_back("image", "images") == (
        "48 held-back images from 16 recordings that training never saw (each recording held back in turn, "
        "in 5 trainings)")


def test_many_held_back_recordings_or_one_burst_a_class_keep_the_single_split(store):
    many = train(_bursts(store, "Many", per_class=12, copies=2), TrainSettings(model="knn", test_fraction=0.45))
    assert many.metrics.rounds == 1 and many.metrics.test_captures >= 10
    assert many.metrics.test.n == many.metrics.n_test
    one = store.create("One", "photo", classes=["rock", "paper"])
    for label in ("rock", "paper"):  # one burst each: held back frame by frame, and said so
        capture = new_capture()
        for f in fixture_images("rps", label, 6):
            one.add_sample(label, f, capture=capture)
    m = train(one, TrainSettings(model="knn")).metrics
    assert m.rounds == 1 and m.mixed and m.test.n == m.n_test


# ---- refusals --------------------------------------------------------------------------------
def test_refuses_fewer_than_two_enabled_classes(store):
    p = make_project(store, "P", "rps", classes=["rock", "paper"], n=3)
    p.set_enabled("paper", False)
    with pytest.raises(TrainingError, match="1 enabled class.*at least 2"):
        train(p)
    assert not modelfile.exists(p.model_dir)


def test_refuses_a_class_with_too_few_images_naming_it(store):
    p = make_project(store, "P", "rps", classes=["rock", "paper"], n=3)
    p.add_class("Empty 빈")
    with pytest.raises(TrainingError, match="Class 'Empty 빈' has 0 images, but training needs at least 2"):
        train(p)
    p.add_sample("Empty 빈", fixture_images("rps", "scissors", 1)[0])
    with pytest.raises(TrainingError, match="Class 'Empty 빈' has 1 image, but training needs at least 2"):
        train(p)
    p.set_enabled("Empty 빈", False)  # a disabled class is left out
    record = train(p, TrainSettings(model="knn"))
    assert record.labels == ["rock", "paper"]
    with pytest.raises(TrainingError, match="0 enabled"):
        check_counts({}, "P")


def test_names_images_that_fail_to_decode_and_trains_without_them(store):
    p = make_project(store, "P", "rps", classes=["rock", "paper"], n=3)
    folder = p.path / p.class_info("paper").folder
    (folder / "9999999999999999-bad.png").write_bytes(b"this is not a PNG")
    (folder / "9999999999999998-cut.jpg").write_bytes(fixture_images("rps", "paper", 1)[0].read_bytes()[:300])
    m = train(p).metrics
    assert m.n_train + m.n_test == 6
    assert m.left_out("image", "images").startswith(
        "Left out 2 images that could not be read: paper/9999999999999999-bad.png (")
    assert "; paper/9999999999999998-cut.jpg (" in m.left_out("image", "images")
    assert modelfile.exists(p.model_dir)


def test_refuses_impossible_settings():
    with pytest.raises(StudioError, match="Model must be one of"):
        TrainSettings(model="transformer").checked()
    with pytest.raises(StudioError, match="'epochs' must be between"):
        TrainSettings(epochs=0).checked()
    with pytest.raises(StudioError, match="'learning_rate' must be a number"):
        TrainSettings(learning_rate="fast").checked()
    with pytest.raises(StudioError, match="Unknown training setting"):
        TrainSettings.from_dict({"optimizer": "adam"})
    with pytest.raises(StudioError, match="multiple of the cell"):
        TrainSettings(size=60).spec_for(PHOTO)


def test_svc_width_and_calibration_folds_follow_the_features():
    from sklearn.preprocessing import StandardScaler

    from studio.model.estimators import make_estimator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)) * [1, 2, 3, 4, 5, 0]  # a constant column, as blank image corners give
    y = np.repeat(["a", "b"], 20)
    groups = np.tile(np.arange(20), 2)
    combined = make_estimator(TrainSettings(), y, groups, X).named_steps["model"]
    assert combined.estimator.gamma == pytest.approx(0.5 / (6 * StandardScaler().fit_transform(X).var()))
    assert len(combined.cv) == 3
    hog = make_estimator(TrainSettings(features="hog"), y, groups, X).named_steps["model"]
    assert hog.estimator.gamma == "scale" and len(hog.cv) == 5
    chosen = make_estimator(TrainSettings(gamma=2, calibration_folds=4), y, groups, X).named_steps["model"]
    assert chosen.estimator.gamma == pytest.approx(4 * combined.estimator.gamma) and len(chosen.cv) == 4
    with pytest.raises(StudioError, match="calibration_folds"):
        TrainSettings(calibration_folds=1).checked()


# ---- saved model -----------------------------------------------------------------------------
def test_model_survives_a_restart(store):
    p = make_project(store, "Masks 마스크", "face_mask", n=6)
    record = train(p, TrainSettings(model="svc"))
    paths = [s.path for s in p.samples()]
    before = Predictor.from_record(record).predict_batch(paths)

    reopened = Store(store.root).project("Masks 마스크")  # a new process would do just this
    loaded = modelfile.load(reopened.model_dir)
    assert loaded.labels == record.labels and loaded.spec == record.spec and loaded.id == record.id
    assert loaded.settings == TrainSettings(model="svc").to_dict()
    assert loaded.metrics == record.metrics
    assert set(loaded.versions) >= {"studio", "scikit-learn", "numpy", "python"}
    assert Predictor.from_project(reopened).predict_batch(paths) == before


def test_retraining_replaces_the_model_file(store):
    p = make_project(store, "P", "rps", n=3)
    first = train(p, TrainSettings(model="knn"))
    second = train(p, TrainSettings(model="logistic"))
    files = {f.name for f in p.model_dir.iterdir()}
    assert files == {"model.json", f"model-{second.id}.joblib"} and first.id != second.id
    assert modelfile.load(p.model_dir).settings["model"] == "logistic"


def test_a_tampered_model_file_is_refused(store):
    p = make_project(store, "P", "rps", n=3)
    record = train(p, TrainSettings(model="knn"))
    model_file = p.model_dir / f"model-{record.id}.joblib"
    original = model_file.read_bytes()
    model_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(UnsafeFile, match="checksum"):
        modelfile.load(p.model_dir)
    with pytest.raises(UnsafeFile):
        Predictor.from_project(p)
    # a pointer naming another file (or a path outside the model folder) does not help either
    pointer = json.loads((p.model_dir / "model.json").read_text())
    (p.model_dir / "evil.joblib").write_bytes(b"cos\nsystem\n(S'echo hacked'\ntR.")
    pointer["file"] = "../model/evil.joblib"
    (p.model_dir / "model.json").write_text(json.dumps(pointer))
    with pytest.raises(UnsafeFile):
        modelfile.load(p.model_dir)


def test_no_model_yet(store):
    p = store.create("P")
    with pytest.raises(NotFound, match="no trained model"):
        Predictor.from_project(p)


def test_training_leaves_the_images_alone(store):
    p = make_project(store, "P", "rps", n=3)
    before = sorted((s.path, s.path.stat().st_mtime_ns) for s in p.samples())
    train(p, TrainSettings(model="knn"))
    assert sorted((s.path, s.path.stat().st_mtime_ns) for s in p.samples()) == before
