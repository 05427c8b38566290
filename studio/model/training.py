"""Training a project's model: split as Teachable Machine does, fit, score, save."""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_limits

from studio.errors import TrainingError
from studio.features.cache import FeatureCache
from studio.kinds import PHOTO, Kind
from studio.model import modelfile, signing
from studio.model.estimators import make_estimator
from studio.model.evaluation import metrics, predicted, score
from studio.model.metrics import Metrics
from studio.model.settings import ITERATIVE, TrainSettings
from studio.samples.store import Project

MIN_PER_CLASS = 2
Progress = Callable[[int, int, str], None]


def split(y: list[str], fraction: float, seed: int, groups: list[str] | None = None) -> Split:
    """Stratified per-class split: ``fraction`` of each class held back, rounded, but always
    leaving at least MIN_PER_CLASS training samples per class (all of a smaller class): the
    SVMs' calibration folds need two of every class.

    ``groups`` names the capture each sample came from (a hold-to-record burst, an upload): a
    capture is held back or trained on whole, so held-back samples are never near-copies of
    training samples. A class with fewer than two captures, or whose captures cannot give a
    held-back share without taking too many, is split sample by sample (``Split.mixed``)."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y, dtype=object)
    g = np.asarray(groups if groups is not None else [str(i) for i in range(len(y))], dtype=object)
    train, test, mixed = [], [], []
    for label in dict.fromkeys(y.tolist()):
        idx = np.flatnonzero(y == label)
        n_test = max(0, min(len(idx) - MIN_PER_CLASS, int(round(fraction * len(idx)))))
        captures = list(dict.fromkeys(g[idx].tolist()))
        order = rng.permutation(len(captures))  # drawn for every class: one seed, one split
        held = _held_captures([captures[i] for i in order], g[idx], n_test) if n_test else []
        if held is None:  # too few captures: sample by sample, as if each were its own capture
            mixed.append(label)
            shuffled = idx[rng.permutation(len(idx))]
            test.extend(shuffled[:n_test].tolist())
            train.extend(shuffled[n_test:].tolist())
            continue
        chosen = np.isin(g[idx], held)
        test.extend(idx[chosen].tolist())
        train.extend(idx[~chosen].tolist())
    return Split(np.array(sorted(train), dtype=int), np.array(sorted(test), dtype=int), mixed)


def _held_captures(captures: list[str], g: np.ndarray, n_test: int) -> list[str] | None:
    """The first of ``captures`` (shuffled) whose samples add up to about ``n_test``, leaving at
    least MIN_PER_CLASS samples and one capture in training; None if no such choice exists."""
    if len(captures) < 2:
        return None
    sizes = {c: int(np.count_nonzero(g == c)) for c in captures}
    held, n = [], 0
    for c in captures:
        if n >= n_test:
            break
        if n + sizes[c] <= len(g) - MIN_PER_CLASS and (n + sizes[c] - n_test) <= (n_test - n):
            held.append(c)
            n += sizes[c]
    return held if held and len(held) < len(captures) else None


@dataclass
class Split:
    """Indices of the training and held-back samples, and the classes split sample by sample
    because they had too few captures to hold any back whole."""

    train: np.ndarray
    test: np.ndarray
    mixed: list[str] = field(default_factory=list)


@dataclass
class FitResult:
    estimator: object
    history: dict = field(default_factory=dict)
    seconds: float = 0.0


def fit(X: np.ndarray, y: np.ndarray, settings: TrainSettings, labels: list[str],
        X_mirror: np.ndarray | None = None, X_test: np.ndarray | None = None,
        y_test: np.ndarray | None = None, progress: Progress | None = None) -> FitResult:
    """Fit the settings' estimator on features ``X`` (plus augmented copies when given:
    ``X_mirror`` stacks one or more whole copies of ``X``, row for row: mirror images, or a
    slower and a faster copy of each clip). Iterative models record accuracy and loss per epoch
    on train and test data.
    """
    y = np.asarray(y, dtype=object)
    groups = np.arange(len(y))
    if X_mirror is not None and len(X_mirror):
        copies = 1 + len(X_mirror) // max(len(X), 1)
        X, y, groups = np.vstack([X, X_mirror]), np.tile(y, copies), np.tile(groups, copies)
    t0 = time.perf_counter()
    est = make_estimator(settings, y, groups, X)
    history: dict = {}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if settings.head in ITERATIVE:
            history = _fit_epochs(est, X, y, settings, labels, X_test, y_test, progress)
        else:
            est.fit(X, y)
            if progress:
                progress(1, 1, "Training")
    return FitResult(est, history, time.perf_counter() - t0)


def _fit_epochs(pipe, X, y, settings, labels, X_test, y_test, progress) -> dict:
    scaler, mlp = pipe.named_steps["scale"], pipe.named_steps["model"]
    Xs = scaler.fit_transform(X)
    Xt = scaler.transform(X_test) if X_test is not None and len(X_test) else None
    hist = {"epoch": [], "train_accuracy": [], "train_loss": [], "test_accuracy": [], "test_loss": []}
    classes = np.array(sorted(set(labels)), dtype=object)
    for epoch in range(1, settings.epochs + 1):
        mlp.partial_fit(Xs, y, classes=classes)
        hist["epoch"].append(epoch)
        for part, data, truth in (("train", Xs, y), ("test", Xt, y_test)):
            if data is None:
                continue
            proba = mlp.predict_proba(data)
            hist[f"{part}_accuracy"].append(float((mlp.classes_[proba.argmax(1)] == truth).mean()))
            hist[f"{part}_loss"].append(float(log_loss(truth, proba, labels=mlp.classes_)))
        if progress:
            progress(epoch, settings.epochs, f"Training epoch {epoch}/{settings.epochs}")
    return {k: v for k, v in hist.items() if v}


def check_counts(counts: dict[str, int], project_name: str, kind: Kind = PHOTO) -> None:
    if len(counts) < 2:
        raise TrainingError(
            f"Project {project_name!r} has {len(counts)} enabled class(es), but training needs at "
            "least 2: add or enable a class."
        )
    for label, n in counts.items():
        if n < MIN_PER_CLASS:
            raise TrainingError(
                f"Class {label!r} has {kind.count(n)}, but training needs at least "
                f"{MIN_PER_CLASS} per class: add {kind.nouns} or disable the class."
            )


# Training accuracy is measured on at most this many training images (a random sample): on all
# 8,500 of a 10,000-image project, an SVC's predictions took longer than half its fit.
TRAIN_SCORED = 1000


def train(project: Project, settings: TrainSettings | None = None,
          progress: Progress | None = None) -> modelfile.ModelRecord:
    """Train on the project's enabled classes, score the held-back images, save the model."""
    settings = (settings or TrainSettings.from_dict(project.settings())).checked()
    check_counts({c.label: c.count for c in project.classes() if c.enabled}, project.name, project.kind)
    signing.secret()  # a config folder where the secret cannot be made fails now, not after the fit
    n_fit = settings.epochs if settings.head in ITERATIVE else 1
    data = prepare(project, settings, progress, n_fit)
    samples, labels, y, vecs = data.samples, data.labels, data.y, data.vecs
    tr, te = data.split.train, data.split.test
    X = vecs["plain"]
    extra = data.augmented(tr)
    result = fit(X[tr], y[tr], settings, labels, extra,
                 X[te], y[te], progress=data.report("fit"))
    scored_te, said, rounds, rotation_s = rotate(data, settings, result.estimator)
    test = metrics(y[scored_te], said, labels)
    scored = tr if len(tr) <= TRAIN_SCORED else np.sort(np.random.default_rng(settings.seed).choice(
        tr, TRAIN_SCORED, replace=False))
    measured = Metrics(
        test=dataclasses.replace(test, samples=[f"{samples[i].path.parent.name}/{samples[i].name}"
                                                for i in scored_te]),
        train=score(result.estimator, X[scored], y[scored], labels).summary(), history=result.history,
        n_train=int(len(tr)), n_test=int(len(te)), feature_seconds=round(data.feature_seconds, 3),
        fit_seconds=round(result.seconds + rotation_s, 3), cache_hits=data.cache.hits,
        cache_misses=data.cache.misses, test_captures=len({samples[i].capture for i in scored_te}),
        mixed=data.split.mixed, skipped=data.skipped, rounds=rounds)
    record = modelfile.ModelRecord(result.estimator, labels, data.spec, settings.to_dict(), measured,
                                   project_name=project.name)
    modelfile.save(project.model_dir, record)
    return record


