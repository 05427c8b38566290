"""Zip and .tm files built to escape the project, exhaust memory or confuse the importer:
each is refused or bounded, and nothing is ever written outside the project."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from PIL import Image

from studio.errors import StudioError
from studio.samples import archives, transfer


def _png(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, format="PNG")
    return buf.getvalue()


def _zip(path, entries: dict[str, bytes], symlinks: dict[str, str] | None = None):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return path


def _files_outside(root, tmp_path) -> list:
    """Every file under tmp_path that is not inside the store root or the test's inputs."""
    return [p for p in tmp_path.rglob("*") if p.is_file() and root not in p.parents and p.parent != tmp_path]


def test_traversal_absolute_and_symlink_entries_are_skipped(store, tmp_path):
    src = _zip(tmp_path / "evil.zip", {
        "cat/ok.png": _png(),
        "cat/ok2.png": _png((0, 0, 200)),
        "../../escape/cat/evil.png": _png(),
        "/abs/cat/evil.png": _png(),
        "dog/..\\..\\evil.png": _png(),
    }, symlinks={"dog/link.png": "/etc/passwd"})
    report = transfer.import_into(store, "p", src)
    assert report.added == {"cat": 2}
    reasons = dict(report.skipped)
    assert reasons["../../escape/cat/evil.png"] == "unsafe path"
    assert reasons["/abs/cat/evil.png"] == "unsafe path"
    assert reasons["dog/link.png"] == "symbolic link"
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()
    assert _files_outside(store.root, tmp_path) == []


def test_nested_zip_is_not_unpacked(store, tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("cat/a.png", _png())
    src = _zip(tmp_path / "outer.zip", {"cat/inner.zip": inner.getvalue(), "cat/b.png": _png(),
                                        "dog/c.png": _png()})
    report = transfer.import_into(store, "p", src)
    assert report.added == {"cat": 1, "dog": 1}
    assert ("cat/inner.zip", "not an image") in report.skipped


def test_zip_bomb_entry_is_skipped(store, tmp_path):
    bomb = b"\0" * (20 * 2**20)  # compresses about 1000:1
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cat/bomb.png", bomb)
        z.writestr("cat/fine.png", _png())
    report = transfer.import_into(store, "p", tmp_path / "bomb.zip")
    assert report.added == {"cat": 1}
    assert ("cat/bomb.png", "too large") in report.skipped


def test_too_many_entries_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_ENTRIES", 20)
    src = _zip(tmp_path / "many.zip", {f"cat/{i}.png": _png() for i in range(21)})
    with pytest.raises(StudioError, match="21 entries"):
        transfer.import_into(store, "p", src)
    assert store.projects() == [] or sum(store.project("p").counts().values()) == 0


@pytest.mark.parametrize("manifest, message", [
    (None, "no manifest.json"),
    (b"{not json", "broken"),
    (b"[1, 2]", "broken"),
    (json.dumps({"type": "audio"}).encode(), "'audio'"),
])
def test_tm_with_missing_or_broken_manifest(store, tmp_path, manifest, message):
    entries = {"cat-!-0.jpg": _png()}
    if manifest is not None:
        entries["manifest.json"] = manifest
    with pytest.raises(StudioError, match=message):
        transfer.import_into(store, "p", _zip(tmp_path / "x.tm", entries))
    assert store.projects() == []


def test_not_a_zip_and_missing_source(store, tmp_path):
    (tmp_path / "fake.zip").write_bytes(b"this is not a zip")
    with pytest.raises(StudioError, match="not a folder, a .zip or a .tm"):
        transfer.import_into(store, "p", tmp_path / "fake.zip")
    with pytest.raises(StudioError, match="does not exist"):
        transfer.import_into(store, "p", tmp_path / "nope")
