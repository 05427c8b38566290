"""Accuracy of sound projects on spoken digits (FSDD: four speakers, takes 5-19 of each digit).

Two protocols, each with studio's recipe next to baselines trained and scored on the same
clips in the same run:

- other takes: the same four speakers; train on 10 of the 15 takes, score the other 5
  (three folds: takes 5-9, 10-14, 15-19 held out);
- unseen speakers: train on three speakers, score the fourth (four folds), and, harder,
  train on two and score the other two (six folds).

Clips go through studio's own storage (16-bit WAV at 16 kHz) and feature step. Rows: studio's
default (log-mel features, a slower and a faster copy of each clip, calibrated RBF SVC), the
same without the copies, k-nearest neighbours (k=5) on the same features, and the issue's
measured baseline recipe (a plain log-mel spectrogram of the clip plus its per-band mean and
spread, into an SVC).

    python bench/sound_accuracy.py [--data DIR] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.features import sound_kernel as audio  # noqa: E402
from studio.features.sound import LogmelSpec  # noqa: E402
from studio.kinds import SOUND  # noqa: E402
from studio.model.settings import TrainSettings  # noqa: E402
from studio.model.training import fit  # noqa: E402
from studio.samples import sounds  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "nicolas")
TAKE_FOLDS = ((5, 10), (10, 15), (15, 20))


def load(folder: Path) -> list[dict]:
    """Every clip as studio stores it, with its digit, speaker and take."""
    rows = []
    for path in sorted(folder.glob("*/*.wav")):
        digit, speaker, take = path.stem.split("_")
        clip = sounds.load(sounds.to_wav(sounds.load(path)))
        rows.append({"clip": clip, "label": path.parent.name, "speaker": speaker, "take": int(take)})
    if not rows:
        raise SystemExit(f"No clips in {folder}: expected <digit>/<digit>_<speaker>_<take>.wav")
    return rows


def folds(rows: list[dict]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    take = np.array([r["take"] for r in rows])
    speaker = np.array([r["speaker"] for r in rows])
    out: dict[str, list] = {"other takes": [], "unseen speaker (train 3)": [], "unseen speakers (train 2)": []}
    for lo, hi in TAKE_FOLDS:
        test = (take >= lo) & (take < hi)
        out["other takes"].append((~test, test))
    for s in SPEAKERS:
        test = speaker == s
        out["unseen speaker (train 3)"].append((~test, test))
    for pair in itertools.combinations(SPEAKERS, 2):
        test = np.isin(speaker, pair)
        out["unseen speakers (train 2)"].append((~test, test))
    return out


def baseline_logmel(clip: sounds.Clip, spec: LogmelSpec) -> np.ndarray:
    """The issue's baseline features: the clip's log-mel spectrogram stretched to a fixed size,
    plus each band's mean and spread."""
    s = spec.json
    x = audio.resample(clip.samples, clip.sr, s["sr"])
    S = audio.logmel(x, s)
    return np.concatenate([audio.stretch(S, s["frames"]).ravel(), S.mean(axis=1), S.std(axis=1)])


def vectors(rows, spec, variants, fn=None) -> tuple[dict[str, np.ndarray], float]:
    """{variant: (n, d)} features and the median milliseconds per clip for the plain variant."""
    out, times = {}, []
    for v in variants:
        feats = []
        for r in rows:
            t0 = time.perf_counter()
            feats.append(fn(r["clip"], spec) if fn else spec.vector(r["clip"], v))
            if v == "plain":
                times.append(time.perf_counter() - t0)
        out[v] = np.stack(feats).astype(np.float32)
    return out, 1000 * float(np.median(times))


def run(rows: list[dict]) -> dict:
    spec = LogmelSpec()
    y = np.array([r["label"] for r in rows], dtype=object)
    labels = sorted(set(y.tolist()))
    studio_vecs, feature_ms = vectors(rows, spec, SOUND.variants(True))
    base_vecs, base_ms = vectors(rows, spec, ("plain",), baseline_logmel)
    recipes = {
        "studio default (log-mel features, speed copies, SVC)": (TrainSettings(features="logmel"), studio_vecs),
        "studio, no speed copies": (TrainSettings(features="logmel", augment=False), studio_vecs),
        "k-NN (k=5) on the same features": (TrainSettings(features="logmel", model="knn", augment=False),
                                            studio_vecs),
        "issue's baseline: plain log-mel + SVC": (TrainSettings(features="logmel", augment=False), base_vecs),
    }
    results: dict = {"feature_ms_per_clip": round(feature_ms, 2), "baseline_feature_ms_per_clip": round(base_ms, 2),
                     "clips": len(rows), "recipes": {}}
    for name, (settings, vecs) in recipes.items():
        row: dict = {}
        fit_seconds = []
        for protocol, parts in folds(rows).items():
            accs = []
            for train, test in parts:
                extra = [vecs[v][train] for v in SOUND.variants(settings.augment)[1:]]
                result = fit(vecs["plain"][train], y[train], settings, labels, np.vstack(extra) if extra else None)
                fit_seconds.append(result.seconds)
                with threadpool_limits(1):
                    pred = result.estimator.predict(vecs["plain"][test])
                accs.append(float(np.mean(pred == y[test])))
            row[protocol] = {"mean": round(float(np.mean(accs)), 4), "min": round(float(np.min(accs)), 4),
                             "folds": [round(a, 4) for a in accs]}
        row["fit_seconds_median"] = round(float(np.median(fit_seconds)), 2)
        results["recipes"][name] = row
        print(f"  done: {name}", file=sys.stderr)
    results["latency_ms"] = latency(rows, spec)
    return results


def latency(rows: list[dict], spec: LogmelSpec) -> float:
    """Median milliseconds from a 1 s microphone window at 48 kHz to confidences (default model)."""
    from studio.model.predictor import Predictor

    y = np.array([r["label"] for r in rows], dtype=object)
    vecs, _ = vectors(rows, spec, ("plain",))
    result = fit(vecs["plain"], y, TrainSettings(features="logmel", augment=False), sorted(set(y.tolist())))
    predictor = Predictor(result.estimator, sorted(set(y.tolist())), spec)
    times = []
    with threadpool_limits(1):
        for r in rows[:60]:
            window = (48000, (sounds.split(r["clip"].at(48000), 1.0, skip_silence=False) or [r["clip"]])[0].samples)
            t0 = time.perf_counter()
            predictor.predict(window)
            times.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(times)), 2)


def table(results: dict) -> str:
    protocols = list(next(iter(results["recipes"].values())))[:-1]
    head = f"{'recipe':55s}" + "".join(f"{p:>28s}" for p in protocols) + f"{'fit s':>8s}"
    lines = [f"Spoken digits (FSDD, {results['clips']} clips): mean accuracy over folds (worst fold)", head]
    for name, row in results["recipes"].items():
        cells = "".join(f"{row[p]['mean']:>20.3f} ({row[p]['min']:.2f})" for p in protocols)
        lines.append(f"{name:55s}{cells}{row['fit_seconds_median']:>8.2f}")
    lines.append(f"features: {results['feature_ms_per_clip']:.1f} ms per clip (median); one live 1 s window "
                 f"at 48 kHz to confidences: {results['latency_ms']:.1f} ms (median)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "spoken_digits"))
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    args = parser.parse_args()
    with threadpool_limits(1):
        results = run(load(Path(args.data)))
    print(json.dumps(results, indent=2) if args.json else table(results))


if __name__ == "__main__":
    main()
