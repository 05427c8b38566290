"""What training measured, as typed values: the held-back and training scores, the MLP's
history, timings and the feature cache's use. Stored in model.json and metadata.json as JSON
(``to_json`` / ``from_json``; the layout is unchanged from the dicts older versions wrote)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class ClassScore:
    """One class's held-back (or training) images: how many, how many right, their share."""

    n: int = 0
    correct: int = 0
    accuracy: float | None = None  # None when the class had no images here


@dataclass(frozen=True)
class Scores:
    """A model scored on some labelled samples."""

    n: int = 0
    accuracy: float | None = None  # None when there were no samples
    per_class: dict[str, ClassScore] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted
    report: str = ""  # scikit-learn's classification report
    predicted: list[str] = field(default_factory=list)  # the predicted label of each sample
    samples: list[str] = field(default_factory=list)  # "<class folder>/<file>" of each held-back sample

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> Scores:
        data = data or {}
        known = {f.name for f in fields(cls)}
        per_class = {lb: ClassScore(**pc) for lb, pc in (data.get("per_class") or {}).items()}
        return cls(**{k: v for k, v in data.items() if k in known and k != "per_class"}, per_class=per_class)

    def summary(self) -> Scores:
        """Only the counts and accuracies (what is kept of the training images' scores)."""
        return Scores(self.n, self.accuracy, self.per_class)

    def weakest(self) -> str | None:
        """The class with the lowest accuracy here (the one more images would help most)."""
        scored = [(pc.accuracy, lb) for lb, pc in self.per_class.items() if pc.accuracy is not None]
        return min(scored)[1] if scored else None


@dataclass(frozen=True)
class Metrics:
    """Everything one training run measured."""

    test: Scores = field(default_factory=Scores)  # on the held-back samples
    train: Scores = field(default_factory=Scores)  # on (a sample of) the training samples: n, accuracy, per class
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch (MLP): epoch, train_accuracy, ...
    n_train: int = 0
    n_test: int = 0
    feature_seconds: float = 0.0
    fit_seconds: float = 0.0
    cache_hits: int = 0  # samples whose features came from the cache
    cache_misses: int = 0  # samples decoded and described afresh
    test_captures: int = 0  # captures (bursts, uploads) the held-back samples came from, none trained on
    mixed: list[str] = field(default_factory=list)  # classes held back frame by frame (too few captures)
    skipped: list[str] = field(default_factory=list)  # "<class folder>/<file> (why)": left out, unreadable
    rounds: int = 1  # trainings whose held-back samples make up ``test`` (more: each recording held back in turn)

    @property
    def seconds(self) -> float:
        return self.feature_seconds + self.fit_seconds

    @property
    def cache(self) -> tuple[int, int]:
        """(hits, misses) of the feature cache."""
        return self.cache_hits, self.cache_misses

    def to_json(self) -> dict[str, Any]:
        train = self.train.to_json()
        return {"test": self.test.to_json(), "train": {k: train[k] for k in ("n", "accuracy", "per_class")},
                "history": self.history, "n_train": self.n_train, "n_test": self.n_test,
                "feature_seconds": self.feature_seconds, "fit_seconds": self.fit_seconds,
                "cache": {"hits": self.cache_hits, "misses": self.cache_misses},
                "test_captures": self.test_captures, "mixed": self.mixed, "skipped": self.skipped,
                "rounds": self.rounds}

    @classmethod
    def from_json(cls, data: dict | None) -> Metrics:
        data = data or {}
        cache = data.get("cache") or {}
        return cls(Scores.from_json(data.get("test")), Scores.from_json(data.get("train")),
                   dict(data.get("history") or {}), int(data.get("n_train", 0)), int(data.get("n_test", 0)),
                   float(data.get("feature_seconds", 0.0)), float(data.get("fit_seconds", 0.0)),
                   int(cache.get("hits", 0)), int(cache.get("misses", 0)),
                   int(data.get("test_captures", data.get("n_test", 0))), list(data.get("mixed") or []),
                   list(data.get("skipped") or []), int(data.get("rounds", 1)))

    def held_back(self, noun: str, nouns: str) -> str:
        """What the held-back figure rests on, in words: "36 held-back images from 4 recordings
        that training never saw", how (each recording held back in turn, when ``rounds`` > 1),
        and which classes it flatters (held back frame by frame)."""
        n, k = self.test.n, self.test_captures
        text = f"{n} held-back {noun if n == 1 else nouns}"
        if 0 < k < n:
            text += f" from {k} recording{'s' if k != 1 else ''} that training never saw"
        if self.rounds > 1:
            text += f" ({'each recording' if 0 < k < n else 'each'} held back in turn, in {self.rounds} trainings)"
        if self.mixed:
            names = ", ".join(repr(m) for m in self.mixed)
            text += (f" ({names}: recorded in one go, so some held-back {nouns} are frames of a recording "
                     "that training saw, which flatters the figure; record again at another moment)")
        return text

    def left_out(self, noun: str, nouns: str) -> str:
        """Which files training left out because they could not be read, and what to do ("" if none)."""
        if not self.skipped:
            return ""
        n = len(self.skipped)
        shown = "; ".join(self.skipped[:10]) + (" ..." if n > 10 else "")
        return (f"Left out {n} {noun if n == 1 else nouns} that could not be read: {shown}. Delete or replace "
                f"{'it' if n == 1 else 'them'} in the class folder.")
