"""The webcam recorder without a browser: hold-to-record, snapshots, mirroring, captures."""

import numpy as np
from helpers import fixture_images

from studio.model.settings import TrainSettings
from studio.model.training import split, train
from studio.samples import images
from studio.samples.webcam import Webcam, snapshot_token


def frame(value: int) -> np.ndarray:
    """A 64x48 frame whose left half is ``value`` and right half white (so mirroring shows)."""
    f = np.full((48, 64, 3), 255, np.uint8)
    f[:, :32] = value
    return f


def test_holding_records_every_frame_into_one_capture_and_release_reports_them(store):
    p = store.create("cam")
    folder = p.classes()[0].folder
    cam = Webcam()
    events = [cam.frame(p, frame(10), hold=folder) for _ in range(5)]
    assert [e.event for e in events] == ["recording"] * 5 and events[-1].count == 5
    released = cam.frame(p, frame(10))
    assert (released.event, released.label, released.count, released.stored) == ("saved", "Class 1", 5, True)
    assert cam.frame(p, frame(10)).event is None
    samples = p.samples("Class 1")
    assert len(samples) == 5 and len({s.capture for s in samples}) == 1
    cam.frame(p, frame(10), hold=folder)  # a second hold is a second capture
    assert len({s.capture for s in p.samples("Class 1")}) == 2


def test_one_snapshot_per_click(store):
    p = store.create("cam")
    folder = p.classes()[1].folder
    cam = Webcam()
    token = snapshot_token(folder, 1)
    assert cam.frame(p, frame(0), snap=token).event == "snapshot"
    assert cam.frame(p, frame(0), snap=token).event is None  # the same click again
    assert cam.frame(p, frame(0), snap=snapshot_token(folder, 2)).stored
    assert p.counts() == {"Class 1": 0, "Class 2": 2}
    assert cam.frame(p, frame(0), snap="not a token").event is None


def test_unticked_mirror_stores_the_cameras_own_view(store):
    p = store.create("cam")
    out = Webcam().frame(p, frame(0), mirror=False, hold=p.classes()[0].folder)
    assert out.frame[0, 0].tolist() == [255, 255, 255] and out.frame[0, -1].tolist() == [0, 0, 0]
    stored = np.asarray(images.load(p.samples("Class 1")[0].path))
    assert stored[0, 0].tolist() == [255, 255, 255]


def test_a_deleted_class_or_another_kind_records_nothing(store):
    p = store.create("cam")
    folder = p.classes()[0].folder
    p.delete_class("Class 1")
    failed = Webcam().frame(p, frame(0), hold=folder)
    assert failed.event == "failed" and "no longer exists" in failed.error
    sketches = store.create("doodles", "sketch")
    assert Webcam().frame(sketches, frame(0), hold=sketches.classes()[0].folder).event is None
    assert sum(sketches.counts().values()) == 0
    assert Webcam().frame(None, frame(0), hold=folder).event is None


def test_held_back_images_come_from_recordings_training_never_saw(store):
    """Two bursts of the same hand would flatter the score if split frame by frame."""
    p = store.create("hands", classes=["rock", "paper"])
    cam = Webcam()
    for label in ("rock", "paper"):
        folder = p.class_info(label).folder
        for burst in range(4):
            for f in fixture_images("rps", label)[burst * 3:burst * 3 + 3]:
                cam.frame(p, np.asarray(images.load(f)), hold=folder)
            cam.frame(p, np.asarray(images.load(f)))  # release
    y = [s.label for s in p.samples()]
    parts = split(y, 0.25, TrainSettings().seed, [s.capture for s in p.samples()])
    captures = [s.capture for s in p.samples()]
    assert parts.mixed == [] and len(parts.test) == 6
    assert not {captures[i] for i in parts.test} & {captures[i] for i in parts.train}
    # two recordings held back are too few for a figure: each is held back in turn (tests/test_training.py)
    m = train(p, TrainSettings(model="knn", test_fraction=0.25)).metrics
    assert (m.n_test, m.test.n, m.test_captures, m.rounds) == (6, 24, 8, 4)
    assert m.held_back("image", "images") == ("24 held-back images from 8 recordings that training never saw "
                                              "(each recording held back in turn, in 4 trainings)")
