"""Comparing recipes on a project's own data, as the course does with MNIST: every estimator (and,
if asked, every preprocessing) trained on the same cached features and scored on the same honest
held-back split, in one table; and a learning curve of the current recipe against the number of
training images per class.

Results are cached in the project's ``.cache/compare.json``, keyed by the samples (names, sizes,
times), the feature spec, the split and the full settings of each fit: a second comparison of
unchanged data fits nothing. Both functions take a ``progress(i, n, message)`` callback and a
``cancel`` check (a ``threading.Event`` or a callable returning True to stop): a cancelled run
returns what it has (``complete`` False) and keeps it in the cache, so the next run goes on from there.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import f1_score

from studio.errors import StudioError, TrainingError
from studio.model import modelfile
from studio.model.evaluation import metrics, predicted
from studio.model.metrics import Metrics, Scores
from studio.model.settings import HEADS, ITERATIVE, PREPROCESSING, TrainSettings
from studio.model.training import Prepared, Progress, fit, folds, prepare, rotate, train
from studio.samples import atomic
from studio.samples.store import Project

CACHE_FILE = "compare.json"
CACHE_FORMAT = 2  # 2: full fits scored as training scores them (each recording in turn, when few)
CURVE_SIZES = (5, 10, 20)  # training samples per class of the learning curve, besides all of them
TIMED = 20  # held-back samples predicted one at a time to measure the time per prediction
Cancel = Callable[[], bool] | threading.Event | None


@dataclass(frozen=True)
class Row:
    """One recipe fitted on the project's training samples and scored on its held-back ones."""

    model: str  # a HEADS name: "svc", "knn", ...
    preprocessing: str  # a PREPROCESSING name
    accuracy: float | None = None  # on the held-back samples; None if the fit failed
    macro_f1: float | None = None  # F1 averaged over the classes present in the held-back samples
    fit_seconds: float = 0.0
    predict_ms: float = 0.0  # one sample's prediction (the live preview's case), median, in milliseconds
    size_bytes: int = 0  # the model file as studio saves it (compressed joblib)
    recall: dict[str, float | None] = field(default_factory=dict)  # per class, on held-back samples
    current: bool = False  # the project's own model and preprocessing
    error: str = ""  # why this recipe could not be fitted on this data

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Row:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Comparison:
    """The rows of one comparison, best first (accuracy, then macro F1, then the faster fit;
    rows that failed last)."""

    rows: list[Row]
    model: str  # the project's current model (a HEADS name) and preprocessing
    preprocessing: str
    n_train: int
    n_test: int
    held_back: str  # what the figures rest on, in words (Metrics.held_back)
    fitted: int = 0  # recipes fitted by this call; the others came from the cache
    complete: bool = True  # False when cancelled: ``rows`` holds the recipes done so far

    @property
    def best(self) -> Row | None:
        return next((r for r in self.rows if r.error == ""), None)

    def row(self, model: str, preprocessing: str | None = None) -> Row | None:
        """The best row of ``model`` (with ``preprocessing``, if given)."""
        return next((r for r in self.rows if r.model == model and not r.error
                     and preprocessing in (None, r.preprocessing)), None)

    def to_json(self) -> dict:
        return {"model": self.model, "preprocessing": self.preprocessing, "n_train": self.n_train,
                "n_test": self.n_test, "held_back": self.held_back, "fitted": self.fitted,
                "complete": self.complete, "rows": [r.to_json() for r in self.rows]}


@dataclass(frozen=True)
class CurvePoint:
    per_class: int | None  # training samples per class (at most); None: all of them
    n_train: int  # training samples used (augmented copies not counted)
    accuracy: float | None
    macro_f1: float | None
    error: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class LearningCurve:
    """Held-back accuracy of the current recipe against training samples per class, and which
    class would gain most from more samples (the lowest recall on held-back samples)."""

    model: str
    preprocessing: str
    points: list[CurvePoint]  # growing per_class, the last one all training samples
    recall: dict[str, float | None]  # per class, of the model trained on all training samples
    weakest: str | None  # the class with the lowest recall
    advice: str  # one sentence naming it
    n_test: int
    held_back: str
    complete: bool = True

    def to_json(self) -> dict:
        return {"model": self.model, "preprocessing": self.preprocessing,
                "points": [p.to_json() for p in self.points], "recall": self.recall, "weakest": self.weakest,
                "advice": self.advice, "n_test": self.n_test, "held_back": self.held_back,
                "complete": self.complete}


