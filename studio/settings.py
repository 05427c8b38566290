"""Training settings: what the Advanced panel and the CLI flags set, stored in project.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from . import audio, features
from .errors import StudioError

MODELS = {
    "svc": "RBF support vector machine (best measured)",
    "mlp": "multi-layer perceptron (neural network)",
    "knn": "k-nearest neighbours",
    "forest": "random forest",
    "linear_svm": "linear support vector machine",
    "naive_bayes": "Gaussian naive Bayes",
    "logistic": "logistic regression",
}
ITERATIVE = {"mlp"}
# Measured per feature kind (bench/RESULTS.md): combined features want a wider RBF kernel, and
# three calibration folds keep their training time within the budget; everything else keeps
# scikit-learn's "scale" and five folds.
RECIPE_SVC = {"combined": {"gamma": 0.5, "calibration_folds": 3}}
SVC_DEFAULTS = {"gamma": 1.0, "calibration_folds": 5}


@dataclass
class TrainSettings:
    """Defaults are the best recipe measured on the four image sets (see README)."""

    model: str = "svc"
    features: str = features.DEFAULT_KIND
    size: int = 0  # 0: the feature kind's default (64, or 16 for pixels)
    color: bool = True
    augment: bool = True  # add one mirrored copy of every training image
    epochs: int = 50  # Teachable Machine's defaults: 50 / 16 / 0.001
    batch_size: int = 16
    learning_rate: float = 0.001
    hidden: int = 100
    C: float = 10.0
    k: int = 5
    test_fraction: float = 0.15
    seed: int = 0
    gamma: float = 0.0  # RBF SVC width as a multiple of scikit-learn's "scale"; 0: the features' own (RECIPE_SVC)
    calibration_folds: int = 0  # folds calibrating the SVMs' confidences; 0: the features' own (RECIPE_SVC)

    @classmethod
    def from_dict(cls, d: dict | None) -> TrainSettings:
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(d or {}) - set(known)
        if unknown:
            raise StudioError(f"Unknown training setting(s): {', '.join(sorted(unknown))}.")
        return cls(**(d or {})).checked()

    def to_dict(self) -> dict:
        return asdict(self)

    def updated(self, **changes) -> TrainSettings:
        d = self.to_dict()
        d.update({k: v for k, v in changes.items() if v is not None})
        return TrainSettings.from_dict(d)

    def checked(self) -> TrainSettings:
        """Coerce types and refuse impossible values with a message that names the setting."""
        def num(name, typ, lo, hi):
            value = getattr(self, name)
            try:
                value = typ(value)
            except (TypeError, ValueError):
                raise StudioError(f"Setting {name!r} must be a number; got {value!r}.") from None
            if not lo <= value <= hi:
                raise StudioError(f"Setting {name!r} must be between {lo} and {hi}; got {value}.")
            setattr(self, name, value)

        if self.model not in MODELS:
            raise StudioError(f"Model must be one of {', '.join(MODELS)}; got {self.model!r}.")
        if self.features not in features.FEATURE_KINDS + audio.SOUND_KINDS:
            kinds = features.FEATURE_KINDS + audio.SOUND_KINDS
            raise StudioError(f"Features must be one of {', '.join(kinds)}; got {self.features!r}.")
        num("size", int, 0, 256)
        num("epochs", int, 1, 1000)
        num("batch_size", int, 1, 4096)
        num("learning_rate", float, 1e-6, 1.0)
        num("hidden", int, 1, 4096)
        num("C", float, 1e-4, 1e6)
        num("k", int, 1, 100)
        num("test_fraction", float, 0.0, 0.5)
        num("seed", int, 0, 2**31 - 1)
        num("gamma", float, 0.0, 1000.0)
        num("calibration_folds", int, 0, 10)
        if self.calibration_folds == 1:
            raise StudioError("Setting 'calibration_folds' must be 0 (the features' own) or from 2 to 10; got 1.")
        self.color, self.augment = bool(self.color), bool(self.augment)
        return self

    def svc_option(self, name: str) -> float:
        """``gamma`` or ``calibration_folds`` as set, or the chosen features' own when 0."""
        return getattr(self, name) or RECIPE_SVC.get(self.features, SVC_DEFAULTS)[name]

    def spec(self, framing: str = "crop") -> dict:
        if self.features in audio.SOUND_KINDS:
            return audio.make_sound_spec(kind=self.features)
        try:
            return features.make_spec(self.features, self.size or None, self.color, framing)
        except ValueError as e:
            raise StudioError(str(e)) from None

    def spec_for(self, project_kind: str) -> dict:
        """The feature spec for a project of ``project_kind``: image features cannot read sounds."""
        allowed = feature_kinds(project_kind)
        if self.features not in allowed:
            raise StudioError(f"A {project_kind} project takes {' or '.join(allowed)} features; "
                              f"got {self.features!r}.")
        return self.spec("sketch" if project_kind == "sketch" else "crop")


def feature_kinds(project_kind: str) -> tuple[str, ...]:
    """The feature kinds a project of ``project_kind`` can train with, its default first."""
    return audio.SOUND_KINDS if project_kind == "sound" else features.FEATURE_KINDS


def defaults_for(project_kind: str) -> dict:
    """The settings a new project of ``project_kind`` starts with (stored in its project.json)."""
    return {"features": audio.SOUND_KINDS[0]} if project_kind == "sound" else {}
