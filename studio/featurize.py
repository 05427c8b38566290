"""One way from a sample (stored file or live input) to its feature vector, whatever the
spec's kind: image specs go to ``features``, sound specs to ``audio``. Both of those stay
self-contained because the exporter copies them into standalone scripts; this module is the
only place that knows there are two."""

from __future__ import annotations

import numpy as np

from . import audio, features, images, sounds
from .errors import BadImage, BadSound


def is_sound(spec: dict | None) -> bool:
    return bool(spec) and spec.get("kind") in audio.SOUND_KINDS


def variants(spec: dict, augment: bool) -> tuple[str, ...]:
    """The training copies of each sample: plain, plus a mirror image or a slower and a faster clip."""
    if not augment:
        return ("plain",)
    return ("plain", *sounds.SPEEDS) if is_sound(spec) else ("plain", "mirror")


def decode(source, spec: dict, name: str | None = None):
    """A sample decoded once for all its variants: an RGB array or a sound Clip."""
    if is_sound(spec):
        return sounds.load(source, name)
    if _is_rgb_array(source):
        return source
    return np.asarray(images.load(source, name))


def vector(decoded, spec: dict, variant: str = "plain") -> np.ndarray:
    """The float32 feature vector of a decoded sample (see ``decode``); ValueError if impossible."""
    if is_sound(spec):
        clip = sounds.augmented(decoded, variant)
        return audio.extract_sound(clip.samples, clip.sr, spec)
    return features.extract(decoded, spec, mirror=(variant == "mirror"))


def featurize(source, spec: dict) -> np.ndarray:
    """The feature vector of one image or sound, as a model with ``spec`` expects it."""
    decoded = decode(source, spec)
    try:
        return vector(decoded, spec)
    except ValueError as e:  # e.g. an empty sketch or an empty clip
        raise (BadSound if is_sound(spec) else BadImage)(str(e)) from None


def _is_rgb_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3
