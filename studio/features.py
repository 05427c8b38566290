"""Image to feature vector, driven by a small JSON-serialisable spec.

This module is self-contained on purpose (numpy, Pillow, and OpenCV for HOG only):
the exporter copies its source into the standalone ``predict.py`` so that exported
models compute exactly the features studio trained on.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FEATURE_KINDS = ("hog", "pixels")
FRAMINGS = ("crop", "sketch")
DEFAULT_SPEC = {"kind": "hog", "size": 64, "cell": 16, "bins": 9, "color": True, "framing": "crop"}
PIXELS_SPEC = {"kind": "pixels", "size": 16, "color": True, "framing": "crop"}
SKETCH_INK = 230  # grey level below which a sketch pixel counts as ink
SKETCH_MARGIN = 0.08  # white border kept around a re-centred sketch, as a fraction of its side


def make_spec(kind: str = "hog", size: int | None = None, color: bool = True,
              framing: str = "crop", cell: int | None = None) -> dict:
    """A complete spec with defaults filled in; raises ValueError on impossible settings."""
    if kind not in FEATURE_KINDS:
        raise ValueError(f"Feature kind must be one of {', '.join(FEATURE_KINDS)}; got {kind!r}.")
    if framing not in FRAMINGS:
        raise ValueError(f"Framing must be one of {', '.join(FRAMINGS)}; got {framing!r}.")
    if kind == "pixels":
        size = int(size or PIXELS_SPEC["size"])
        if not 4 <= size <= 128:
            raise ValueError(f"Pixel features need an image size from 4 to 128; got {size}.")
        return {"kind": "pixels", "size": size, "color": bool(color), "framing": framing}
    size = int(size or DEFAULT_SPEC["size"])
    cell = int(cell or DEFAULT_SPEC["cell"])
    if not (16 <= size <= 256 and 4 <= cell <= size // 2 and size % cell == 0):
        raise ValueError(
            f"HOG needs a size from 16 to 256 that is a multiple of the cell size and at least "
            f"twice it; got size {size}, cell {cell}."
        )
    return {"kind": "hog", "size": size, "cell": cell, "bins": DEFAULT_SPEC["bins"],
            "color": bool(color), "framing": framing}


def load_rgb(file) -> np.ndarray:
    """Decode an image file (path or file object) the way studio does: EXIF rotation applied,
    transparency flattened onto white, any mode converted to 8-bit RGB."""
    from PIL import ImageOps

    with Image.open(file) as img:
        img.load()
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # a broken EXIF block must not lose an otherwise good picture
            pass
        return as_rgb_array(img)


def as_rgb_array(image) -> np.ndarray:
    """A uint8 (H, W, 3) RGB array from a PIL image (any mode) or an RGB/RGBA/grey array."""
    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        elif image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.asarray(image, dtype=np.float64)
            top = 65535.0 if arr.max() > 255 else (1.0 if image.mode == "F" and arr.max() <= 1 else 255.0)
            image = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8))
        return np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2).astype(np.uint8)
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        return (arr[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return arr[:, :, :3].astype(np.uint8)


def center_square(rgb: np.ndarray) -> np.ndarray:
    """Teachable Machine's framing: the largest centred square."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return rgb[top:top + side, left:left + side]


def sketch_square(rgb: np.ndarray) -> np.ndarray:
    """MNIST-style framing: crop to the ink's bounding box, pad to a centred square on white."""
    grey = rgb.min(axis=2)
    rows = np.flatnonzero((grey < SKETCH_INK).any(axis=1))
    cols = np.flatnonzero((grey < SKETCH_INK).any(axis=0))
    if rows.size == 0:
        raise ValueError("The sketch is empty: draw something first.")
    ink = rgb[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape[:2]
    side = max(h, w)
    pad = max(1, round(side * SKETCH_MARGIN))
    out = np.full((side + 2 * pad, side + 2 * pad, 3), 255, dtype=np.uint8)
    top, left = pad + (side - h) // 2, pad + (side - w) // 2
    out[top:top + h, left:left + w] = ink
    return out


def framed(image, spec: dict) -> np.ndarray:
    """The square, resized uint8 RGB image the features are computed on."""
    rgb = as_rgb_array(image)
    square = sketch_square(rgb) if spec.get("framing") == "sketch" else center_square(rgb)
    size = int(spec["size"])
    if square.shape[0] != size:
        square = np.asarray(Image.fromarray(square).resize((size, size), Image.Resampling.BILINEAR))
    return square


def from_framed(square: np.ndarray, spec: dict) -> np.ndarray:
    if spec["kind"] == "pixels":
        img = square if spec.get("color", True) else _grey(square)
        return (img.astype(np.float32) / np.float32(255.0)).ravel()
    return _hog(square, spec)


def extract(image, spec: dict, mirror: bool = False) -> np.ndarray:
    """The float32 feature vector of one image (optionally of its mirror image)."""
    square = framed(image, spec)
    if mirror:
        square = square[:, ::-1]
    return from_framed(np.ascontiguousarray(square), spec)


def extract_many(images, spec: dict) -> np.ndarray:
    return np.stack([extract(im, spec) for im in images]).astype(np.float32)


def _grey(rgb: np.ndarray) -> np.ndarray:
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).round().astype(np.uint8)


_HOG_CACHE: dict[tuple, object] = {}


def _hog(square: np.ndarray, spec: dict) -> np.ndarray:
    import cv2  # only HOG needs OpenCV

    size, cell, bins = int(spec["size"]), int(spec["cell"]), int(spec.get("bins", 9))
    key = (size, cell, bins)
    hog = _HOG_CACHE.get(key)
    if hog is None:
        hog = cv2.HOGDescriptor((size, size), (2 * cell, 2 * cell), (cell, cell), (cell, cell), bins)
        _HOG_CACHE[key] = hog
    planes = [square[:, :, i] for i in range(3)] if spec.get("color", True) else [_grey(square)]
    return np.concatenate([hog.compute(np.ascontiguousarray(p)).ravel() for p in planes]).astype(np.float32)
