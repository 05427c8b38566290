"""Turning anything a user hands us (array, PIL image, path, bytes) into a safe RGB image."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from studio.errors import BadImage, TooLarge
from studio.features import image_kernel

ImageSource = np.ndarray | Image.Image | str | Path | bytes

MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression bombs)
MAX_SIDE = 1024  # images are stored no larger than this on their longer side
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def open_checked(data: bytes | Path, name: str) -> Image.Image:
    """The decoded image as its file holds it (mode, text chunks), refused above ``MAX_PIXELS``."""
    try:
        with warnings.catch_warnings():  # studio's own limit applies, whatever Pillow's is set to
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
            if img.width * img.height > MAX_PIXELS:
                raise TooLarge(
                    f"{name} is {img.width}x{img.height} pixels, larger than the "
                    f"{MAX_PIXELS:,} studio accepts; make it smaller first."
                )
            img.load()
            return img
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"{name} is too large to decode safely: more than the {MAX_PIXELS:,} pixels studio "
                       "accepts; make it smaller first.") from None
    except FileNotFoundError:
        raise BadImage(f"{name} does not exist.") from None
    except Image.UnidentifiedImageError:  # Pillow's message names the server's temporary file
        raise BadImage(f"{name} is not a readable image (not in any image format studio reads).") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadImage(f"{name} is not a readable image ({e}).") from None


def flatten(img: Image.Image) -> Image.Image:
    """RGB of any mode, exactly as the exported ``predict.py`` converts it."""
    return Image.fromarray(image_kernel.as_rgb_array(img))


def from_array(arr: np.ndarray, name: str = "array") -> Image.Image:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise BadImage(f"{name} has shape {arr.shape}; expected (H, W), (H, W, 3) or (H, W, 4).")
    if arr.size == 0:
        raise BadImage(f"{name} is empty (shape {arr.shape}).")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and float(np.nanmax(arr)) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
    return flatten(Image.fromarray(arr))


def load(source: ImageSource, name: str | None = None) -> Image.Image:
    """Decode ``source`` into an RGB PIL image (EXIF rotation applied), or raise BadImage."""
    if isinstance(source, np.ndarray):
        return from_array(source, name or "array")
    if isinstance(source, Image.Image):
        return flatten(source)
    if isinstance(source, (bytes, bytearray)):
        img = open_checked(bytes(source), name or "the uploaded data")
    elif isinstance(source, (str, Path)):
        img = open_checked(Path(source), name or str(source))
    else:
        raise BadImage(f"Cannot read an image from a {type(source).__name__}.")
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # broken EXIF must not lose an otherwise good picture
        pass
    return flatten(img)


def bounded(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Downscale so the longer side is at most ``max_side``; smaller images are kept as they are."""
    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def to_jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def has_ink(rgb: np.ndarray) -> bool:
    """Whether a drawing (RGB on white) holds a stroke: what sketch framing crops to."""
    return bool((np.asarray(rgb).min(axis=2) < image_kernel.SKETCH_INK).any())
