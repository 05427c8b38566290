"""Pose samples: MediaPipe's 33 body landmarks with the frame they were found in.

A stored pose is one PNG file: the frame (no larger than ``images.MAX_SIDE``) with the landmarks in
a text chunk, so one atomic write keeps the two together, thumbnails can show the skeleton, and
features can be recomputed. Poses imported as JSON, with no frame, are stored on a drawing of their
skeleton. Landmarks come from the browser (the pose page runs MediaPipe Pose); studio does not find
poses in photos itself.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from studio.errors import BadImage, BadPose, PhotoWithoutPose, TooLarge
from studio.features import pose_kernel
from studio.samples import images

CHUNK = "studio-pose"  # the PNG text chunk holding the landmarks
SUFFIX = ".png"
JSON_SUFFIX = ".json"
DRAWN_SIDE = 256  # the side of the picture a pose imported without its frame is stored on
# the lines of MediaPipe's skeleton (its POSE_CONNECTIONS)
CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)


@dataclass(frozen=True)
class Pose:
    """One pose: landmarks (33, 4) as MediaPipe gives them, the frame's size, and the frame if kept."""

    landmarks: np.ndarray
    width: int
    height: int
    frame: Image.Image | None = None

    def to_json(self) -> dict[str, Any]:
        """The landmark JSON studio imports and the exported scripts read."""
        return {"landmarks": [[round(float(v), 6) for v in row] for row in self.landmarks],
                "width": self.width, "height": self.height}


def from_data(data: Any, name: str) -> Pose:
    """A pose from a dict (``{"landmarks", "width", "height"}``, optionally ``"frame"``: image bytes
    or a ``data:`` URL) or a list of 33 rows; BadPose naming ``name`` and what is wrong."""
    try:
        lm, width, height = pose_kernel.read_pose(data)
    except (ValueError, TypeError) as e:
        raise BadPose(f"{name} is not a pose ({e}).") from None
    frame = None
    raw = data.get("frame") if isinstance(data, dict) else None
    if raw:
        if isinstance(raw, str):
            try:
                raw = base64.b64decode(raw.split(",", 1)[1] if raw.startswith("data:") else raw, validate=True)
            except ValueError:
                raise BadPose(f"{name}'s frame is not a base64 image or data: URL.") from None
        frame = images.bounded(images.load(raw, f"{name}'s frame"))
    return Pose(lm, max(1, round(width)), max(1, round(height)), frame)


def load(source: Any, name: str | None = None) -> Pose:
    """A pose from a stored PNG (a path or its bytes), a landmark JSON file, a dict or a list, or a
    Pose; BadPose if it holds none."""
    if isinstance(source, Pose):
        return source
    if isinstance(source, (dict, list)):
        return from_data(source, name or "the pose")
    label = name or (str(source) if isinstance(source, (str, Path)) else "the pose")
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == JSON_SUFFIX:
        try:
            return from_data(json.loads(Path(source).read_text(encoding="utf-8")), label)
        except FileNotFoundError:
            raise BadPose(f"{label} does not exist.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadPose(f"{label} is not landmark JSON ({e}).") from None
    if isinstance(source, (bytes, bytearray)) and bytes(source[:1]) in (b"{", b"["):
        try:
            return from_data(json.loads(bytes(source)), label)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadPose(f"{label} is not landmark JSON ({e}).") from None
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise BadPose(f"{label} does not exist.")
    try:  # images' own checked decoding: a decompression bomb is refused here too (TooLarge)
        img = images.open_checked(bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source), label)
    except TooLarge:
        raise
    except BadImage:
        raise BadPose(f"{label} is neither a stored pose nor landmark JSON.") from None
    text = getattr(img, "text", {}).get(CHUNK)
    frame = images.flatten(img)
    if text is None:
        raise PhotoWithoutPose(label)
    pose = from_data(json.loads(text), label)
    return Pose(pose.landmarks, pose.width, pose.height, frame)


def to_png(pose: Pose) -> bytes:
    """The stored file: the frame (or a drawing of the skeleton) with the landmarks in a text chunk."""
    from PIL import PngImagePlugin

    frame = pose.frame if pose.frame is not None else drawn(pose)
    info = PngImagePlugin.PngInfo()
    info.add_text(CHUNK, json.dumps(pose.to_json(), separators=(",", ":")))
    buf = io.BytesIO()
    frame.save(buf, format="PNG", compress_level=1, pnginfo=info)
    return buf.getvalue()


def drawn(pose: Pose) -> Image.Image:
    """The skeleton alone on a light square, for a pose that came without its frame."""
    side = DRAWN_SIDE
    scale = side / max(pose.width, pose.height)
    size = (max(1, round(pose.width * scale)), max(1, round(pose.height * scale)))
    return draw(Image.new("RGB", size, (245, 245, 245)), pose.landmarks)


def draw(image: Image.Image, landmarks: np.ndarray, min_visibility: float = 0.5) -> Image.Image:
    """A copy of ``image`` with the skeleton of ``landmarks`` (normalised to the image) drawn on it."""
    out = image.convert("RGB").copy()
    pen = ImageDraw.Draw(out)
    w, h = out.size
    pts = [(float(x) * w, float(y) * h) for x, y, *_ in np.asarray(landmarks)]
    seen = [float(v) >= min_visibility for *_, v in np.asarray(landmarks)]
    width = max(2, round(max(w, h) / 120))
    for a, b in CONNECTIONS:
        if seen[a] and seen[b]:
            pen.line([pts[a], pts[b]], fill=(0, 230, 118), width=width)
    for (x, y), ok in zip(pts, seen):
        if ok:
            pen.ellipse([x - width, y - width, x + width, y + width], fill=(255, 64, 129))
    return out


def marked(head: bytes) -> bool:
    """Whether a file's first bytes are a stored pose's: a PNG whose text chunk holds landmarks
    (written before the picture, so the first few kB tell)."""
    return head.startswith(b"\x89PNG") and b"tEXt" + CHUNK.encode() + b"\0" in head


def is_input(name: str) -> bool:
    """Landmark JSON files, and stored poses (PNG) from another pose project."""
    return Path(name).suffix.lower() in (JSON_SUFFIX, SUFFIX)


def check(pose: Pose, name: str) -> Pose:
    """``pose`` if its features can be computed; BadPose saying why not."""
    try:
        pose_kernel.extract_pose(pose.landmarks, pose.width, pose.height, {"depth_weight": 0.0})
    except ValueError as e:
        raise BadPose(f"{name}: {e}.") from None
    return pose