class _Stop(Exception):
    """Raised inside a fit's progress callback when the caller cancelled."""


def _cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def _chosen(names: Iterable[str], allowed: Iterable[str], what: str, extra: str = "") -> list[str]:
    """``names`` stripped, each once, in order; StudioError naming the choices for an unknown one
    or for none at all (``what``: "model", "preprocessing"; ``extra``: a further choice, ", or all")."""
    allowed = list(allowed)
    out: list[str] = []
    for name in (n.strip() for n in names):
        if name not in allowed:
            raise StudioError(f"Unknown {what} {name!r}: choose from {', '.join(allowed)}{extra}.")
        if name not in out:
            out.append(name)
    if not out:
        raise StudioError(f"Name at least one {what}: {', '.join(allowed)}{extra}.")
    return out


def models_named(names: Iterable[str] | None) -> list[str]:
    """HEADS names for ``names`` (None: all of them; "auto" is not a model of its own here);
    StudioError naming the choices for an unknown one."""
    return list(HEADS) if names is None else _chosen(names, HEADS, "model")


def preprocessing_named(names: Iterable[str] | None, current: str) -> list[str]:
    """PREPROCESSING names for ``names`` (None: ``current`` only; "all": every one)."""
    if names is None:
        return [current]
    names = [n.strip() for n in names]
    if names == ["all"]:
        return list(PREPROCESSING)
    return _chosen(names, PREPROCESSING, "preprocessing", ", or all")


def compare(project: Project, models: Iterable[str] | None = None, preprocessing: Iterable[str] | None = None,
            settings: TrainSettings | None = None, progress: Progress | None = None,
            cancel: Cancel = None) -> Comparison:
    """Fit each of ``models`` (HEADS names; None: all seven) with each of ``preprocessing``
    (PREPROCESSING names; None: the settings' own) and otherwise ``settings`` (None: the
    project's), on the same features and held-back split as ``studio train``; nothing is saved
    but the cache. TrainingError when the project cannot be trained or holds nothing back."""
    settings = (settings or TrainSettings.from_dict(project.settings())).checked()
    heads, preps = models_named(models), preprocessing_named(preprocessing, settings.preprocessing)
    recipes = [(m, p) for p in preps for m in heads]
    data = _prepared(project, settings, progress, len(recipes))
    cache = _Cache(project, data)
    current = (settings.head, settings.preprocessing)
    rows, fitted, complete = [], 0, True
    report = data.report("fit")
    for j, (model, prep) in enumerate(recipes):
        if _cancelled(cancel):
            complete = False
            break
        s = settings.updated(model=model, preprocessing=prep)
        row = cache.get(s, None)
        if row is None:
            if report:
                report(j, len(recipes), f"Fitting {model} ({prep}) {j + 1}/{len(recipes)}")
            try:
                row = _fit_row(data, s, _within(report, j, len(recipes), f"{model} ({prep})", cancel))
            except _Stop:
                complete = False
                break
            fitted += 1
            cache.put(s, None, row.to_json())
        rows.append(Row.from_json({**row.to_json(), "current": (model, prep) == current}))
    if report and complete:
        report(len(recipes), len(recipes), "Compared")
    rows.sort(key=lambda r: (bool(r.error), -(r.accuracy or 0.0), -(r.macro_f1 or 0.0), r.fit_seconds))
    return Comparison(rows, current[0], current[1], int(len(data.split.train)), int(len(data.split.test)),
                      _held_back(data, project, settings), fitted, complete)


def use(project: Project, model: str, preprocessing: str | None = None, threshold: float | None = None,
        settings: TrainSettings | None = None, progress: Progress | None = None) -> modelfile.ModelRecord:
    """Keep ``model`` (with ``preprocessing``, if given) as the project's model: remember it in the
    project's settings (``settings`` if given, else the project's) and train and save it as
    ``studio train`` does (the features come from the cache; the fit is the one compared)."""
    model = models_named([model])[0]
    if preprocessing is not None:
        preprocessing = preprocessing_named([preprocessing], "")[0]
    base = settings or TrainSettings.from_dict(project.settings())
    chosen = base.updated(model=model, preprocessing=preprocessing, threshold=threshold)
    chosen.spec_for(project.kind)
    project.set_settings(chosen.to_dict())
    return train(project, chosen, progress)


