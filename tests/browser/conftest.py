"""Fixtures of the browser tier: one studio server and one Chromium for the whole session
(starting the server takes 10-14 s here), a fake webcam video made from real photos."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from .browser_kit import Server, launch, make_y4m, missing_tools

TESTS = Path(__file__).resolve().parents[1]
PHOTOS = TESTS / "fixtures" / "rps"
ARTIFACTS = TESTS / "artifacts"
CLASSES = ("rock", "paper")  # red strip, blue strip in the video


@pytest.fixture(scope="session")
def work():
    path = Path(tempfile.mkdtemp(prefix="studio-browser-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def y4m(work) -> Path:
    why = missing_tools()
    if why:
        pytest.skip(why)
    first, second = (sorted((PHOTOS / c).iterdir())[:12] for c in CLASSES)
    return make_y4m(work / "webcam.y4m", first, second)


@pytest.fixture(scope="session")
def server(work, y4m, artifacts):
    srv = Server(work).start()
    yield srv
    srv.stop()
    (artifacts / "server.log").write_text(srv.log())


@pytest.fixture(scope="session")
def browser(pw, y4m, work):
    ctx = launch(pw, y4m, work / "profile")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
