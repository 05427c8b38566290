"""Files made only to be shown or downloaded: small JPEG thumbnails of samples (so a class
card does not send full-size images; a pose's frame with its skeleton drawn on it; a crossed-out
tile for one that cannot be read) and zips of a class's images."""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from studio.errors import BadSample
from studio.samples import images, poses

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


def thumbnail(sample: Path, skeleton: bool = False) -> str:
    """The path of ``sample``'s thumbnail (with ``skeleton``, a stored pose's frame with the pose
    drawn on it); its file name is the sample's name plus ``.jpg``, so a click on it names the
    sample again (see ``sample_name``)."""
    out = _shown("pose-thumbs" if skeleton else "thumbs", sample)
    if not out.exists():
        pose = poses.load(sample) if skeleton else None
        img = pose.frame if pose is not None and pose.frame is not None else images.load(sample)
        img.thumbnail((SIZE, SIZE))
        if pose is not None:  # drawn at the thumbnail's size, so that its lines stay visible
            img = poses.draw(img, pose.landmarks)
        _write(out, images.to_jpeg(img, quality=80))
    return str(out)


def _shown(kind: str, sample: Path) -> Path:
    """Where the picture shown for this version of ``sample`` goes: named as the sample, plus ``.jpg``."""
    st = sample.stat()
    key = hashlib.sha1(f"{sample.resolve()}|{st.st_mtime_ns}|{st.st_size}".encode()).hexdigest()[:16]
    return scratch(kind) / key / f"{sample.name}{SUFFIX}"


def _write(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)


def tile(sample: Path, skeleton: bool = False) -> tuple[str, str]:
    """``sample``'s thumbnail and "", or, if it cannot be read, a crossed-out grey tile under the
    same name (so it can still be selected and removed) and why it could not be read."""
    try:
        return thumbnail(sample, skeleton), ""
    except BadSample as e:
        out = _shown("unreadable", sample)
        if not out.exists():
            _write(out, _crossed())
        return str(out), str(e)


@functools.cache
def _crossed() -> bytes:
    """A grey tile with a dark cross: a sample that could not be read."""
    img = Image.new("RGB", (SIZE, SIZE), (200, 200, 200))
    draw = ImageDraw.Draw(img)
    for line in (((8, 8), (SIZE - 8, SIZE - 8)), ((8, SIZE - 8), (SIZE - 8, 8))):
        draw.line(line, fill=(90, 90, 90), width=6)
    return images.to_jpeg(img, quality=80)


def sample_name(thumb_path: str) -> str:
    """The sample name behind a thumbnail path (Gradio keeps the file name when it caches it)."""
    name = Path(thumb_path).name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
