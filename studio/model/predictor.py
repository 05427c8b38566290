"""Predictor: a trained model plus its feature spec, turning images into {label: confidence}."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.features import registry
from studio.features.spec import FeatureSpec
from studio.model import modelfile
from studio.samples.store import Project


class Predictor:
    """Predicts with a project's model or with an exported one (see ``studio.reopen``)."""

    def __init__(self, estimator, labels: list[str], spec: FeatureSpec | dict, info: dict | None = None):
        self.estimator = estimator
        self.labels = list(labels)
        self.spec = registry.from_json(spec)
        self.info = info or {}
        expects = getattr(estimator, "n_features_in_", None)
        if expects is not None and int(expects) != self.spec.vector_length:
            raise StudioError(f"The model expects {int(expects)} features per sample, but its feature spec gives "
                              f"{self.spec.vector_length}: the model and its description do not belong "
                              "together (edited, or from another studio version). Train the model again.")
        classes = [str(c) for c in getattr(estimator, "classes_", labels)]
        missing = [lb for lb in self.labels if lb not in classes]
        if missing:
            raise StudioError(f"The model does not know the label(s) {missing}; its classes are {classes}.")
        self._order = [classes.index(lb) for lb in self.labels]
        # Label indices in the estimator's own class order: ties between confidences go to the
        # class it lists first, as its predict() does (k-NN and forest votes do tie).
        self._rank = sorted(range(len(self.labels)), key=lambda i: self._order[i])

    @classmethod
    def from_project(cls, project: Project, trust: bool = False) -> Predictor:
        """The project's model; ``trust`` loads one this installation did not sign (see ``modelfile.load``)."""
        record = modelfile.load(project.model_dir, trust)
        return cls(record.estimator, record.labels, record.spec, record.info())

    @classmethod
    def from_record(cls, record: modelfile.ModelRecord) -> Predictor:
        return cls(record.estimator, record.labels, record.spec, record.info())

    def vector(self, sample) -> np.ndarray:
        """Features of an image, or of a sound (path, bytes, Clip or (rate, samples)) for sound models."""
        return self.spec.featurize(sample)

    def probabilities(self, batch: list) -> np.ndarray:
        """(n, classes) confidences in label order."""
        X = np.stack([self.vector(im) for im in batch])
        return self.estimator.predict_proba(X)[:, self._order]

    def predict(self, image: object) -> dict[str, float]:
        """{label: confidence} for one image, in class order."""
        return self.predict_batch([image])[0]

    def predict_batch(self, batch: list) -> list[dict[str, float]]:
        return [dict(zip(self.labels, map(float, row))) for row in self.probabilities(batch)]

    def best(self, proba: np.ndarray) -> np.ndarray:
        """The top class's index (in label order) of each row of ``probabilities``; equals
        ``estimator.predict`` even when confidences tie."""
        rank = np.asarray(self._rank, dtype=int)
        return rank[np.asarray(proba)[:, rank].argmax(axis=1)]

    def top_of(self, conf: dict[str, float]) -> tuple[str, float]:
        """The top (label, confidence) of a ``predict`` result, ties broken as ``best`` does."""
        label = max((self.labels[i] for i in self._rank), key=conf.__getitem__)  # first maximum
        return label, conf[label]

    def top(self, image: object) -> tuple[str, float]:
        return self.top_of(self.predict(image))


def format_line(path: str | Path, label: str, confidence: float) -> str:
    """One prediction line, identical in ``studio predict`` and the exported scripts."""
    return f"{path}\t{label}\t{confidence:.4f}"
