"""Predictor: a trained model plus its feature spec, turning images into {label: confidence}."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import features, images, modelfile
from .errors import BadImage, StudioError
from .store import Project


class Predictor:
    """Predicts with a project's model or with an exported one (see ``studio.reopen``)."""

    def __init__(self, estimator, labels: list[str], spec: dict, info: dict | None = None):
        self.estimator = estimator
        self.labels = list(labels)
        self.spec = dict(spec)
        self.info = info or {}
        classes = [str(c) for c in getattr(estimator, "classes_", labels)]
        missing = [lb for lb in self.labels if lb not in classes]
        if missing:
            raise StudioError(f"The model does not know the label(s) {missing}; its classes are {classes}.")
        self._order = [classes.index(lb) for lb in self.labels]

    @classmethod
    def from_project(cls, project: Project) -> Predictor:
        record = modelfile.load(project.model_dir)
        return cls(record.estimator, record.labels, record.spec, record.info())

    @classmethod
    def from_record(cls, record: modelfile.ModelRecord) -> Predictor:
        return cls(record.estimator, record.labels, record.spec, record.info())

    def vector(self, image: images.ImageSource) -> np.ndarray:
        rgb = image if _is_rgb_array(image) else np.asarray(images.load(image))
        try:
            return features.extract(rgb, self.spec)
        except ValueError as e:  # e.g. an empty sketch
            raise BadImage(str(e)) from None

    def probabilities(self, batch: list) -> np.ndarray:
        """(n, classes) confidences in label order."""
        X = np.stack([self.vector(im) for im in batch])
        return self.estimator.predict_proba(X)[:, self._order]

    def predict(self, image: images.ImageSource) -> dict[str, float]:
        """{label: confidence} for one image, in class order."""
        return self.predict_batch([image])[0]

    def predict_batch(self, batch: list) -> list[dict[str, float]]:
        return [dict(zip(self.labels, map(float, row))) for row in self.probabilities(batch)]

    def top(self, image: images.ImageSource) -> tuple[str, float]:
        conf = self.predict(image)
        label = max(conf, key=conf.get)
        return label, conf[label]


def _is_rgb_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 3 and x.shape[2] == 3


def format_line(path: str | Path, label: str, confidence: float) -> str:
    """One prediction line, identical in ``studio predict`` and the exported scripts."""
    return f"{path}\t{label}\t{confidence:.4f}"
