"""Project kinds, registered here and nowhere else: a new kind is a module of its own and one
line below. Everything that differs between kinds is asked of ``KINDS[project.kind]``."""

from __future__ import annotations

from collections.abc import Iterable

from studio.errors import StudioError
from studio.features import registry
from studio.features.spec import FeatureSpec
from studio.kinds.base import Kind
from studio.kinds.photo import PHOTO
from studio.kinds.pose import POSE
from studio.kinds.sketch import SKETCH
from studio.kinds.sound import SOUND

KINDS: dict[str, Kind] = {k.name: k for k in (
    PHOTO,  # the default: listed first
    SKETCH,
    SOUND,
    POSE,
)}


def kind(name: str | Kind) -> Kind:
    """The kind called ``name``; StudioError naming the kinds there are."""
    if isinstance(name, Kind):
        return name
    if name not in KINDS:
        raise StudioError(f"Project kind must be one of {', '.join(KINDS)}; got {name!r}.")
    return KINDS[name]


def kinds_of(names: Iterable[str]) -> dict[Kind, str]:
    """{kind: an example name} for the kinds whose inputs ``names`` are, each name counted for the
    first kind that takes it (so images count for photo, not sketch): an import tells from this
    which kind of project its files make, and that they are mixed when there is more than one."""
    found: dict[Kind, str] = {}
    for name in names:
        own = next((k for k in KINDS.values() if k.is_input(name)), None)
        if own is not None:
            found.setdefault(own, name)
    return found


def for_spec(spec: FeatureSpec | dict) -> Kind:
    """The kind whose samples a model with ``spec`` was trained on (a stored spec: as far as it says)."""
    if isinstance(spec, FeatureSpec):
        medium, framing = spec.medium, getattr(spec, "framing", None)
    else:
        known = registry.SPECS.get(spec.get("kind"))
        medium, framing = (known.medium if known else PHOTO.medium), spec.get("framing")
    return next((k for k in KINDS.values() if k.accepts(medium, framing)), PHOTO)


__all__ = ["KINDS", "Kind", "for_spec", "kind", "kinds_of"]