# A held-back figure resting on fewer recordings than this is a noisy one (a recording of a few
# faces, one of them hard, moves it by ten points): the figure is then taken over every recording,
# each held back in turn (``rotate``), in at most ROUNDS trainings, for projects of at most
# ROTATE_MAX samples (a few extra fits of a small project take a fraction of a second).
FEW_RECORDINGS = 10
ROUNDS = 5
ROTATE_MAX = 1000


def folds(data: Prepared, settings: TrainSettings) -> list[np.ndarray]:
    """The training samples dealt into folds by capture, class by class, when the split holds back
    few recordings (else no folds): with the split's held-back samples as one more fold, every
    recording is held back once (cross-validation by capture)."""
    tr, te, y = data.split.train, data.split.test, data.y
    captures = np.asarray([s.capture for s in data.samples], dtype=object)
    n_folds = min(ROUNDS - 1, round(1 / settings.test_fraction) - 1 if settings.test_fraction else 0,
                  max((len(set(captures[tr][y[tr] == lb])) for lb in data.labels), default=0))
    if (not len(te) or data.split.mixed or len(y) > ROTATE_MAX or n_folds < 2
            or len(set(captures[te])) >= FEW_RECORDINGS):
        return []
    rng = np.random.default_rng(settings.seed)
    fold_of = {}
    for lb in data.labels:
        own = list(dict.fromkeys(captures[tr][y[tr] == lb].tolist()))
        for k, i in enumerate(rng.permutation(len(own))):
            fold_of[own[i]] = k % n_folds
    fold = np.array([fold_of[c] for c in captures[tr]])
    parts = [tr[fold == k] for k in range(n_folds)]
    kept = [np.setdiff1d(np.arange(len(y)), held) for held in parts]
    if any(np.count_nonzero(y[k] == lb) < MIN_PER_CLASS for k in kept for lb in data.labels):
        return []
    return parts


