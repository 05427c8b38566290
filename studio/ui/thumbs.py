"""Files made only to be shown or downloaded: small JPEG thumbnails of samples (so a class
card does not send full-size images) and zips of a class's images."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from studio.samples import images

SIZE = 96
SUFFIX = ".jpg"


def scratch(kind: str) -> Path:
    """A folder for files made only to be shown or downloaded: inside Gradio's upload folder,
    which Gradio may serve, and never inside a project."""
    base = os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio"
    path = Path(base) / f"studio-{kind}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pruned(folder: Path, max_age_s: float = 3600) -> Path:
    """``folder`` without the entries older than ``max_age_s`` (downloads made an hour ago)."""
    limit = time.time() - max_age_s
    for entry in folder.iterdir():
        if entry.stat().st_mtime >= limit:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return folder


def thumbnail(sample: Path) -> str:
    """The path of ``sample``'s thumbnail; its file name is the sample's name plus ``.jpg``,
    so a click on it names the sample again (see ``sample_name``)."""
    st = sample.stat()
    key = hashlib.sha1(f"{sample.resolve()}|{st.st_mtime_ns}|{st.st_size}".encode()).hexdigest()[:16]
    out = scratch("thumbs") / key / f"{sample.name}{SUFFIX}"
    if not out.exists():
        img = images.load(sample)
        img.thumbnail((SIZE, SIZE))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(images.to_jpeg(img, quality=80))
        os.replace(tmp, out)
    return str(out)


def sample_name(thumb_path: str) -> str:
    """The sample name behind a thumbnail path (Gradio keeps the file name when it caches it)."""
    name = Path(thumb_path).name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
