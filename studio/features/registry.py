"""Every feature kind, registered here and nowhere else: a new kind is a module of its own and
one line below. Stored specs (model.json, metadata.json) are read back through ``from_json``."""

from __future__ import annotations

from typing import Any

from studio.errors import StudioError
from studio.features.image import CombinedSpec, GistSpec, HogSpec, LbpSpec, PixelsSpec
from studio.features.pose import LandmarksSpec
from studio.features.pretrained import PretrainedSpec
from studio.features.sound import LogmelSpec
from studio.features.spec import FeatureSpec, refuse
from studio.features.speech import SpeechSpec

SPECS: dict[str, type[FeatureSpec]] = {s.kind: s for s in (
    PretrainedSpec,  # the default for photos
    CombinedSpec,
    HogSpec,
    GistSpec,
    LbpSpec,
    PixelsSpec,
    SpeechSpec,  # the default for sounds
    LogmelSpec,
    LandmarksSpec,  # the only one for poses
)}
for _spec in SPECS.values():  # a kind that brings its own kernel code plugs it into its medium's kernel
    if _spec.extra_kernel:
        _spec.kernel.EXTRACTORS[_spec.kind] = _spec.extra_kernel[-1]


def kinds_for(medium: str) -> tuple[str, ...]:
    """The feature kinds that read ``medium`` ("image", "sound", "pose"), in registration order."""
    return tuple(name for name, spec in SPECS.items() if spec.medium == medium)


def from_settings(kind: str, size: int = 0, color: bool = True, framing: str = "crop") -> FeatureSpec:
    """The checked spec of feature ``kind`` for training settings; StudioError saying what is impossible."""
    if kind not in SPECS:
        raise StudioError(f"Feature kind must be one of {', '.join(SPECS)}; got {kind!r}.")
    try:
        return SPECS[kind].from_settings(size, color, framing).checked()
    except (ValueError, TypeError) as e:
        raise StudioError(str(e)) from None


def from_json(data: Any) -> FeatureSpec:
    """The spec a stored dict describes, if this studio computes exactly that; else StudioError
    (a model from another studio version, or an edited model.json, is refused before any sample
    reaches it: a HOG cell of 0, say, would crash OpenCV)."""
    if isinstance(data, FeatureSpec):
        return data
    if not isinstance(data, dict):
        raise refuse(data, "it is not a JSON object")
    if data.get("kind") not in SPECS:
        raise refuse(data, f"Feature kind must be one of {', '.join(SPECS)}; got {data.get('kind')!r}")
    try:
        spec = SPECS[data["kind"]].from_fields(data).checked()
    except (ValueError, TypeError) as e:
        raise refuse(data, str(e)) from None
    want, data = spec.to_json(), {**spec.legacy, **data}
    odd = sorted(k for k in set(want) | set(data) if data.get(k) != want.get(k))
    if odd:
        raise refuse(data, f"{', '.join(odd)} differ{'s' if len(odd) == 1 else ''} from what this studio computes")
    return spec