def learning_curve(project: Project, settings: TrainSettings | None = None, sizes: Iterable[int] = CURVE_SIZES,
                   progress: Progress | None = None, cancel: Cancel = None) -> LearningCurve:
    """Held-back accuracy of the recipe of ``settings`` (None: the project's) trained on at most
    each of ``sizes`` samples per class (only the sizes below the largest class's training
    samples), and on all of them; always the same held-back samples. The subsets are drawn with
    the settings' seed."""
    settings = (settings or TrainSettings.from_dict(project.settings())).checked()
    s = settings.updated(model=settings.head)
    wanted = sorted({int(n) for n in sizes if int(n) >= 2})
    data = _prepared(project, s, progress, len(wanted) + 1)
    tr = data.split.train
    per_class = {lb: tr[data.y[tr] == lb] for lb in data.labels}
    largest = max(len(v) for v in per_class.values())
    steps: list[int | None] = [n for n in wanted if n < largest] + [None]  # only the sizes the project has
    cache = _Cache(project, data)
    report = data.report("fit")
    points, complete, full = [], True, None
    for j, n in enumerate(steps):
        if _cancelled(cancel):
            complete = False
            break
        if report:
            report(j, len(steps), f"Training on {'all' if n is None else n} per class {j + 1}/{len(steps)}")
        found = cache.get(s, n)
        if found is None:
            rows = tr if n is None else np.sort(np.concatenate([_subset(v, n, s.seed) for v in per_class.values()]))
            try:
                found = _fit_row(data, s, _within(report, j, len(steps), f"{n or 'all'} per class", cancel), rows)
            except _Stop:
                complete = False
                break
            cache.put(s, n, found.to_json())
        n_train = len(tr) if n is None else sum(min(n, len(v)) for v in per_class.values())
        points.append(CurvePoint(n, int(n_train), found.accuracy, found.macro_f1, found.error))
        if n is None:
            full = found
    if report and complete:
        report(len(steps), len(steps), "Learning curve done")
    recall = dict(full.recall) if full else {}
    weakest, advice = _advice(recall, data, project)
    return LearningCurve(s.head, s.preprocessing, points, recall, weakest, advice, int(len(data.split.test)),
                         _held_back(data, project), complete)


# ---- the work ------------------------------------------------------------------------------------
def _prepared(project: Project, settings: TrainSettings, progress: Progress | None, n_fit: int) -> Prepared:
    data = prepare(project, settings, progress, n_fit)
    if not len(data.split.test):
        raise TrainingError(f"Comparing needs held-back {project.kind.nouns}, but none are held back: set the "
                            f"test fraction above 0 (now {settings.test_fraction}) or add {project.kind.nouns}.")
    return data


def _within(report: Progress | None, j: int, n: int, what: str, cancel: Cancel) -> Progress:
    """The progress of one fit (an MLP's epochs) as part of the ``j``-th of ``n``; raises _Stop
    when cancelled, so that a long MLP stops between two epochs."""
    def step(i: int, total: int, message: str) -> None:
        if _cancelled(cancel):
            raise _Stop
        if report:
            report(j * 100 + round(100 * i / max(total, 1)), n * 100, f"Fitting {what}: {message.lower()}")
    return step


