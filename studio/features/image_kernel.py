"""Image to feature vector, driven by a small JSON-serialisable spec.

This module is self-contained on purpose (numpy, Pillow, and OpenCV for HOG only):
the exporter copies its source into the standalone ``predict.py`` so that exported
models compute exactly the features studio trained on.

Kinds: ``pixels`` (the downsampled image), ``hog`` (OpenCV's histograms of oriented
gradients), ``gist`` (Gabor filter energies pooled on a grid, after Oliva and Torralba),
``lbp`` (histograms of uniform local binary patterns on a grid) and ``combined`` (GIST, HOG,
LBP and an 8x8 colour thumbnail side by side, each described by its own part spec). The
specs themselves, with their checks and descriptions, are in ``studio.features.image``.

Its JavaScript twin is ``studio/export/templates/predict.mjs`` (loadRgb, extract, fromFramed,
hogPlane, gist, lbp): a change here is a change there, and tests/test_export_runtimes.py
checks that both give the same numbers.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SKETCH_INK = 230  # grey level below which a sketch pixel counts as ink
SKETCH_MARGIN = 0.08  # white border kept around a re-centred sketch, as a fraction of its side


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
    inked = np.minimum(np.minimum(rgb[:, :, 0], rgb[:, :, 1]), rgb[:, :, 2]) < SKETCH_INK
    rows = np.flatnonzero(inked.any(axis=1))
    cols = np.flatnonzero(inked.any(axis=0))
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
    return _resized(square, int(spec["size"]))


def _resized(square: np.ndarray, size: int) -> np.ndarray:
    if square.shape[0] == size:
        return square
    return np.asarray(Image.fromarray(np.ascontiguousarray(square)).resize((size, size), Image.Resampling.BILINEAR))


def from_framed(square: np.ndarray, spec: dict) -> np.ndarray:
    """The feature vector of a framed square, by the spec's kind (see EXTRACTORS)."""
    return EXTRACTORS[spec["kind"]](square, spec)


def _combined(square: np.ndarray, spec: dict) -> np.ndarray:
    """The parts' vectors side by side, each of the square resized to the part's own size."""
    return np.concatenate([from_framed(_resized(square, int(p["size"])), p) for p in spec["parts"]])


def _pixels(square: np.ndarray, spec: dict) -> np.ndarray:
    img = square if spec.get("color", True) else _grey(square)
    return (img.astype(np.float32) / np.float32(255.0)).ravel()


def extract(image, spec: dict, mirror: bool = False) -> np.ndarray:
    """The float32 feature vector of one image (optionally of its mirror image)."""
    square = framed(image, spec)
    if mirror:
        square = square[:, ::-1]
    return from_framed(np.ascontiguousarray(square), spec)


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
    if not spec.get("color", True):
        planes = [_grey(square)]
    elif spec.get("channels") == "max":  # OpenCV takes each pixel's strongest gradient of R, G and B
        planes = [square]
    else:
        planes = [square[:, :, i] for i in range(3)]
    return np.concatenate([hog.compute(np.ascontiguousarray(p)).ravel() for p in planes]).astype(np.float32)


_GIST_BANKS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
GIST_SIGMA = 4.0  # px: width of the Gaussian behind GIST's whitening and contrast normalisation


def _gist_filters(size: int, scales: int, orients: int) -> tuple[np.ndarray, np.ndarray]:
    """(low-pass, Gabor bank) as real, even transfer functions on ``numpy.fft.rfft2``'s grid;
    the bank in float32 (four times faster to invert than float64, and as accurate here).

    Filter (s, o) is a log-Gabor centred on 0.35 / 2**s cycles per pixel (bandwidth ratio
    1.6) and orientation pi * o / orients, symmetric under rotation by pi.
    """
    key = (size, scales, orients)
    if key not in _GIST_BANKS:
        fy = np.fft.fftfreq(size)[:, None]
        fx = np.fft.rfftfreq(size)[None, :]
        radius = np.maximum(np.hypot(fx, fy), 1e-6)
        theta = np.arctan2(fy, fx)
        lowpass = np.exp(-2.0 * (np.pi * GIST_SIGMA * radius) ** 2)
        bank = []
        for s in range(scales):
            for o in range(orients):
                turn = np.abs(np.angle(np.exp(1j * (theta - np.pi * o / orients))))
                turn = np.minimum(turn, np.pi - turn)
                bank.append(np.exp(-np.log(radius / (0.35 / 2 ** s)) ** 2 / (2 * np.log(1.6) ** 2)
                                   - turn ** 2 / (2 * (np.pi / orients / 1.2) ** 2)))
        _GIST_BANKS[key] = (lowpass, np.stack(bank).astype(np.float32))
    return _GIST_BANKS[key]


def _gist(square: np.ndarray, spec: dict) -> np.ndarray:
    """Square roots of the mean Gabor response magnitudes of the grey image, per grid cell."""
    size, grid = int(spec["size"]), int(spec["grid"])
    lowpass, bank = _gist_filters(size, int(spec["scales"]), int(spec["orients"]))

    def smooth(a: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(np.fft.rfft2(a) * lowpass, s=a.shape)

    g = np.log1p(_grey(square).astype(np.float64))
    g = g - smooth(g)
    g = g / np.sqrt(np.maximum(smooth(g * g), 0.0) + 0.01)
    spectrum = np.fft.rfft2(g).astype(np.complex64)
    response = np.abs(np.fft.irfft2(spectrum[None] * bank, s=(size, size)))
    cells = np.repeat(np.eye(grid, dtype=np.float32), size // grid, axis=1) / np.float32(size // grid)
    return np.sqrt(cells @ response @ cells.T).ravel().astype(np.float32)  # means over grid cells


def _uniform_patterns() -> np.ndarray:
    """Label of each 8-bit LBP code: 0-57 for the 58 uniform ones (at most two 0/1
    transitions around the circle), 58 for all others."""
    labels = np.full(256, 58, dtype=np.int64)
    n = 0
    for code in range(256):
        if bin(code ^ (((code << 1) | (code >> 7)) & 255)).count("1") <= 2:
            labels[code] = n
            n += 1
    return labels


_LBP_LABELS = _uniform_patterns()
_LBP_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))  # bit 0 first


def _lbp(square: np.ndarray, spec: dict) -> np.ndarray:
    """Square roots of per-cell histograms (summing to 1) of uniform LBP labels of the grey image."""
    grid = int(spec["grid"])
    g = _grey(square).astype(np.int16)
    h, w = g.shape
    centre = g[1:-1, 1:-1]
    code = np.zeros(centre.shape, dtype=np.uint8)
    for bit, (dy, dx) in enumerate(_LBP_NEIGHBOURS):
        code |= (g[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= centre).astype(np.uint8) << bit
    rows = np.searchsorted(np.linspace(0, h - 2, grid + 1).astype(int)[1:], np.arange(h - 2), side="right")
    cols = np.searchsorted(np.linspace(0, w - 2, grid + 1).astype(int)[1:], np.arange(w - 2), side="right")
    cell = rows[:, None] * grid + cols[None, :]
    hist = np.bincount((cell * 59 + _LBP_LABELS[code]).ravel(), minlength=grid * grid * 59)
    hist = hist.reshape(grid * grid, 59).astype(np.float32)
    return np.sqrt(hist / hist.sum(axis=1, keepdims=True)).ravel()


# The extractor of each feature kind; a kind added in a module of its own registers here.
EXTRACTORS = {"combined": _combined, "pixels": _pixels, "hog": _hog, "gist": _gist, "lbp": _lbp}
