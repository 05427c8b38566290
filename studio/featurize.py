"""One way from a sample (stored file or live input) to its feature vector, whatever the
spec's kind: image specs go to ``features``, sound specs to ``audio``. Both of those stay
self-contained because the exporter copies them into standalone scripts; this module is the
only place that knows there are two."""

from __future__ import annotations

import numpy as np

from . import audio, features, images, sounds
from .errors import BadImage, BadSound, StudioError


def is_sound(spec: dict | None) -> bool:
    return bool(spec) and spec.get("kind") in audio.SOUND_KINDS


def checked_spec(spec) -> dict:
    """``spec`` if this studio computes exactly the features it describes, else StudioError: a
    model from another studio version, or one whose model.json or metadata.json was edited, is
    refused before any image reaches it (a HOG cell of 0, say, would crash OpenCV)."""
    why = "" if isinstance(spec, dict) else "it is not a JSON object"
    if not why:
        try:
            if is_sound(spec):
                want = audio.make_sound_spec(**{k: spec[k] for k in audio.SOUND_SPEC if k in spec})
            else:
                want = features.make_spec(spec.get("kind"), spec.get("size"), spec.get("color", True),
                                          spec.get("framing", "crop"), spec.get("cell"))
            odd = sorted(k for k, v in want.items() if spec.get(k) != v)
            why = f"{', '.join(odd)} differ{'s' if len(odd) == 1 else ''} from what this studio computes" if odd else ""
        except (ValueError, TypeError) as e:
            why = str(e)
    if why:
        raise StudioError(f"The model's feature spec {spec!r} is not one this studio computes ({why}): it comes "
                          "from another studio version, or its description was edited. Train the model again.")
    return dict(spec)


def vector_length(spec: dict) -> int:
    """How many features ``spec`` gives per sample (what the model must expect)."""
    if is_sound(spec):
        n = max(1, int(spec["sr"] * spec["seconds"]))
        return len(audio.extract_sound(np.zeros(n, np.float32), int(spec["sr"]), spec))
    side = int(spec["size"])
    return len(features.extract(np.zeros((side, side, 3), np.uint8), spec))  # black: ink even for sketches


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