def rotate(data: Prepared, settings: TrainSettings, estimator) -> tuple[np.ndarray, np.ndarray, int, float]:
    """The held-back samples and their predictions: the split's, by ``estimator`` (the model fitted
    on the split's training samples), and, when there are ``folds``, every other fold's by a model
    fitted on everything else (the split's held-back samples included). Returns (sample indices,
    predicted labels, number of trainings, seconds spent on the extra ones)."""
    te, y, X = data.split.test, data.y, data.vecs["plain"]
    rows, said = [te], [predicted(estimator, X[te])]
    t0 = time.perf_counter()
    for held in folds(data, settings):
        kept = np.setdiff1d(np.arange(len(y)), held)
        model = fit(X[kept], y[kept], settings, data.labels, data.augmented(kept)).estimator
        rows.append(held)
        said.append(predicted(model, X[held]))
    order = np.argsort(np.concatenate(rows), kind="stable")
    return np.concatenate(rows)[order], np.concatenate(said)[order], len(rows), time.perf_counter() - t0


@dataclass
class Prepared:
    """What every fit of a project needs, whatever the model: the enabled classes' readable samples,
    their features (from the cache), and the honest held-back split."""

    samples: list
    labels: list[str]
    y: np.ndarray
    vecs: dict[str, np.ndarray]  # {variant: (n, d) float32}; "plain" first, then augmented copies
    variants: tuple[str, ...]
    split: Split
    spec: object
    cache: FeatureCache
    skipped: list[str]
    feature_seconds: float
    report: Callable  # stage name ("fit") -> the progress callback of that stage, or None

    def augmented(self, rows: np.ndarray) -> np.ndarray | None:
        """The augmented copies of the samples ``rows`` (stacked variant by variant), or None."""
        if len(self.variants) <= 1:
            return None
        return np.vstack([self.vecs[v][rows] for v in self.variants[1:]])