def _subset(rows: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` of ``rows`` (all if fewer), drawn with ``seed``."""
    if len(rows) <= n:
        return rows
    return rows[np.random.default_rng(seed).permutation(len(rows))[:n]]


def _fit_row(data: Prepared, s: TrainSettings, progress: Progress, rows: np.ndarray | None = None) -> Row:
    """Fit the recipe of ``s`` on the training samples ``rows`` (None: all), score it on the held-back ones."""
    tr = data.split.train if rows is None else rows
    te = data.split.test
    X, y = data.vecs["plain"], data.y
    try:
        result = fit(X[tr], y[tr], s, data.labels, data.augmented(tr), X[te], y[te],
                     progress=progress if s.head in ITERATIVE else None)
    except _Stop:
        raise
    except (StudioError, ValueError, ArithmeticError) as e:  # e.g. too few samples to calibrate an SVM
        return Row(s.head, s.preprocessing, error=str(e))
    est = result.estimator
    held, said = rotate(data, s, est)[:2] if rows is None else (te, predicted(est, X[te]))  # as training scores it
    scores = metrics(y[held], said, data.labels)
    present = [lb for lb in data.labels if lb in set(y[held]) or lb in set(scores.predicted)]
    f1 = float(f1_score(y[held], said, labels=present, average="macro", zero_division=0))
    times = []
    for i in te[:TIMED]:
        t0 = time.perf_counter()
        est.predict_proba(X[i:i + 1])
        times.append(time.perf_counter() - t0)
    recall = {lb: pc.accuracy for lb, pc in scores.per_class.items()}
    return Row(s.head, s.preprocessing, scores.accuracy, f1, round(result.seconds, 4),
               round(1000 * float(np.median(times)), 4), len(modelfile.dumps(est)), recall)


def _held_back(data: Prepared, project: Project, settings: TrainSettings | None = None) -> str:
    """What the figures rest on, in words, as ``studio train`` says it: with ``settings``, every
    recording held back in turn when the split holds back few (``training.folds``)."""
    parts = folds(data, settings) if settings is not None else []
    te = np.concatenate([data.split.test, *parts])
    m = Metrics(test=Scores(n=int(len(te))), n_test=int(len(data.split.test)),
                test_captures=len({data.samples[i].capture for i in te}), mixed=data.split.mixed,
                rounds=1 + len(parts))
    return m.held_back(project.kind.noun, project.kind.nouns)


def _advice(recall: dict[str, float | None], data: Prepared, project: Project) -> tuple[str | None, str]:
    nouns = project.kind.nouns
    scored = [(r, lb) for lb, r in recall.items() if r is not None]
    if not scored:
        return None, f"Add {nouns} to every class so that some are held back to test on."
    low, weakest = min(scored)
    n = int(np.count_nonzero(data.y[data.split.test] == weakest))
    if low >= 1.0:
        return weakest, (f"Every held-back {project.kind.noun} was recognised; more {nouns} would help most "
                         f"where the live preview hesitates.")
    return weakest, (f"{weakest!r} would gain most from more {nouns}: the model recognised "
                     f"{round(low * n)} of its {n} held-back {nouns} ({low:.0%}), the fewest of any class.")


# ---- the cache -----------------------------------------------------------------------------------
class _Cache:
    """Rows already fitted on exactly this data, in ``.cache/compare.json``: one entry per
    (settings, samples per class); a change of samples, features or split starts it afresh."""

    def __init__(self, project: Project, data: Prepared):
        self.path = project.cache_dir / CACHE_FILE
        self.data_key = _data_key(data)
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
            ok = stored.get("format") == CACHE_FORMAT and stored.get("data") == self.data_key
            self.rows: dict[str, dict] = dict(stored.get("rows") or {}) if ok else {}
        except (OSError, ValueError, AttributeError):
            self.rows = {}  # missing or damaged: refitted

    @staticmethod
    def key(s: TrainSettings, per_class: int | None) -> str:
        text = json.dumps({"settings": s.to_dict(), "per_class": per_class}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def get(self, s: TrainSettings, per_class: int | None) -> Row | None:
        found = self.rows.get(self.key(s, per_class))
        try:
            return Row.from_json(found) if isinstance(found, dict) else None
        except TypeError:
            return None

    def put(self, s: TrainSettings, per_class: int | None, row: dict) -> None:
        self.rows[self.key(s, per_class)] = {**row, "current": False}
        try:
            atomic.write_json(self.path, {"format": CACHE_FORMAT, "data": self.data_key, "rows": self.rows})
        except OSError:
            pass  # a cache that cannot be written costs time, never the result


def _data_key(data: Prepared) -> str:
    """What every row rests on: the samples (class, file, size, time), the feature spec, the split."""
    files = []
    for s in data.samples:
        st = s.path.stat()
        files.append(f"{s.label}|{s.path.parent.name}/{s.path.name}|{st.st_size}|{st.st_mtime_ns}")
    text = json.dumps({"spec": data.spec.key(), "labels": data.labels, "files": files, "variants": data.variants,
                       "train": data.split.train.tolist(), "test": data.split.test.tolist()})
    return hashlib.sha256(text.encode()).hexdigest()

