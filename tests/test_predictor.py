"""Predictor: {label: confidence} for one image or a batch, from any image source."""

import numpy as np
import pytest
from helpers import fixture_images, make_project
from PIL import Image

from studio.errors import BadImage, StudioError
from studio.model.predictor import Predictor, format_line
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples.store import Store


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("captures"))
    p = make_project(store, "Hands", "rps", classes=["scissors", "rock", "paper"], n=8)
    p.add_class("unused")
    p.set_enabled("unused", False)
    train(p)
    return Predictor.from_project(Store(store.root).project("Hands"))


def test_one_image_gives_a_dict_in_class_order(predictor):
    path = fixture_images("rps", "rock")[-1]  # not among the training images
    conf = predictor.predict(path)
    assert list(conf) == ["scissors", "rock", "paper"]  # disabled classes are not predicted
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in conf.values())
    assert sum(conf.values()) == pytest.approx(1.0, abs=1e-6)
    label, confidence = predictor.top(path)
    assert confidence == max(conf.values()) and conf[label] == confidence


def test_held_back_images_are_recognised(predictor):
    held_back = {lb: fixture_images("rps", lb)[8:] for lb in ("scissors", "rock", "paper")}
    right = sum(predictor.top(f)[0] == lb for lb, files in held_back.items() for f in files)
    assert right >= 9  # of 12: the default recipe on 8 images per class


def test_batch_equals_one_by_one_for_every_kind_of_source(predictor):
    path = fixture_images("rps", "paper")[-1]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    sources = [path, str(path), path.read_bytes(), rgb, Image.open(path), Image.open(path).convert("RGBA")]
    batch = predictor.predict_batch(sources)
    assert len(batch) == len(sources)
    for row in batch:  # BLAS sums a batch of rows in another order than one row: 1e-8 apart
        assert row == pytest.approx(predictor.predict(path), abs=1e-6)
    assert predictor.probabilities(sources).shape == (len(sources), 3)
    assert predictor.predict_batch([fixture_images("rps", "rock")[-1], path])[1] == pytest.approx(batch[0], abs=1e-6)


def test_a_webcam_sized_frame_works(predictor):
    frame = np.asarray(Image.open(fixture_images("rps", "scissors")[-1]).convert("RGB").resize((640, 480)))
    assert set(predictor.predict(frame)) == {"scissors", "rock", "paper"}


def test_bad_input_is_bad_image(predictor):
    with pytest.raises(BadImage):
        predictor.predict(b"not an image")
    with pytest.raises(BadImage):
        predictor.predict_batch([fixture_images("rps", "rock")[0], "missing.jpg"])


def test_empty_sketch_is_bad_image(tmp_path):
    store = Store(tmp_path)
    p = make_project(store, "Doodles", "quickdraw", kind="sketch", classes=["apple", "fish"], n=4)
    pred = Predictor.from_record(train(p, TrainSettings(model="knn")))
    with pytest.raises(BadImage, match="empty"):
        pred.predict(np.full((100, 100, 3), 255, np.uint8))
    assert set(pred.predict(Image.open(fixture_images("quickdraw", "fish")[-1]))) == {"apple", "fish"}


def test_refuses_labels_the_model_does_not_know(predictor):
    with pytest.raises(StudioError, match="does not know"):
        Predictor(predictor.estimator, ["scissors", "rock", "lizard"], predictor.spec)


def test_format_line():
    assert format_line("a b/c.jpg", "마스크", 0.123456) == "a b/c.jpg\t마스크\t0.1235"
