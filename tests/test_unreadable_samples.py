"""Files in a class folder that studio cannot or will not read (issue 13, item 5): a damaged image
and symbolic links planted there. The card names them, training leaves them out and says so (on
the page's status line and on the CLI's stderr), no link is ever followed out of the project, and
nothing is deleted."""

from __future__ import annotations

import json
import os

import pytest
from helpers import fixture_images, make_project, run_cli

from studio.errors import NotFound, TrainingError
from studio.model import modelfile
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import projection, train
from studio.samples.store import LINK

FAST = TrainSettings(model="knn", features="pixels", augment=False)
BROKEN = "0000000000000000-broken.png"


@pytest.fixture
def planted(store, tmp_path):
    """A project of three rps classes (three images each) whose "rock" folder also holds a damaged
    PNG, a link to a good image outside the project and a link to a missing file."""
    p = make_project(store, "rps", "rps", n=3)
    rock = p.path / p.class_info("rock").folder
    (rock / BROKEN).write_bytes(b"\x89PNG\r\n\x1a\n not really")
    outside = tmp_path / "outside.png"
    outside.write_bytes(fixture_images("rps", "paper", 1)[0].read_bytes())
    os.symlink(outside, rock / "0000000000000001-outside.png")
    os.symlink(tmp_path / "nowhere.png", rock / "0000000000000002-dangling.png")
    return p


def test_links_are_not_samples_and_are_never_read_through(planted, tmp_path):
    p = planted
    names = {s.name for s in p.samples("rock")}
    assert BROKEN in names and len(names) == 4  # the damaged file is a sample: it is the user's
    assert not any("outside" in n or "dangling" in n for n in names)
    assert p.class_info("rock").count == 4 and p.counts() == {"paper": 3, "rock": 4, "scissors": 3}
    strays = p.strays("rock")
    assert [(s.name, s.reason) for s in strays] == [("0000000000000001-outside.png", LINK),
                                                    ("0000000000000002-dangling.png", LINK)]
    with pytest.raises(NotFound, match="has no sample"):
        p.sample_path("rock", "0000000000000001-outside.png")
    assert (tmp_path / "outside.png").is_file()


def test_a_linked_class_folder_holds_no_samples(store, tmp_path):
    p = make_project(store, "rps", "rps", n=2)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "0000000000000000-x.png").write_bytes(fixture_images("rps", "rock", 1)[0].read_bytes())
    folder = p.path / p.class_info("rock").folder
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    os.symlink(elsewhere, folder)
    assert p.samples("rock") == [] and p.class_info("rock").count == 0
    assert [(s.name, s.reason) for s in p.strays("rock")] == [(folder.name, LINK)]


def test_training_leaves_unreadable_files_out_and_names_them(planted):
    p = planted
    record = train(p, FAST)
    m = record.metrics
    assert m.n_train + m.n_test == 9  # the three good images of each class
    skipped = " ".join(m.skipped)
    rock = p.class_info("rock").folder
    for name in (BROKEN, "0000000000000001-outside.png", "0000000000000002-dangling.png"):
        assert f"{rock}/{name}" in skipped
    assert "not a readable image" in skipped and "symbolic link" in skipped
    saved = modelfile.info(p.model_dir)["metrics"]["skipped"]
    assert saved == m.skipped  # the page's status line reads it back from model.json
    assert m.left_out("image", "images").startswith(f"Left out 3 images that could not be read: {rock}/")
    assert (p.path / rock / BROKEN).is_file()  # nothing the user put there is deleted
    assert Predictor.from_project(p).predict(fixture_images("rps", "rock", 1)[0])
    assert len(projection(p, FAST)["sample"]) == 9


def test_training_refuses_when_too_few_readable_remain(store):
    p = make_project(store, "two", "rps", classes=["paper", "rock"], n=2)
    rock = p.path / p.class_info("rock").folder
    next(rock.iterdir()).write_bytes(b"not an image")
    with pytest.raises(TrainingError, match=r"Class 'rock' has 1 image, .* at least 2 .* could not be read: "
                                            r"rock/.*not a readable image"):
        train(p, FAST)
    assert not modelfile.exists(p.model_dir)


def test_the_cli_trains_without_them_and_says_so_on_stderr(planted):
    p = planted
    out = run_cli("train", "rps", "--features", "pixels", "--model", "knn", "--no-augment", "--quiet",
                  captures=p.store.root)
    rock = p.class_info("rock").folder
    assert "studio: warning: Left out 3 images that could not be read:" in out.stderr
    assert f"{rock}/{BROKEN}" in out.stderr and f"{rock}/0000000000000001-outside.png" in out.stderr
    assert out.stdout.startswith("Trained ")
    listed = run_cli("samples", "rps", "rock", "--json", captures=p.store.root)
    assert sorted(s["name"] for s in json.loads(listed.stdout))[0] == BROKEN
    assert len(json.loads(listed.stdout)) == 4


def test_the_class_card_names_each_file_it_could_not_read(planted, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    from studio.ui import classes, thumbs
    from studio.ui.train import summary

    p = planted
    info = p.class_info("rock")
    samples = p.samples("rock")
    shown, note = classes.tiles(p, info, samples)
    assert [thumbs.sample_name(s) for s in shown] == [s.name for s in samples]  # each one selectable
    assert note.startswith("**Could not read 3 files** in `")
    for name in (BROKEN, "0000000000000001-outside.png", "0000000000000002-dangling.png"):
        assert name in note
    assert "delete or replace them" in note
    assert classes.tiles(p, p.class_info("paper"), p.samples("paper"))[1] == ""
    train(p, FAST)
    status = summary(modelfile.info(p.model_dir), p.kind)
    assert "Left out 3 images that could not be read" in status and BROKEN in status


def test_a_damaged_clip_is_named_on_the_sound_card(store, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    from studio.ui import sound

    p = store.create("digits", "sound", classes=["0", "1"])
    folder = p.path / p.class_info("0").folder
    (folder / "9999999999999999-broken.wav").write_bytes(b"RIFF....WAVEnot really")
    newest = p.samples("0")[0]
    picture, why = sound._picture(newest.path)
    assert picture is None and "broken.wav" in why
    note = sound.unreadable_note(p, p.class_info("0"), [why], "choose a clip in the list, then Delete clip")
    assert "Could not read 1 file" in note and "broken.wav" in note and "Delete clip" in note
