"""What a project kind is: everything that differs between photo, sketch, sound and pose projects,
so that no other module compares kind names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.errors import StudioError
from studio.features import registry
from studio.features.spec import FeatureSpec

DEFAULT_CLASSES = ("Class 1", "Class 2")  # a new project's classes, as in Teachable Machine
EXPORT_FORMATS = ("joblib", "skops", "onnx")  # what an export writes unless told otherwise


@dataclass(frozen=True)
class Kind:
    """One project kind. Subclasses say how samples are stored and read; instances name them."""

    name: str  # as stored in project.json and given to ``studio new --kind``
    title: str  # the choice on the page's "New project" form
    noun: str  # one sample, in messages: "image", "clip"
    nouns: str
    medium: str  # what its feature kinds read: "image", "sound" or "pose"
    default_features: str
    page: str = "/"  # the page that records its samples
    framing: str = "crop"  # how image features frame a sample
    default_classes: tuple[str, ...] = DEFAULT_CLASSES
    teachable_file: bool = False  # its projects open and save as Teachable Machine .tm files
    camera: bool = False  # its samples are recorded from the webcam (``samples.webcam``)
    copies: str = "a mirrored copy of each image"  # what ``variants`` adds with augment on, in words
    export_formats: tuple[str, ...] = EXPORT_FORMATS  # the formats the page ticks and ``studio export`` writes

    def __str__(self) -> str:
        return self.name

    # ---- samples -------------------------------------------------------------------------------
    def is_sample(self, name: str) -> bool:
        """Whether ``name`` is a stored sample of this kind (a file in a class folder)."""
        raise NotImplementedError

    def claims(self, head: bytes) -> bool:
        """Whether a file's first bytes say it is one of this kind's samples whatever its name says
        (a stored pose is a PNG, as a photo is)."""
        return False

    def is_input(self, name: str) -> bool:
        """Whether a file called ``name`` is one this kind imports (from a folder, a zip, an upload)."""
        raise NotImplementedError

    def stored(self, source: Any, name: str | None = None) -> tuple[bytes, str]:
        """``source`` decoded, checked and encoded as a stored sample: (file bytes, suffix)."""
        raise NotImplementedError

    def uploaded(self, source: Any, name: str, label: str) -> list[tuple[bytes, str]]:
        """The stored samples of one uploaded file for class ``label`` (sound: a long file is split)."""
        return [self.stored(source, name)]

    def recording(self, source: Any, name: str | None, label: str, seconds: float,
                  skip_silence: bool | None) -> list[tuple[bytes, str]]:
        """A long recording cut into stored samples; only kinds that take recordings cut them."""
        raise StudioError(f"A {self.name} project takes single {self.nouns}; only sound projects take recordings.")

    def count(self, n: int) -> str:
        """'1 image', '3 clips'."""
        return f"{n} {self.noun if n == 1 else self.nouns}"

    # ---- training --------------------------------------------------------------------------------
    def variants(self, augment: bool) -> tuple[str, ...]:
        """The training copies of each sample: plain, plus e.g. a mirror image."""
        return ("plain",)

    def feature_kinds(self) -> tuple[str, ...]:
        """The feature kinds this kind trains with, its default first."""
        others = tuple(k for k in registry.kinds_for(self.medium) if k != self.default_features)
        return (self.default_features, *others)

    def default_settings(self) -> dict:
        """The training settings a new project of this kind stores (beyond TrainSettings' defaults)."""
        return {"features": self.default_features}

    def spec(self, features: str, size: int = 0, color: bool = True) -> FeatureSpec:
        """The feature spec for these training settings; StudioError if this kind cannot use them."""
        allowed = self.feature_kinds()
        if features not in allowed:
            raise StudioError(f"A {self.name} project takes {' or '.join(allowed)} features; got {features!r}.")
        return registry.from_settings(features, size, color, self.framing)

    def accepts(self, medium: str, framing: str | None) -> bool:
        """Whether a model whose features read ``medium``, framed as ``framing`` (None for
        media without framing), was trained on this kind's samples."""
        return medium == self.medium and (framing is None or framing == self.framing)

    # ---- exports -------------------------------------------------------------------------------
    @property
    def reader(self) -> str:
        """The exported scripts' file reader: ``export/templates/reader_<reader>.txt``."""
        return self.medium

    def input_word(self) -> tuple[str, str]:
        """What the exported scripts read, as their usage line names it, and an example file name."""
        raise NotImplementedError

    def node_packages(self, pinned: dict[str, str]) -> dict[str, str]:
        """predict.mjs's npm packages for this kind, from all of them pinned."""
        return pinned

    def export_names(self, labels: list[str]) -> dict[str, Any]:
        """Teachable Machine's own metadata names for this kind, beyond "labels"."""
        return {}
