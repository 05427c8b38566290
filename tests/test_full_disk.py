"""A full disk (issue 13, item 7): the captures folder (or the export folder, or a model folder) on
a small tmpfs. Recording, importing, training and exporting into it each fail with a message that
names the full disk and says what to do, and leave nothing half-written: no temporary file, no
project.json or image cut short, no model or export without its parts. Two trainings of one
project at once end with one complete model.

Mounting needs root (and a system that lets it mount): elsewhere these tests skip, saying so."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from helpers import clean_env, fixture_images, make_project, run_cli
from PIL import Image

from studio.errors import DiskFull
from studio.model import modelfile
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import train
from studio.samples import images
from studio.samples.store import Store
from studio.samples.webcam import Webcam

FAST = TrainSettings(model="knn", features="pixels", augment=False)
FAST_FLAGS = ("--features", "pixels", "--model", "knn", "--no-augment", "--quiet")
FULL = "is full (No space left on device)"


@contextlib.contextmanager
def mounted(folder: Path, size: str) -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size`` while the caller runs; skips the test where mounting is
    not permitted, and always unmounts."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("the full-disk tests mount a tmpfs, and this system has no mount command")
    if done.returncode != 0:
        pytest.skip(f"the full-disk tests mount a tmpfs, which needs root and a system that permits it: "
                    f"{done.stderr.strip() or done.returncode}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True, timeout=30)  # busy: detach it now


@pytest.fixture
def disk(tmp_path) -> Iterator[Path]:
    """A 5 MB disk."""
    with mounted(tmp_path / "disk", "5m") as folder:
        yield folder


def fill(folder: Path) -> Path:
    """Fill the disk holding ``folder`` to the last byte with one file (delete it to make room)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    chunk = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                if len(chunk) == 1:
                    return filler
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)


