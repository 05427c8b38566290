"""scikit-learn estimators for each model kind: plain scikit-learn objects only, so a saved
model loads anywhere scikit-learn does, with no studio installed."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Binarizer, MinMaxScaler, Normalizer, StandardScaler
from sklearn.svm import SVC, LinearSVC

from studio.errors import TrainingError
from studio.features import registry
from studio.model.settings import TrainSettings


def _calibrated(base, y: np.ndarray, groups: np.ndarray, seed: int, max_folds: int = 5):
    """Sigmoid-calibrated confidences whose top class is always the predicted class.

    Folds keep an image and its mirrored copy together (``groups``), so calibration is
    fitted on decision values of images the fold's model has not seen in any form.
    """
    if min(np.count_nonzero(y == c) for c in np.unique(y)) < 2:
        raise TrainingError("Calibrating a support vector machine's confidences needs at least 2 training "
                            "samples (images or clips) of every class: add more, or hold fewer back for testing.")
    per_class = min(np.unique(groups[y == c]).size for c in np.unique(y))
    folds = max(2, min(max_folds, per_class))
    if per_class < 2:  # a class with one distinct image: plain folds are all we can do
        cv = folds
    else:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        cv = [(tr.tolist(), te.tolist()) for tr, te in splitter.split(np.zeros(len(y)), y, groups)]
    return CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False)


def make_scaler(s: TrainSettings):
    """The pipeline's "scale" step for settings ``s`` (``s.preprocessing``): plain scikit-learn
    transformers that skops loads and skl2onnx converts. "none", and "standardise" of features
    that bring their own scaling, is a StandardScaler that changes nothing."""
    how = s.preprocessing
    if how == "standardise":
        standardise = registry.SPECS[s.features].standardise if s.features in registry.SPECS else True
        return StandardScaler(with_mean=standardise, with_std=standardise)
    if how == "none":
        return StandardScaler(with_mean=False, with_std=False)
    if how == "minmax":
        return MinMaxScaler()
    if how in ("l1", "l2"):
        return Normalizer(norm=how)
    if how == "binarize":
        return Binarizer(threshold=float(s.threshold))
    raise ValueError(f"unknown preprocessing {how!r}")


def rbf_gamma(multiple: float, X: np.ndarray | None, scaler=None) -> float | str:
    """``multiple`` times scikit-learn's "scale" gamma of ``X`` as the SVC sees it: standardised,
    or transformed by ``scaler`` (an unfitted copy is fitted here) when given."""
    if multiple == 1.0:
        return "scale"
    if X is None:
        raise ValueError("An RBF width other than 'scale' needs the training features.")
    seen = StandardScaler().fit_transform(X) if scaler is None else clone(scaler).fit_transform(X)
    return float(multiple / (X.shape[1] * max(float(np.var(seen)), 1e-12)))


def make_estimator(s: TrainSettings, y: np.ndarray, groups: np.ndarray, X: np.ndarray | None = None):
    """An unfitted pipeline (scaler + model) for settings ``s`` (``X``: the training features,
    needed for an SVC whose width is not scikit-learn's "scale")."""
    folds, C = int(s.option("calibration_folds")), s.option("C")
    head = s.head
    scaler = make_scaler(s)
    if head == "svc":
        # "standardise" keeps the width studio always used: that of the fully standardised features
        seen = None if s.preprocessing == "standardise" else scaler
        svc = SVC(C=C, kernel="rbf", gamma=rbf_gamma(s.option("gamma"), X, seen), random_state=s.seed)
        model = _calibrated(svc, y, groups, s.seed, folds)
    elif head == "linear_svm":
        model = _calibrated(LinearSVC(C=C, random_state=s.seed, max_iter=5000), y, groups, s.seed, folds)
    elif head == "mlp":
        model = MLPClassifier(hidden_layer_sizes=(s.hidden,), learning_rate_init=s.learning_rate,
                              batch_size=s.batch_size, max_iter=s.epochs, random_state=s.seed)
    elif head == "knn":
        model = KNeighborsClassifier(n_neighbors=min(s.k, len(y)))
    elif head == "forest":
        model = RandomForestClassifier(n_estimators=200, random_state=s.seed, n_jobs=1)
    elif head == "naive_bayes":
        model = GaussianNB()
    else:
        model = LogisticRegression(C=C, max_iter=max(100, s.epochs * 10), random_state=s.seed)
    return Pipeline([("scale", scaler), ("model", model)])
