"""Training settings: what the Advanced panel and the CLI flags set, stored in project.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from studio.errors import StudioError
from studio.features import registry
from studio.features.image import CombinedSpec
from studio.features.spec import FeatureSpec
from studio.kinds import Kind

MODELS = {  # short, to fit a dropdown; "auto" is each feature kind's ``head``
    "auto": "automatic: what suits the features",
    "svc": "RBF support vector machine",
    "mlp": "neural network (MLP)",
    "knn": "k-nearest neighbours",
    "forest": "random forest",
    "linear_svm": "linear support vector machine",
    "naive_bayes": "Gaussian naive Bayes",
    "logistic": "logistic regression",
}
HEADS = tuple(m for m in MODELS if m != "auto")  # the estimators themselves
# What is done to the features before the model sees them: the pipeline's "scale" step, saved in
# the model and carried by every export. "standardise" is what studio always did (for features that
# bring their own scaling, pretrained ones, it leaves them as they are: FeatureSpec.standardise).
PREPROCESSING = {
    "standardise": "each feature shifted and scaled to mean 0 and variance 1 over the training samples "
                   "(pretrained features, already unit vectors, are left as they are)",
    "none": "the features exactly as computed, unscaled",
    "minmax": "each feature stretched to run from 0 to 1 over the training samples",
    "l1": "each sample's features divided by the sum of their absolute values (L1 normalise)",
    "l2": "each sample's features divided by their length, so every sample is a unit vector (L2 normalise)",
    "binarize": "each feature becomes 1 above the threshold and 0 at or below it",
}
ITERATIVE = {"mlp"}
# C 10, scikit-learn's "scale" width and five calibration folds, unless the feature kind brings
# its own (FeatureSpec.head_options, measured per kind in bench/RESULTS.md).
HEAD_DEFAULTS = {"C": 10.0, "gamma": 1.0, "calibration_folds": 5}


@dataclass
class TrainSettings:
    """Defaults are the best recipe measured on the four image sets (see README); a project
    kind's own defaults (``Kind.default_settings``) go over them."""

    model: str = "auto"  # "auto": the head that suits the features (FeatureSpec.head)
    features: str = CombinedSpec.kind
    size: int = 0  # 0: the feature kind's default (64, or 16 for pixels)
    color: bool = True
    augment: bool = True  # add one mirrored copy of every training image
    epochs: int = 50  # Teachable Machine's defaults: 50 / 16 / 0.001
    batch_size: int = 16
    learning_rate: float = 0.001
    hidden: int = 100
    C: float = 0.0  # SVMs' and logistic regression's inverse regularisation; 0: the features' own
    k: int = 5
    test_fraction: float = 0.15
    seed: int = 0
    gamma: float = 0.0  # RBF SVC width as a multiple of scikit-learn's "scale"; 0: the features' own
    calibration_folds: int = 0  # folds calibrating the SVMs' confidences; 0: the features' own
    preprocessing: str = "standardise"  # the features' scaling before the model: one of PREPROCESSING
    threshold: float = 0.0  # "binarize": features above it become 1, the rest 0

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
        if self.preprocessing not in PREPROCESSING:
            raise StudioError(f"Preprocessing must be one of {', '.join(PREPROCESSING)}; got {self.preprocessing!r}.")
        if self.features not in registry.SPECS:
            raise StudioError(f"Features must be one of {', '.join(registry.SPECS)}; got {self.features!r}.")
        num("size", int, 0, 256)
        num("epochs", int, 1, 1000)
        num("batch_size", int, 1, 4096)
        num("learning_rate", float, 1e-6, 1.0)
        num("hidden", int, 1, 4096)
        num("C", float, 0.0, 1e6)
        if 0 < self.C < 1e-4:
            raise StudioError(f"Setting 'C' must be 0 (the features' own) or at least 0.0001; got {self.C}.")
        num("k", int, 1, 100)
        num("test_fraction", float, 0.0, 0.5)
        num("seed", int, 0, 2**31 - 1)
        num("gamma", float, 0.0, 1000.0)
        num("calibration_folds", int, 0, 10)
        num("threshold", float, -1e6, 1e6)
        if self.calibration_folds == 1:
            raise StudioError("Setting 'calibration_folds' must be 0 (the features' own) or from 2 to 10; got 1.")
        self.color, self.augment = bool(self.color), bool(self.augment)
        return self

    @property
    def head(self) -> str:
        """The model trained: ``model``, or for "auto" the one that suits the features."""
        return head_of(self.model, self.features)

    def option(self, name: str) -> float:
        """``C``, ``gamma`` or ``calibration_folds`` as set, or the chosen features' own when 0."""
        return getattr(self, name) or registry.SPECS[self.features].head_options.get(name, HEAD_DEFAULTS[name])

    def spec_for(self, kind: Kind) -> FeatureSpec:
        """The feature spec for a project of ``kind``; StudioError if impossible (sound features
        for images, say, or a HOG size that is not a multiple of its cell)."""
        return kind.spec(self.features, self.size, self.color)


def head_of(model: str | None, features: str | None) -> str:
    """The model that settings with ``model`` and ``features`` train ("auto": the features' own)."""
    if model != "auto":
        return str(model)
    return registry.SPECS[features].head if features in registry.SPECS else "svc"