def noise(seed: int, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A webcam-sized frame that PNG cannot compress: about 0.9 MB stored."""
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def assert_whole(root: Path) -> None:
    """Nothing half-written under ``root``: no temporary or partial file or folder, every
    project.json readable, every image decodable, every model.json naming a model that matches it."""
    for folder, dirs, names in os.walk(root):
        for name in names + dirs:
            assert not name.startswith((".tmp-", ".new-")) and not name.endswith(".partial"), Path(folder, name)
        for name in names:
            path = Path(folder, name)
            if name == "project.json":
                json.loads(path.read_text(encoding="utf-8"))
            elif name.endswith(".png"):
                images.load(path)
            elif name == modelfile.POINTER:
                meta = json.loads(path.read_text(encoding="utf-8"))
                model = Path(folder, meta["file"]).read_bytes()
                assert hashlib.sha256(model).hexdigest() == meta["sha256"]
                assert sorted(Path(folder).glob("model-*.joblib")) == [Path(folder, meta["file"])]


def test_recording_into_a_full_disk_stops_with_a_message_and_keeps_every_frame_whole(disk):
    store = Store(disk / "captures")
    p = store.create("cam", "photo")
    webcam = Webcam()
    folder = p.class_info("Class 1").folder
    events = [webcam.frame(p, noise(i), hold=folder) for i in range(30)]  # 5 MB holds about 5 frames
    first = next((i for i, e in enumerate(events) if e.event == "failed"), None)
    assert first is not None, "30 frames of 0.9 MB fitted on a 5 MB disk"
    assert all(e.event == "recording" for e in events[:first]) and 2 <= first == p.class_info("Class 1").count
    assert f"The disk holding {p.path / folder} {FULL}" in events[first].error
    assert "Free some space" in events[first].error
    with pytest.raises(DiskFull, match="The disk holding .* is full"):
        p.add_sample("Class 2", noise(99))
    fill(disk)  # to the last byte: not even project.json can be rewritten
    with pytest.raises(DiskFull):
        p.rename_class("Class 2", "Renamed")
    with pytest.raises(DiskFull):
        p.add_class("A new class whose folder must not be left behind")
    with pytest.raises(DiskFull, match=f"The disk holding {store.root} is full"):
        store.create("another")
    assert p.labels() == ["Class 1", "Class 2"] and store.names() == ["cam"]
    assert sorted(d.name for d in p.path.iterdir() if d.is_dir()) == sorted(c.folder for c in p.classes())
    assert_whole(disk)


def test_importing_into_a_full_disk_says_how_much_was_stored(disk, tmp_path):
    source = tmp_path / "source"
    for label in ("a", "b"):
        (source / label).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(noise(i + (10 if label == "b" else 0))).save(source / label / f"{i}.png")
    out = run_cli("import", "big", source, captures=disk / "captures", check=False)
    assert out.returncode == 1, out.stdout
    stored = sum(1 for _ in (disk / "captures").rglob("*.png"))
    assert 2 <= stored < 8
    assert out.stderr.startswith(f"studio: error: The disk holding {disk / 'captures' / 'big'} {FULL} after "
                                 f"{stored} images of this import were stored in project 'big'; ")
    assert out.stderr.count("\n") == 1
    assert_whole(disk)


def test_training_into_a_full_disk_keeps_the_previous_model(disk):
    store = Store(disk / "captures")
    p = make_project(store, "rps", "rps", n=3)
    filler = fill(disk)
    out = run_cli("train", "rps", *FAST_FLAGS, captures=store.root, check=False)
    assert out.returncode == 1 and f"studio: error: The disk holding {p.path} {FULL}" in out.stderr
    with pytest.raises(DiskFull, match=f"The disk holding {p.cache_dir} is full"):
        train(p, FAST)
    assert not modelfile.exists(p.model_dir)
    assert_whole(disk)
    filler.unlink()  # room again: training works, and its model stays through the next failure
    first = train(p, FAST)
    fill(disk)
    with pytest.raises(DiskFull):
        train(p, TrainSettings(model="knn", features="pixels", augment=False, seed=1, size=24))
    assert modelfile.load(p.model_dir).id == first.id
    assert Predictor.from_project(p).predict(fixture_images("rps", "rock", 1)[0])
    assert_whole(disk)


def test_a_full_model_folder_keeps_the_previous_model(store, tmp_path):
    p = make_project(store, "rps", "rps", n=3)
    with mounted(p.model_dir, "64k"):
        first = train(p, FAST)
        fill(p.model_dir)
        with pytest.raises(DiskFull, match=f"The disk holding {p.model_dir} is full"):
            train(p, TrainSettings(model="knn", features="pixels", augment=False, seed=1))
        assert modelfile.load(p.model_dir).id == first.id
        assert_whole(p.model_dir)


def test_a_model_json_that_cannot_be_written_takes_its_model_file_with_it(store, monkeypatch):
    p = make_project(store, "rps", "rps", n=3)
    first = train(p, FAST)

    def no_room(path, obj):
        raise DiskFull(path.parent)

    monkeypatch.setattr(modelfile.atomic, "write_json", no_room)
    with pytest.raises(DiskFull):
        train(p, TrainSettings(model="knn", features="pixels", augment=False, seed=1))
    assert {f.name for f in p.model_dir.iterdir()} == {"model.json", f"model-{first.id}.joblib"}


def test_exporting_into_a_full_disk_leaves_no_export(disk, store):
    p = make_project(store, "rps", "rps", n=3)
    train(p, FAST)
    out = disk / "exported"
    out.mkdir()
    fill(disk)
    done = run_cli("export", "rps", "--out", out, "--format", "joblib", captures=store.root, check=False)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith(f"studio: error: The disk holding {out} {FULL}")
    assert list(out.iterdir()) == []
    assert_whole(disk)


def test_an_export_whose_zip_does_not_fit_leaves_no_folder_either(disk, store, tmp_path):
    p = make_project(store, "rps", "rps", n=3)
    train(p, FAST)
    elsewhere = run_cli("export", "rps", "--out", tmp_path / "elsewhere", "--format", "joblib", captures=store.root)
    folder = next(f for f in (tmp_path / "elsewhere").iterdir() if f.is_dir())
    pages = sum(-(-f.stat().st_size // 4096) for f in folder.rglob("*") if f.is_file())
    out = disk / "exported"
    out.mkdir()
    filler = fill(disk)
    os.truncate(filler, filler.stat().st_size - (pages + 8) * 4096)  # room for the folder, not for its zip too
    done = run_cli("export", "rps", "--out", out, "--format", "joblib", captures=store.root, check=False)
    assert done.returncode == 1, (elsewhere.stdout, done.stdout)
    assert done.stderr.startswith(f"studio: error: The disk holding {out} {FULL}")
    assert list(out.iterdir()) == []
    assert_whole(disk)


def test_two_trainings_at_once_end_with_one_complete_model(store):
    p = make_project(store, "rps", "rps", n=3)
    command = [sys.executable, "-m", "studio", "--captures", str(store.root), "train", "rps", *FAST_FLAGS]
    procs = [subprocess.Popen(command, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    assert_whole(p.path)
    files = {f.name for f in p.model_dir.iterdir()}
    assert len(files) == 2 and "model.json" in files  # and one model file, the one it names (assert_whole)
    assert Predictor.from_project(p).predict(fixture_images("rps", "rock", 1)[0])
