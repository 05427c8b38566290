"""The sound feature kind: log-mel, MFCC and spectro-temporal HOG of a clip (``sound_kernel``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from studio.errors import BadSound, StudioError
from studio.features import sound_kernel
from studio.features.spec import FeatureSpec
from studio.samples import sounds


class SoundSpec(FeatureSpec):
    """What every sound feature kind shares: decoding clips, the speed variants, the reader's packages."""

    medium = "sound"
    kernel = sound_kernel
    sr: int
    seconds: float

    @classmethod
    def from_settings(cls, size: int, color: bool, framing: str) -> SoundSpec:
        """Sound features take no image size or colour."""
        return cls()

    def decode(self, source: Any, name: str | None = None) -> sounds.Clip:
        return sounds.load(source, name)

    def blank(self) -> sounds.Clip:
        return sounds.Clip(np.zeros(max(1, int(self.sr * self.seconds)), np.float32), self.sr)

    def unreadable(self, message: str) -> StudioError:
        return BadSound(message)

    def needs(self) -> list[str]:
        return ["numpy", "scipy"]


@dataclass(frozen=True)
class LogmelSpec(SoundSpec):
    """The recipe measured on spoken digits (``bench/sound_accuracy.py``); see ``sound_kernel``."""

    kind = "logmel"
    title = "Log-mel spectrogram"
    sr: int = 16000
    seconds: float = 1.0
    win: int = 400
    hop: int = 160
    n_fft: int = 512
    n_mels: int = 40
    fmin: float = 20.0
    fmax: float = 8000.0
    floor_db: float = 30.0
    trim_db: float = 20.0
    frames: int = 32
    mfcc: int = 13
    hog_cell: int = 8
    hog_bins: int = 9

    @classmethod
    def from_fields(cls, data):
        spec = super().from_fields(data)
        typed = {f.name: (float if f.type == "float" else int)(getattr(spec, f.name)) for f in fields(cls)}
        return cls(**typed)

    def checked(self):
        if not (8000 <= self.sr <= 48000 and 0.25 <= self.seconds <= 10):
            raise ValueError("Sound features need a sample rate from 8000 to 48000 Hz and 0.25 to 10 seconds.")
        if not (0 < self.hop <= self.win <= self.n_fft and 0 <= self.fmin < self.fmax <= self.sr / 2):
            raise ValueError("Sound features need 0 < hop <= win <= n_fft and 0 <= fmin < fmax <= sr / 2.")
        if not (2 * self.hog_cell <= min(self.n_mels, self.frames) and 1 <= self.mfcc <= self.n_mels):
            raise ValueError("Sound features need 1 <= mfcc <= n_mels and two HOG cells along each axis.")
        return self

    def vector(self, decoded: sounds.Clip, variant: str = "plain") -> np.ndarray:
        clip = sounds.augmented(decoded, variant)
        return sound_kernel.extract_sound(clip.samples, clip.sr, self.json)

    def describe(self) -> list[str]:
        frames = f"{self.frames} frames"
        return [
            "decode the WAV file to float samples in [-1, 1] (integers divided by 2^(bits-1); 8-bit: (x-128)/128); "
            "average the channels",
            f"resample to {self.sr} Hz (scipy.signal.resample_poly); subtract the mean",
            f"keep the {self.seconds:g} s with the most energy; note its RMS and peak level in dBFS (silence: -100)",
            "divide by the peak absolute sample",
            f"log-mel power spectrogram: Hann window of {self.win} samples, hop {self.hop}, FFT size {self.n_fft}, "
            f"{self.n_mels} triangular HTK-mel filters from {self.fmin:g} to {self.fmax:g} Hz, "
            "10*log10(max(power, 1e-10))",
            f"floor every value at {self.floor_db:g} dB below the maximum; keep the frames from the first to the "
            f"last whose loudest band is within {self.trim_db:g} dB of the maximum",
            f"MFCC: the first {self.mfcc} orthonormal DCT-II coefficients over the bands; subtract each "
            f"coefficient's mean over time; stretch to {frames} by linear interpolation; flatten coefficient-major",
            "append each coefficient's standard deviation over time (after the mean removal)",
            f"stretch the floored log-mel image to {frames}; append its histogram of oriented gradients: "
            f"central differences, unsigned orientation in {self.hog_bins} bins with linear vote between bins, "
            f"{self.hog_cell}x{self.hog_cell} cells, 2x2-cell blocks with stride one cell, L2-Hys (clip 0.2)",
            "append the RMS and peak level in dBFS; float32",
        ]
