"""Sound clip to feature vector, driven by a small JSON-serialisable spec.

This module is self-contained on purpose (numpy, scipy and the standard library only):
the exporter copies its source into the standalone ``predict.py`` of sound models so that
exported models compute exactly the features studio trained on.

The recipe (measured on spoken digits, see ``bench/sound_accuracy.py``): resample to the
spec's rate, keep the loudest ``seconds``, peak-normalise, log-mel spectrogram floored
``floor_db`` below its maximum, trimmed to the frames within ``trim_db`` of the loudest one,
then (a) MFCCs with their per-clip mean removed, stretched to ``frames`` frames, (b) their
per-coefficient spread, (c) a histogram of oriented gradients of the stretched log-mel
image (formant movements, which depend less on the speaker than absolute levels do) and
(d) the clip's level in dB. The spec, with its checks and description, is
``studio.features.sound.LogmelSpec``.

Its JavaScript twin is ``studio/export/templates/predict.mjs`` (loadWav, resamplePoly, logmel,
hog2d, extractSound): a change here is a change there, and tests/test_export_runtimes.py
checks that both give the same numbers.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

SILENCE_DB = -100.0  # the level reported for a clip of digital silence


def load_wav(file) -> tuple[np.ndarray, int]:
    """Decode a WAV file (path or file object): float32 mono samples in [-1, 1] and the sample rate."""
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks are harmless
            sr, data = wavfile.read(file)
    except (OSError, MemoryError):
        raise
    except Exception as e:  # scipy raises many kinds on damaged files; all mean "unreadable"
        raise ValueError(f"not a readable WAV file ({e.__class__.__name__}: {e})") from None
    return as_mono_float(data), int(sr)


def as_mono_float(data: np.ndarray) -> np.ndarray:
    """float32 mono in [-1, 1] from integer PCM (8/16/24/32-bit) or float samples, any channel count."""
    x = np.asarray(data)
    if x.dtype == np.uint8:
        x = (x.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(2 ** (8 * x.dtype.itemsize - 1))
    else:
        x = np.nan_to_num(x.astype(np.float32))
    if x.ndim == 2:  # (samples, channels)
        x = x.mean(axis=1)
    return np.clip(x.reshape(-1), -1.0, 1.0).astype(np.float32)


def resample(x: np.ndarray, sr: int, target: int) -> np.ndarray:
    """Polyphase resampling from ``sr`` to ``target`` Hz (float64)."""
    x = np.asarray(x, dtype=np.float64)
    if sr == target or x.size == 0:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(int(sr), int(target))
    return resample_poly(x, target // g, sr // g)


def loudest(x: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` consecutive samples with the most energy (all of ``x`` if it is shorter)."""
    if x.size <= n:
        return x
    energy = np.concatenate([[0.0], np.cumsum(x * x)])
    start = int(np.argmax(energy[n:] - energy[:-n]))
    return x[start:start + n]


def level_db(x: np.ndarray) -> tuple[float, float]:
    """(RMS, peak) in dB relative to full scale."""
    if x.size == 0 or not np.any(x):
        return SILENCE_DB, SILENCE_DB
    return (max(SILENCE_DB, 20 * math.log10(math.sqrt(float(np.mean(x * x))))),
            max(SILENCE_DB, 20 * math.log10(float(np.max(np.abs(x))))))


_MEL_CACHE: dict[tuple, np.ndarray] = {}


def mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters evenly spaced on the HTK mel scale."""
    key = (sr, n_fft, n_mels, fmin, fmax)
    if key not in _MEL_CACHE:
        def mel(f):
            return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

        edges = 700.0 * (10 ** (np.linspace(mel(fmin), mel(fmax), n_mels + 2) / 2595.0) - 1.0)
        freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
        lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        _MEL_CACHE[key] = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return _MEL_CACHE[key]


def logmel(x: np.ndarray, spec: dict) -> np.ndarray:
    """(n_mels, frames) log-mel power spectrogram in dB (Hann window, no centring pad)."""
    win, hop, n_fft = spec["win"], spec["hop"], spec["n_fft"]
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    n = 1 + (x.size - win) // hop
    frames = x[np.arange(win)[None, :] + hop * np.arange(n)[:, None]] * np.hanning(win)[None, :]
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    mel = power @ mel_filters(spec["sr"], n_fft, spec["n_mels"], spec["fmin"], spec["fmax"]).T
    return (10.0 * np.log10(np.maximum(mel, 1e-10))).T


def stretch(S: np.ndarray, frames: int) -> np.ndarray:
    """Linear interpolation of (bands, n) to (bands, frames) along time."""
    n = S.shape[1]
    pos = np.linspace(0.0, n - 1.0, frames)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    f = pos - i0
    return S[:, i0] * (1.0 - f) + S[:, i1] * f


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """The orthonormal DCT-II basis, (n_out, n_in): MFCCs are this times the log-mel bands."""
    k, i = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    m = np.sqrt(2.0 / n_in) * np.cos(np.pi * k * (2 * i + 1) / (2 * n_in))
    m[0] /= np.sqrt(2.0)
    return m


def hog2d(img: np.ndarray, cell: int, bins: int) -> np.ndarray:
    """Histogram of unsigned gradient orientations per cell, 2x2-cell blocks L2-Hys normalised."""
    gy, gx = np.zeros_like(img), np.zeros_like(img)
    gy[1:-1] = img[2:] - img[:-2]
    gx[:, 1:-1] = img[:, 2:] - img[:, :-2]
    mag = np.hypot(gx, gy)
    pos = (np.degrees(np.arctan2(gy, gx)) % 180.0) / (180.0 / bins) - 0.5
    lo = np.floor(pos).astype(int)
    w_hi = pos - lo
    rows, cols = img.shape[0] // cell, img.shape[1] // cell
    r = np.arange(rows * cell) // cell
    c = np.arange(cols * cell) // cell
    cell_index = (r[:, None] * cols + c[None, :]).ravel()
    hist = np.zeros(rows * cols * bins)
    for b, w in ((lo % bins, 1.0 - w_hi), ((lo + 1) % bins, w_hi)):
        sel = (b[:rows * cell, :cols * cell].ravel(), (mag * w)[:rows * cell, :cols * cell].ravel())
        np.add.at(hist, cell_index * bins + sel[0], sel[1])
    hist = hist.reshape(rows, cols, bins)
    blocks = []
    for i in range(rows - 1):
        for j in range(cols - 1):
            v = hist[i:i + 2, j:j + 2].ravel()
            v = np.minimum(v / np.sqrt(np.sum(v * v) + 1e-6), 0.2)
            blocks.append(v / np.sqrt(np.sum(v * v) + 1e-6))
    return np.concatenate(blocks)


def extract_clip(samples: np.ndarray, sr: int, spec: dict) -> np.ndarray:
    """The feature vector of one clip, by the spec's kind (see EXTRACTORS)."""
    return EXTRACTORS[spec.get("kind", "logmel")](samples, sr, spec)


def extract_sound(samples: np.ndarray, sr: int, spec: dict) -> np.ndarray:
    """The float32 feature vector of one clip (mono samples in [-1, 1] at ``sr`` Hz)."""
    x = resample(samples, int(sr), spec["sr"])
    if x.size == 0:
        raise ValueError("The sound clip is empty.")
    x = loudest(x - x.mean(), int(round(spec["seconds"] * spec["sr"])))
    levels = level_db(x)
    peak = np.max(np.abs(x))
    S = logmel(x / peak if peak > 0 else x, spec)
    S = np.maximum(S, S.max() - spec["floor_db"])
    loud = np.flatnonzero(S.max(axis=0) >= S.max() - spec["trim_db"])
    S = S[:, loud[0]:loud[-1] + 1]
    cep = dct_matrix(spec["mfcc"], spec["n_mels"]) @ S
    cep = cep - cep.mean(axis=1, keepdims=True)
    image = stretch(S, spec["frames"])
    parts = [stretch(cep, spec["frames"]).ravel(), cep.std(axis=1),
             hog2d(image, spec["hog_cell"], spec["hog_bins"]), np.array(levels)]
    return np.concatenate(parts).astype(np.float32)


# The extractor of each feature kind; a kind added in a module of its own registers here.
EXTRACTORS = {"logmel": extract_sound}
