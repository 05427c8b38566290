"""Image feature kinds: pixels, HOG, GIST, LBP and the combined default, each a FeatureSpec.

Every image spec frames the picture the same way (the largest centred square, or a sketch's
ink re-centred), resizes it to ``size`` and hands the square to ``image_kernel``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.errors import BadImage, StudioError
from studio.features import image_kernel
from studio.features.spec import FeatureSpec
from studio.samples import images

FRAMINGS = ("crop", "sketch")
GREY = "grey = round(0.299 R + 0.587 G + 0.114 B) in float32"


class ImageSpec(FeatureSpec):
    """What every image feature kind shares: decoding, framing, mirroring, the reader's packages."""

    medium = "image"
    kernel = image_kernel
    size: int
    framing: str | None

    @classmethod
    def from_settings(cls, size: int, color: bool, framing: str) -> ImageSpec:
        """The spec for the training settings' image size (0: this kind's default) and colour."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in super().to_json().items() if v is not None}  # parts have no framing

    def checked(self) -> ImageSpec:
        if self.framing is not None and self.framing not in FRAMINGS:
            raise ValueError(f"Framing must be one of {', '.join(FRAMINGS)}; got {self.framing!r}.")
        return self

    def decode(self, source: Any, name: str | None = None) -> np.ndarray:
        if isinstance(source, np.ndarray) and source.dtype == np.uint8 and source.ndim == 3 and source.shape[2] == 3:
            return source
        return np.asarray(images.load(source, name))

    def vector(self, decoded: np.ndarray, variant: str = "plain") -> np.ndarray:
        return image_kernel.extract(decoded, self.json, mirror=(variant == "mirror"))

    def blank(self) -> np.ndarray:
        return np.zeros((self.size, self.size, 3), np.uint8)  # black: ink even for sketches

    def unreadable(self, message: str) -> StudioError:
        return BadImage(message)

    def needs(self) -> list[str]:
        return ["numpy", "pillow", *(["opencv-python-headless"] if "hog" in self.kinds_in() else [])]

    def metadata(self) -> dict[str, Any]:
        """What metadata.json says about the framing, besides the spec itself."""
        return {"sketch_framing": {"ink_below": image_kernel.SKETCH_INK, "margin": image_kernel.SKETCH_MARGIN}}

    def describe(self) -> list[str]:
        steps = ["decode the image; apply EXIF rotation; flatten transparency onto white with Pillow's "
                 "alpha_composite; convert to 8-bit RGB"]
        if self.framing == "sketch":
            steps.append(f"crop to the bounding box of pixels whose smallest channel is below "
                         f"{image_kernel.SKETCH_INK}; pad with white to a centred square with a margin of "
                         f"round({image_kernel.SKETCH_MARGIN} * the longer side) (at least 1 px)")
        else:
            steps.append("crop the largest centred square (offsets rounded down)")
        steps.append(f"resize to {self.size}x{self.size} with Pillow's BILINEAR filter (skip if already that size)")
        return steps + self.describe_square()

    def describe_square(self) -> list[str]:
        """The framed-square-to-vector steps in words."""
        raise NotImplementedError


def _size(kind: str, size: int, grid: int) -> None:
    if not (16 <= size <= 256 and size % grid == 0):
        raise ValueError(f"{kind} needs a size from 16 to 256 that is a multiple of {grid}; got {size}.")


def _hog_size(size: int, cell: int) -> None:
    if not (16 <= size <= 256 and 4 <= cell <= size // 2 and size % cell == 0):
        raise ValueError("HOG needs a size from 16 to 256 that is a multiple of the cell size and at least "
                         f"twice it; got size {size}, cell {cell}.")


@dataclass(frozen=True)
class PixelsSpec(ImageSpec):
    kind = "pixels"
    title = "Pixels: the downsampled image"
    size: int = 16
    color: bool = True
    framing: str | None = "crop"

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(int(size or 16), bool(color), framing)

    def checked(self):
        if not 4 <= self.size <= 128:
            raise ValueError(f"Pixel features need an image size from 4 to 128; got {self.size}.")
        return super().checked()

    def describe_square(self):
        colour = "RGB, row-major, channels last" if self.color else GREY
        return [f"take the pixels as float32 / 255 ({colour}) and flatten"]


@dataclass(frozen=True)
class HogSpec(ImageSpec):
    kind = "hog"
    title = "HOG: shapes and edges"
    size: int = 64
    cell: int = 16
    bins: int = 9
    color: bool = True
    channels: str | None = None  # "max": each pixel's strongest gradient of R, G and B
    framing: str | None = "crop"

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(int(size or 64), color=bool(color), framing=framing)

    def checked(self):
        _hog_size(self.size, self.cell)
        if not 2 <= self.bins <= 36:
            raise ValueError(f"HOG needs 2 to 36 orientation bins; got {self.bins}.")
        if self.channels not in (None, "max"):
            raise ValueError(f"HOG channels must be 'max' or absent; got {self.channels!r}.")
        return super().checked()

    def describe_square(self):
        c = self.cell
        if not self.color:
            planes = f"the {GREY} image"
        elif self.channels == "max":
            planes = "the RGB image (OpenCV takes each pixel's gradient from the channel where it is strongest)"
        else:
            planes = "each of R, G, B separately, concatenated"
        return [f"OpenCV 4 HOGDescriptor(win={self.size}, block={2 * c}, stride={c}, cell={c}, "
                f"bins={self.bins}; unsigned gradients, no gamma correction, Gaussian window "
                f"sigma {c / 2:g}, L2-Hys 0.2) on {planes}; float32"]


@dataclass(frozen=True)
class GistSpec(ImageSpec):
    kind = "gist"
    title = "GIST: layout of textures"
    size: int = 64
    grid: int = 4
    scales: int = 4
    orients: int = 8
    framing: str | None = "crop"

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(int(size or 64), framing=framing)

    def checked(self):
        _size("GIST", self.size, self.grid)
        if not (1 <= self.scales <= 6 and 2 <= self.orients <= 16):
            raise ValueError(f"GIST needs 1 to 6 scales and 2 to 16 orientations; got {self.scales} and "
                             f"{self.orients}.")
        return super().checked()

    def describe_square(self):
        o = self.orients
        return [f"GIST of the grey image ({GREY}): log(1 + grey); subtract a Gaussian blur (sigma "
                f"{image_kernel.GIST_SIGMA:g} px, as a product with numpy.fft.rfft2 of the image); divide by "
                "sqrt(the same blur of its square + 0.01); filter with "
                f"{self.scales} x {o} even log-Gabor filters (centre 0.35 / 2**s cycles per pixel, "
                f"bandwidth ratio 1.6, orientation pi * o / {o}, angular sigma pi / {o} / 1.2) in the "
                f"rfft2 domain (float32); mean |response| over a {self.grid}x{self.grid} grid of cells; "
                "square root; filters in order, cells row by row"]


@dataclass(frozen=True)
class LbpSpec(ImageSpec):
    kind = "lbp"
    title = "LBP: local texture"
    size: int = 64
    grid: int = 4
    framing: str | None = "crop"

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(int(size or 64), framing=framing)

    def checked(self):
        _size("LBP", self.size, self.grid)
        return super().checked()

    def describe_square(self):
        g = self.grid
        return [f"LBP of the grey image ({GREY}): 8 neighbours (radius 1, bit 0 top-left, clockwise), "
                "a bit set when the neighbour >= the centre; the 58 uniform codes in increasing order, "
                f"all others as a 59th label; per cell of a {g}x{g} grid over the interior (edges at "
                f"int(linspace(0, side - 2, {g + 1}))), a 59-bin histogram divided by its sum; square root; "
                "cells row by row"]


THUMB_SIZE = 8  # side of the colour thumbnail in ``combined``
COMBINED_LBP_GRID = 2  # LBP cells per side in ``combined`` (a finer grid's rare patterns slow the SVC)


@dataclass(frozen=True)
class CombinedSpec(ImageSpec):
    """GIST, HOG of each pixel's strongest colour gradient (a third of the length of HOG per
    channel, as accurate in bench/accuracy.py, and the SVC trains in two thirds the time), LBP
    on a 2x2 grid and an 8x8 colour thumbnail, side by side: the best measured (bench/RESULTS.md)."""

    kind = "combined"
    title = "Combined: GIST, HOG, LBP and colour (best measured)"
    # a wider RBF kernel; three calibration folds keep the training time within the budget
    head_options = {"gamma": 0.5, "calibration_folds": 3}
    size: int = 64
    cell: int = 16
    color: bool = True
    framing: str | None = "crop"

    @classmethod
    def from_settings(cls, size, color, framing):
        return cls(int(size or 64), color=bool(color), framing=framing)

    @classmethod
    def from_fields(cls, data):
        return super().from_fields({k: v for k, v in data.items() if k != "parts"})  # parts follow from the rest

    @property
    def parts(self) -> tuple[ImageSpec, ...]:
        return (GistSpec(self.size, framing=None),
                HogSpec(self.size, self.cell, color=self.color, channels="max" if self.color else None, framing=None),
                LbpSpec(self.size, COMBINED_LBP_GRID, framing=None),
                PixelsSpec(THUMB_SIZE, self.color, framing=None))

    def to_json(self):
        return {**super().to_json(), "parts": [p.to_json() for p in self.parts]}

    def checked(self):
        _hog_size(self.size, self.cell)
        if self.size % GistSpec.grid:
            raise ValueError(f"Combined features need a size that is a multiple of {GistSpec.grid}; got {self.size}.")
        return super().checked()

    def kinds_in(self):
        return {p.kind for p in self.parts}

    def describe_square(self):
        steps = ["concatenate these float32 vectors, in this order:"]
        for part in self.parts:
            resize = "" if part.size == self.size else \
                f"resize to {part.size}x{part.size} with Pillow's BILINEAR filter, then "
            steps += [f"- {resize}{line}" for line in part.describe_square()]
        return steps
