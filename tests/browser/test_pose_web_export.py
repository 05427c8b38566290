"""The exported pose web page, served by a plain `python -m http.server` in its own process (no studio),
in Chromium: it loads MediaPipe Pose and onnxruntime-web from its own folder only, its model agrees
with studio on every held-back pose, and a photo opened on the page gets the pose studio predicts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from studio.export.bundle import export
from studio.model.predictor import Predictor
from studio.model.training import train
from studio.samples.store import Store

from .browser_kit import CHROMIUM, chromium_args, free_port, missing_tools

POSES = Path(__file__).resolve().parents[1] / "fixtures" / "pose"
CLASSES = ("tree", "warrior2", "downdog")


def held_back(path: Path) -> bool:
    """Every fourth pose of a class, by name, is held back from training."""
    return sorted(path.parent.glob("*.json")).index(path) % 4 == 3


def wait_for_port(port: int, timeout: float = 60) -> None:
    """Until something listens on 127.0.0.1:``port`` (the http.server process starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if not all((POSES / c).is_dir() for c in CLASSES):
        pytest.skip(f"needs the pose fixtures in {POSES} (tests/fixtures/make_pose_landmarks.py)")
    tmp = tmp_path_factory.mktemp("pose-web")
    project = Store(tmp / "captures").create("Yoga", "pose", classes=list(CLASSES))
    tests = []
    for label in CLASSES:
        for path in sorted((POSES / label).glob("*.json")):
            if held_back(path):
                tests.append(path)
            else:
                project.add_sample(label, path)
    record = train(project)
    folder = export(record, tmp / "out", ["web"]).folder / "web"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                               str(folder), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    yield {"url": f"http://127.0.0.1:{port}/", "predictor": Predictor.from_record(record), "tests": tests}
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture()
def page(pw, exported, tmp_path):
    why = missing_tools()
    if why:
        pytest.skip(why)
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                 args=[a for a in chromium_args(tmp_path / "none.y4m") if "fake" not in a])
    pg = browser.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(exported["url"])
    expect(pg.locator("#status")).to_have_text("Ready.", timeout=90_000)
    yield pg, requests
    browser.close()


def test_the_page_agrees_with_studio_on_every_held_back_pose_and_stays_offline(page, exported):
    pg, requests = page
    predictor = exported["predictor"]
    for path in exported["tests"]:
        pose = json.loads(path.read_text())
        got = pg.evaluate("p => window.studioPose.model.predict(p)", pose)
        want = predictor.predict(pose)
        assert got["label"] == predictor.top_of(want)[0], path
        assert max(abs(got["confidences"][k] - v) for k, v in want.items()) < 1e-4, path
    assert requests and all(u.startswith(exported["url"]) or u.startswith("blob:") or u.startswith("data:")
                            for u in requests), [u for u in requests if not u.startswith(exported["url"])]


def test_a_photo_opened_on_the_page_gets_the_pose_studio_predicts(page, exported):
    pg, _ = page
    photos = sorted((POSES / "photos").glob("*/*.jpg"))
    photos = [p for p in photos if p.parent.name in CLASSES]
    if not photos:
        pytest.skip(f"needs the pose photos in {POSES / 'photos'}")
    predictor = exported["predictor"]
    for photo in photos:
        want = predictor.top(json.loads(photo.with_suffix(".json").read_text()))[0]
        pg.set_input_files("#photo", str(photo))
        expect(pg.locator("#status")).to_have_text(f"Photo: {photo.name}")
        expect(pg.locator("#label")).to_have_text(want, timeout=60_000)
        bars = pg.locator("#bars .bar")
        expect(bars).to_have_count(len(CLASSES))