def prepare(project: Project, settings: TrainSettings, progress: Progress | None = None,
            n_fit: int = 1) -> Prepared:
    """Read the features of the project's enabled classes (through the cache, which is saved) and
    split them as training does; ``progress`` sees the reading as the first part of a job whose
    fitting takes ``n_fit`` more steps (``Prepared.report("fit")``). TrainingError when the
    project cannot be trained."""
    classes = [c for c in project.classes() if c.enabled]
    kind = project.kind
    check_counts({c.label: c.count for c in classes}, project.name, kind)
    labels = [c.label for c in classes]
    samples = [s for c in classes for s in project.samples(c.label)]
    spec = settings.spec_for(kind)
    report = _stages(progress, n_images=len(samples), n_fit=n_fit)

    t0 = time.perf_counter()
    cache = FeatureCache(project.cache_dir, spec)
    variants = kind.variants(settings.augment and spec.copies)
    vecs, failed = cache.readable([s.path for s in samples], variants, progress=report("read"), noun=kind.noun)
    skipped = [f"{_within(project, s.path)} ({s.reason})" for c in classes for s in project.strays(c.label)]
    skipped += [f"{_within(project, samples[i].path)} ({why})" for i, why in failed.items()]
    if failed:  # train on the rest, if every class keeps enough
        samples = [s for i, s in enumerate(samples) if i not in failed]
        readable = {c.label: sum(s.label == c.label for s in samples) for c in classes}
        try:
            check_counts(readable, project.name, kind)
        except TrainingError as e:
            raise TrainingError(f"{e} Not counted, because they could not be read: {'; '.join(skipped[:10])}"
                                f"{' ...' if len(skipped) > 10 else ''}; delete or replace them.") from None
    y = np.array([s.label for s in samples], dtype=object)
    cache.save(keep=[s.path for s in project.samples()])
    feature_seconds = time.perf_counter() - t0
    parts = split(y.tolist(), settings.test_fraction, settings.seed, [s.capture for s in samples])
    return Prepared(samples, labels, y, vecs, variants, parts, spec, cache, skipped, feature_seconds, report)


def _within(project: Project, path: Path) -> str:
    """``path`` as the user finds it inside the project folder: "<class folder>/<file>"."""
    return path.relative_to(project.path).as_posix()


def _stages(progress: Progress | None, n_images: int, n_fit: int):
    """Map each stage's own (i, n) onto one overall (step, total) for the progress bar."""
    total = n_images + n_fit

    def stage(name: str) -> Progress | None:
        if progress is None:
            return None
        start, size = (0, n_images) if name == "read" else (n_images, n_fit)
        return lambda i, n, msg: progress(start + round(i * size / max(n, 1)), total, msg)
    return stage


def projection(project: Project, settings: TrainSettings | None = None) -> dict:
    """The enabled classes' samples projected to 2-D with PCA on their features."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    settings = settings or TrainSettings.from_dict(project.settings())
    spec = settings.spec_for(project.kind)
    samples = [s for c in project.classes() if c.enabled for s in project.samples(c.label)]
    vecs, failed = FeatureCache(project.cache_dir, spec).readable([s.path for s in samples])
    samples = [s for i, s in enumerate(samples) if i not in failed]  # training left them out too
    if len(samples) < 3:
        raise TrainingError(f"Add at least 3 readable {project.kind.nouns} to see your data on a map.")
    X = vecs["plain"]
    xy = PCA(n_components=2, random_state=0).fit_transform(StandardScaler().fit_transform(X))
    return {"x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "label": [s.label for s in samples],
            "sample": [s.name for s in samples]}

