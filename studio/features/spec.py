"""The feature spec: which numbers a model computes from a sample, as a frozen, typed value.

A spec checks itself (``checked``), describes itself in words (metadata.json and the page),
names the pip packages its exported reader needs, knows its vector length, and converts to
and from the JSON kept in model.json and metadata.json. Each feature kind is a subclass in a
module of its own, registered in ``studio.features.registry``.

The arithmetic lives in self-contained kernel modules (``image_kernel``, ``sound_kernel``)
that the exporter copies into standalone scripts; a spec hands them its JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from studio.errors import StudioError


@dataclass(frozen=True)
class FeatureSpec:
    """Base of every feature kind. Subclasses are frozen dataclasses whose fields are the
    kind's settings; ``to_json`` gives the dict the kernel reads."""

    kind: ClassVar[str]  # the name in JSON, in settings and on the command line
    title: ClassVar[str]  # what the page calls it
    medium: ClassVar[str]  # what it reads: "image" or "sound"
    kernel: ClassVar[ModuleType]  # the self-contained module the exporter copies
    # Functions outside ``kernel`` that exported scripts need (a feature kind added in a module of
    # its own brings its code); the last is its extractor, registered in the kernel's EXTRACTORS.
    extra_kernel: ClassVar[tuple[Callable, ...]] = ()
    # A feature step that is itself a network also gives its graph (``onnx_front``): model.onnx
    # then starts with it, and predict_onnx.py computes only the network's input, with these
    # functions (the last is its extractor) in place of ``extra_kernel``.
    graph_kernel: ClassVar[tuple[Callable, ...]] = ()
    head: ClassVar[str] = "svc"  # the model that suits these features (TrainSettings' "auto")
    standardise: ClassVar[bool] = True  # scale each feature to zero mean and unit variance before the model
    node: ClassVar[bool] = True  # predict.mjs (the Node.js twin of the kernels) computes it
    # whether training also reads the project kind's copies of each sample (``Kind.variants``: a mirror
    # image, a slower and a faster clip) when settings ask for them; False where they measured no help
    copies: ClassVar[bool] = True
    batch: ClassVar[int] = 1  # samples per ``vectors`` call; above 1 (a network) the cache also uses every core
    # the head's "C", and the RBF SVC's "gamma" and "calibration_folds", where they differ from the defaults
    head_options: ClassVar[dict[str, float]] = {}
    legacy: ClassVar[dict[str, Any]] = {}  # fields older model files lack, with the value they meant

    # ---- JSON -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The dict stored in model.json and metadata.json: ``kind`` first, then the fields."""
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}

    @cached_property
    def json(self) -> dict[str, Any]:
        """``to_json()`` computed once (the kernels read it for every sample)."""
        return self.to_json()

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> FeatureSpec:
        """A spec of this kind from a JSON dict's fields (``kind`` excluded); ValueError or
        TypeError when they cannot make one."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"kind"})
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        return cls(**{k: v for k, v in {**cls.legacy, **data}.items() if k in known})

    def key(self) -> str:
        """A stable text form of the spec (feature caches are keyed by it)."""
        return json.dumps(self.json, sort_keys=True)

    # ---- what a spec says about itself ------------------------------------------------------
    def checked(self) -> FeatureSpec:
        """This spec, or ValueError saying which setting is impossible and what is allowed."""
        return self

    def describe(self) -> list[str]:
        """The sample-to-vector steps in words, for programs that reimplement them."""
        raise NotImplementedError

    def needs(self) -> list[str]:
        """The pip packages the exported reader of this spec needs."""
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        """What metadata.json says about this spec's preprocessing, besides the spec itself."""
        return {}

    def export_files(self) -> dict[str, bytes]:
        """Files the exported scripts of this spec read beside them (a network's graph, say)."""
        return {}

    def node_files(self) -> dict[str, bytes]:
        """Files predict.mjs reads beside it for this spec (its features' JavaScript, say)."""
        return {}

    def notices(self) -> dict[str, bytes]:
        """Files every export of this spec carries: the licence and attribution of a network in it."""
        return {}

    def graph_input(self) -> tuple[str, list]:
        """The name and shape of ``onnx_front``'s input (for a spec with a ``graph_kernel``)."""
        raise NotImplementedError

    def onnx_front(self) -> Any | None:
        """An ONNX model from what ``graph_kernel`` computes to this spec's vector (output
        ``vector``), for the exporter to put before the classifier; None for feature code that
        only the scripts run."""
        return None

    def kinds_in(self) -> set[str]:
        """The feature kinds this spec computes (a combined spec: its parts')."""
        return {self.kind}

    @cached_property
    def vector_length(self) -> int:
        """How many numbers the spec gives per sample (what a model must expect)."""
        return len(self.vector(self.blank()))

    @property
    def kernel_path(self) -> Path:
        return Path(self.kernel.__file__)

    # ---- computing ----------------------------------------------------------------------------
    def decode(self, source: Any, name: str | None = None) -> Any:
        """A sample decoded once for all its training variants; BadImage or BadSound if unreadable."""
        raise NotImplementedError

    def vector(self, decoded: Any, variant: str = "plain") -> np.ndarray:
        """The float32 feature vector of a decoded sample (a training variant of it: see
        ``Kind.variants``); ValueError if the sample holds nothing to describe."""
        raise NotImplementedError

    def vectors(self, decoded: list[Any], variants: tuple[str, ...] = ("plain",)
                ) -> dict[str, list[np.ndarray | ValueError]]:
        """{variant: ``vector`` of each decoded sample, or the ValueError it raised}: one call for
        a batch and all its variants, which a network computes faster than one at a time."""
        out: dict[str, list[np.ndarray | ValueError]] = {v: [] for v in variants}
        for v in variants:
            for d in decoded:
                try:
                    out[v].append(self.vector(d, v))
                except ValueError as e:
                    out[v].append(e)
        return out

    def blank(self) -> Any:
        """A decoded sample of the right shape, for measuring the vector length."""
        raise NotImplementedError

    def featurize(self, source: Any) -> np.ndarray:
        """The feature vector of one image or sound, as a model with this spec expects it."""
        decoded = self.decode(source)
        try:
            return self.vector(decoded)
        except ValueError as e:  # e.g. an empty sketch or an empty clip
            raise self.unreadable(str(e)) from None

    def unreadable(self, message: str) -> StudioError:
        """The error for a sample this spec cannot describe."""
        raise NotImplementedError


def refuse(spec: object, why: str) -> StudioError:
    """The message for a stored spec this studio does not compute exactly."""
    return StudioError(f"The model's feature spec {spec!r} is not one this studio computes ({why}): it comes "
                       "from another studio version, or its description was edited. Train the model again.")
