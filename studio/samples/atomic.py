"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader (or a crash, or a full disk) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from studio.errors import DiskFull, disk_full

TEMP_PREFIX = ".tmp-"
STALE_SECONDS = 600.0  # a write takes well under a second: a temporary file this old is a crash's leftover


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, replacing the file if it exists."""
    _write(path, data, os.replace)


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, refusing to replace an existing file (FileExistsError)."""
    _write(path, data, os.link)


def _write(path: Path, data: bytes, publish) -> None:
    """``data`` in a synced temporary file beside ``path``, then ``publish(temporary, path)``;
    the temporary file never outlives the call. DiskFull when the disk has no room for it."""
    path = Path(path)
    with on_disk(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            publish(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def on_disk(where: Path | str) -> Iterator[None]:
    """Turn "No space left on device" inside the block into a DiskFull that names ``where`` (the
    outermost block's ``where``: the folder the user chose, not a temporary one inside it)."""
    try:
        yield
    except DiskFull:
        raise DiskFull(where) from None
    except OSError as e:
        if disk_full(e):
            raise DiskFull(where) from None
        raise


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``folder`` (its ``.lock`` file), shared by every process."""
    with open(Path(folder) / ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def sweep(root: Path, older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove the temporary files that a crash (a SIGKILL mid-write) left under ``root``: never a
    finished file, never a symbolic link, and never one young enough to be a write in progress."""
    cutoff = time.time() - older_than
    removed = []
    for folder, _dirs, names in os.walk(root):  # does not follow symbolic links
        for name in names:
            path = Path(folder) / name
            if not name.startswith(TEMP_PREFIX):
                continue
            try:
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:  # finished (renamed) or removed meanwhile
                continue
    return removed
