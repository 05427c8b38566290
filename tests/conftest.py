"""Shared fixtures. Tests that need the full image sets in ../shared/data skip when they
are absent (a fresh clone has no ../shared); the small fixtures in tests/fixtures are enough
for everything else."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("STUDIO_DATA", ROOT.parent / "shared" / "data")).resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def pytest_configure(config) -> None:
    """Playwright's assertions wait 5 s by default; a page on a machine that shares its two cores
    with other work can take longer to load or to answer, so every ``expect`` waits up to 20 s
    (a test that means a shorter wait says so)."""
    try:
        from playwright.sync_api import expect
    except ImportError:  # the browser tier is skipped without Playwright
        return
    expect.set_options(timeout=20_000)


def pytest_sessionstart(session) -> None:
    (ARTIFACTS / "failures.txt").unlink(missing_ok=True)


def pytest_runtest_logreport(report) -> None:
    """Each failure's report goes to tests/artifacts/failures.txt as it happens: pytest prints
    them only at the end, and a long run stopped early (or read while running) keeps them."""
    if report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        with open(ARTIFACTS / "failures.txt", "a") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} {report.nodeid} ({report.when})\n"
                      f"{report.longreprtext}\n\n")


def data_set(name: str) -> Path:
    """The path of a set in ../shared/data, or skip the test saying why."""
    path = DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the image set {name!r} in {DATA} (../shared/data), absent in a fresh clone")
    return path


@pytest.fixture(scope="session", autouse=True)
def config_folder(tmp_path_factory):
    """One installation secret for the whole session, never the user's own: models trained in one
    test (or in a CLI or server subprocess, which inherit STUDIO_CONFIG) load in the next."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("config")
        mp.setenv("STUDIO_CONFIG", str(folder))
        yield folder


@pytest.fixture
def store(tmp_path):
    from studio.samples.store import Store

    return Store(tmp_path / "captures")


@pytest.fixture(scope="session")
def pw():
    """The session's one Playwright driver: its sync API allows only one running at a time in a
    thread, so every browser fixture and test launches Chromium from this one."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


def missing(reason: str) -> None:
    """A tool the suite needs is absent: in CI (where make test installs it) that is a failure,
    elsewhere (a bare pytest run) a skip that says why."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run every test")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory):
    """predict.mjs's packages (those of image models, a superset of sound models'), installed once
    from an export's package.json and .npmrc; link it into an export folder as node_modules."""
    from studio.export import formats

    if not (shutil.which("node") and shutil.which("npm")):
        missing("node and npm are not installed (make test installs them)")
    folder = tmp_path_factory.mktemp("npm")
    (folder / "package.json").write_text(json.dumps({"name": "t", "private": True,
                                                     "dependencies": formats.NODE_PACKAGES}))
    (folder / ".npmrc").write_text("ignore-scripts=true\n")
    out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        missing(f"npm install {' '.join(formats.NODE_PACKAGES)} failed: {out.stderr[-400:]}")
    yield folder / "node_modules"
    shutil.rmtree(folder, ignore_errors=True)
