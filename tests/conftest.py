"""Shared fixtures. Tests that need the full image sets in ../shared/data skip when they
are absent (a fresh clone has no ../shared); the small fixtures in tests/fixtures are enough
for everything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("STUDIO_DATA", ROOT.parent / "shared" / "data")).resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def data_set(name: str) -> Path:
    """The path of a set in ../shared/data, or skip the test saying why."""
    path = DATA / name
    if not path.is_dir():
        pytest.skip(f"needs the image set {name!r} in {DATA} (../shared/data), absent in a fresh clone")
    return path


@pytest.fixture
def store(tmp_path):
    from studio.store import Store

    return Store(tmp_path / "captures")


@pytest.fixture(scope="session")
def pw():
    """The session's one Playwright driver: its sync API allows only one running at a time in a
    thread, so every browser fixture and test launches Chromium from this one."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p
