"""Scoring a fitted model: accuracy overall and per class, confusion matrix, report."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from studio.model.metrics import ClassScore, Scores


def probabilities(estimator, X: np.ndarray, labels: list[str]) -> np.ndarray:
    """predict_proba with columns in ``labels`` order (the project's class order)."""
    proba = estimator.predict_proba(X)
    order = [list(estimator.classes_).index(lb) for lb in labels]
    return proba[:, order]


def score(estimator, X: np.ndarray, y: list[str] | np.ndarray, labels: list[str]) -> Scores:
    """Scores of ``estimator`` on ``X``/``y``; predictions are the top-confidence class."""
    return metrics(np.asarray(y, dtype=object), predicted(estimator, X), labels)


def predicted(estimator, X: np.ndarray) -> np.ndarray:
    """The top-confidence class of each row of ``X`` (the estimator's own argmax, so ties go where
    estimator.predict puts them)."""
    if len(X) == 0:
        return np.array([], dtype=object)
    return np.asarray(estimator.classes_, dtype=object)[estimator.predict_proba(X).argmax(axis=1)]


def metrics(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> Scores:
    """Scores of predictions ``pred`` against the truth ``y``, classes in ``labels`` order."""
    if len(y) == 0:
        return Scores()
    cm = confusion_matrix(y, pred, labels=labels)
    per_class = {lb: ClassScore(int(cm[i].sum()), int(cm[i, i]), float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None)
                 for i, lb in enumerate(labels)}
    present = [lb for lb in labels if per_class[lb].n or (pred == lb).any()]
    return Scores(int(len(y)), float((y == pred).mean()), per_class, cm.tolist(),
                  classification_report(y, pred, labels=present, zero_division=0), [str(p) for p in pred])


def format_confusion(labels: list[str], cm: list[list[int]]) -> str:
    """The confusion matrix as aligned text: rows are true classes, columns predicted."""
    width = max([len(lb) for lb in labels] + [6])
    head = " " * width + "  " + "  ".join(f"{lb[:width]:>{width}}" for lb in labels)
    rows = [f"{lb[:width]:>{width}}  " + "  ".join(f"{v:>{width}}" for v in row) for lb, row in zip(labels, cm)]
    title = "true \\ predicted"
    return "\n".join([title, head, *rows])
