"""Accuracy of sound projects on spoken digits (FSDD: four speakers, takes 5-19 of each digit),
and of both sound feature kinds on non-speech sounds.

Protocols, each with every recipe trained and scored on the same clips in the same run:

- other takes: the same four speakers; train on 10 of the 15 takes, score the other 5
  (three folds: takes 5-9, 10-14, 15-19 held out);
- unseen speakers: train on three speakers, score the fourth (four folds), and, harder,
  train on two and score the other two (six folds);
- one person records: one speaker's first 1 (or 5) takes of each digit are the training set, the
  other three speakers are scored (four folds);
- noisy position: the other-takes folds, each test clip placed at a random spot of a 1 s window
  of white noise 20 dB below the clip's own level (seeded).

Clips go through studio's own storage (16-bit WAV at 16 kHz) and feature step. Rows: studio's
default (the speech embedding, logistic regression), the same with the other choice of speed
copies, k-nearest neighbours (k=5) on the embedding, the log-mel features that were the default
before (with and without the slower and faster copy of each clip, calibrated RBF SVC) and k-NN on
them, and the issue's baseline (a plain log-mel spectrogram plus its per-band mean and spread,
into an SVC).

Then the same recipes on non-speech sounds (--sounds, by default the clips that
tests/fixtures/make_household_sounds.py synthesises: claps, whistles, a fan, a kettle), by
five-fold cross-validation.

    python bench/sound_accuracy.py [--data DIR] [--sounds DIR|none] [--json]
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

from studio.errors import TrainingError  # noqa: E402
from studio.features import registry  # noqa: E402
from studio.features import sound_kernel as audio  # noqa: E402
from studio.features.sound import LogmelSpec  # noqa: E402
from studio.features.speech import SpeechSpec  # noqa: E402
from studio.kinds import SOUND  # noqa: E402
from studio.model.settings import TrainSettings  # noqa: E402
from studio.model.training import fit  # noqa: E402
from studio.samples import sounds  # noqa: E402

SPEAKERS = ("george", "jackson", "lucas", "nicolas")
TAKE_FOLDS = ((5, 10), (10, 15), (15, 20))
ONE_PERSON = (1, 5)  # takes per digit one person records; the other three speakers are scored
NOISY = "noisy position"
SNR_DB = 20.0
PROTOCOLS = ("other takes", "unseen speaker (train 3)", "unseen speakers (train 2)",
             *(f"one person, {n} take{'s' * (n > 1)}" for n in ONE_PERSON), NOISY)
FOLDS, PER_CLASS = 5, 10  # the non-speech set's cross-validation, and its clips per class


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
    """{protocol: [(train mask, test mask) per fold]}; the noisy protocol's test clips are the
    noisy copies (``noisy``), the others' the clips as recorded."""
    take = np.array([r["take"] for r in rows])
    speaker = np.array([r["speaker"] for r in rows])
    out: dict[str, list] = {p: [] for p in PROTOCOLS}
    for lo, hi in TAKE_FOLDS:
        test = (take >= lo) & (take < hi)
        out["other takes"].append((~test, test))
        out[NOISY].append((~test, test))
    for s in SPEAKERS:
        test = speaker == s
        out["unseen speaker (train 3)"].append((~test, test))
        for n in ONE_PERSON:
            out[f"one person, {n} take{'s' * (n > 1)}"].append(((speaker == s) & (take < take.min() + n), ~test))
    for pair in itertools.combinations(SPEAKERS, 2):
        test = np.isin(speaker, pair)
        out["unseen speakers (train 2)"].append((~test, test))
    return out


def noisy(clip: sounds.Clip, rng: np.random.Generator) -> sounds.Clip:
    """The clip (at most 1 s) at a random spot of a 1 s window of white noise 20 dB below its own level."""
    x = clip.at(sounds.STORE_RATE).samples.astype(np.float64)[:sounds.STORE_RATE]
    power = float(np.mean(x * x)) or 1e-10
    window = rng.standard_normal(sounds.STORE_RATE) * np.sqrt(power / 10 ** (SNR_DB / 10))
    start = int(rng.integers(0, sounds.STORE_RATE - x.size + 1))
    window[start:start + x.size] += x
    return sounds.Clip(np.clip(window, -1, 1).astype(np.float32), sounds.STORE_RATE)


def baseline_logmel(clip: sounds.Clip, spec: LogmelSpec) -> np.ndarray:
    """The issue's baseline features: the clip's log-mel spectrogram stretched to a fixed size,
    plus each band's mean and spread."""
    s = spec.json
    x = audio.resample(clip.samples, clip.sr, s["sr"])
    S = audio.logmel(x, s)
    return np.concatenate([audio.stretch(S, s["frames"]).ravel(), S.mean(axis=1), S.std(axis=1)])


def vectors(clips: list[sounds.Clip], spec, variants, fn=None) -> tuple[dict[str, np.ndarray], float]:
    """{variant: (n, d)} features and the median milliseconds per clip for the plain variant
    (one clip at a time, as live prediction computes them)."""
    out, times = {}, []
    for v in variants:
        if fn is not None:
            out[v] = np.stack([fn(c, spec) for c in clips]).astype(np.float32)
        else:  # a batch at a time, as training computes them
            out[v] = np.concatenate([np.stack(spec.vectors(clips[i:i + 64], (v,))[v])
                                     for i in range(0, len(clips), 64)]).astype(np.float32)
    for c in clips[:100]:
        t0 = time.perf_counter()
        fn(c, spec) if fn is not None else spec.vector(c)
        times.append(time.perf_counter() - t0)
    return out, 1000 * float(np.median(times))


def recipes() -> dict[str, tuple[str, TrainSettings, bool]]:
    """{name: (features, settings, whether the speed copies are trained on)}: the new default first,
    today's features after; the copies are as studio's training reads them (``FeatureSpec.copies``),
    but for the row that measures what they would do for the embedding."""
    recipes = {
        "speech embedding + LR (studio default: no speed copies)": ("speech", TrainSettings(features="speech")),
        "speech embedding + LR, with speed copies": ("speech", TrainSettings(features="speech"), True),
        "k-NN (k=5) on the speech embedding": ("speech", TrainSettings(features="speech", model="knn", augment=False)),
        "log-mel features + speed copies + SVC (before)": ("logmel", TrainSettings(features="logmel")),
        "log-mel features, no speed copies": ("logmel", TrainSettings(features="logmel", augment=False)),
        "k-NN (k=5) on the log-mel features": ("logmel", TrainSettings(features="logmel", model="knn",
                                                                        augment=False)),
        "issue's baseline: plain log-mel + SVC": ("baseline", TrainSettings(features="logmel", augment=False)),
    }
    return {name: (r[0], r[1], r[2] if len(r) > 2 else r[1].augment and registry.SPECS[r[1].features].copies)
            for name, r in recipes.items()}


def features_of(clips: list[sounds.Clip], test_clips: list[sounds.Clip] | None = None) -> dict:
    """{features: (vecs of every variant, test vecs, ms per clip)} for clips (and their test copies)."""
    specs = {"speech": SpeechSpec(), "logmel": LogmelSpec()}
    out = {}
    for name, spec in specs.items():
        vecs, ms = vectors(clips, spec, SOUND.variants(True))
        test = vectors(test_clips, spec, ("plain",))[0]["plain"] if test_clips else None
        out[name] = (vecs, test, ms)
    logmel = specs["logmel"]
    vecs, ms = vectors(clips, logmel, ("plain",), baseline_logmel)
    out["baseline"] = (vecs, vectors(test_clips, logmel, ("plain",), baseline_logmel)[0]["plain"]
                       if test_clips else None, ms)
    return out


def score(settings: TrainSettings, copies: bool, vecs: dict, test_vecs, y, labels, train, test
          ) -> tuple[float | None, float]:
    """(accuracy, fit seconds) of one fold; accuracy None when the recipe cannot train on it."""
    extra = [vecs[v][train] for v in SOUND.variants(copies)[1:]]
    try:
        result = fit(vecs["plain"][train], y[train], settings, labels, np.vstack(extra) if extra else None)
    except TrainingError:  # an SVC's calibration with one clip per class and no copies
        return None, 0.0
    with threadpool_limits(1):
        pred = result.estimator.predict((vecs["plain"] if test_vecs is None else test_vecs)[test])
    return float(np.mean(pred == y[test])), result.seconds


def summary(accs: list[float | None]) -> dict:
    if any(a is None for a in accs):
        return {"mean": None, "min": None, "folds": accs}
    return {"mean": round(float(np.mean(accs)), 4), "min": round(float(np.min(accs)), 4),
            "folds": [round(a, 4) for a in accs]}


def run(rows: list[dict]) -> dict:
    y = np.array([r["label"] for r in rows], dtype=object)
    labels = sorted(set(y.tolist()))
    rng = np.random.default_rng(0)
    clips = [r["clip"] for r in rows]
    feats = features_of(clips, [noisy(c, rng) for c in clips])
    results: dict = {"clips": len(rows), "feature_ms_per_clip": {k: round(v[2], 2) for k, v in feats.items()},
                     "recipes": {}}
    for name, (features, settings, copies) in recipes().items():
        vecs, noisy_vecs, _ = feats[features]
        row: dict = {}
        fit_seconds = []
        for protocol, parts in folds(rows).items():
            scored = [score(settings, copies, vecs, noisy_vecs if protocol == NOISY else None, y, labels, tr, te)
                      for tr, te in parts]
            fit_seconds += [s for _, s in scored]
            row[protocol] = summary([a for a, _ in scored])
        row["fit_seconds_median"] = round(float(np.median(fit_seconds)), 2)
        results["recipes"][name] = row
        print(f"  done: {name}", file=sys.stderr)
    results["latency_ms"] = {k: latency(rows, k) for k in ("speech", "logmel")}
    return results


def run_sounds(folder: Path) -> dict:
    """Both feature kinds on non-speech sounds (tests/fixtures/household_sounds): five folds of two
    clips per class; each fold is scored once trained on the other four, and (few clips) once with
    the other four scored after training on it alone."""
    paths = sorted(folder.glob("*/*.wav"))
    if not paths:
        raise SystemExit(f"No clips in {folder}: run tests/fixtures/make_household_sounds.py")
    y = np.array([p.parent.name for p in paths], dtype=object)
    labels = sorted(set(y.tolist()))
    clips = [sounds.load(sounds.to_wav(sounds.load(p))) for p in paths]
    feats = features_of(clips)
    position = np.array([int(p.stem.rsplit("_", 1)[1]) for p in paths])
    fold = [position % FOLDS == f for f in range(FOLDS)]
    protocols = {f"{PER_CLASS * (FOLDS - 1) // FOLDS} per class": [(~f, f) for f in fold],
                 f"{PER_CLASS // FOLDS} per class": [(f, ~f) for f in fold]}
    out: dict = {"clips": len(paths), "classes": labels, "recipes": {}}
    for name, (features, settings, copies) in recipes().items():
        vecs = feats[features][0]
        out["recipes"][name] = {protocol: summary([score(settings, copies, vecs, None, y, labels, tr, te)[0]
                                                   for tr, te in parts])
                                for protocol, parts in protocols.items()}
    return out


def latency(rows: list[dict], features: str) -> float:
    """Median milliseconds from a 1 s microphone window at 48 kHz to confidences (default recipe
    of ``features``)."""
    from studio.model.predictor import Predictor

    spec = SpeechSpec() if features == "speech" else LogmelSpec()
    y = np.array([r["label"] for r in rows], dtype=object)
    vecs, _ = vectors([r["clip"] for r in rows], spec, ("plain",))
    result = fit(vecs["plain"], y, TrainSettings(features=features, augment=False), sorted(set(y.tolist())))
    predictor = Predictor(result.estimator, sorted(set(y.tolist())), spec)
    times = []
    with threadpool_limits(1):
        for r in rows[:60]:
            window = (48000, (sounds.split(r["clip"].at(48000), 1.0, skip_silence=False) or [r["clip"]])[0].samples)
            t0 = time.perf_counter()
            predictor.predict(window)
            times.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(times)), 2)


def cell(result: dict) -> str:
    return "n/a" if result["mean"] is None else f"{result['mean']:.3f} ({result['min']:.2f})"


def table(results: dict) -> str:
    """A Markdown table: one row per recipe, one column per protocol."""
    protocols = [p for p in next(iter(results["recipes"].values())) if p != "fit_seconds_median"]
    lines = [f"Spoken digits (FSDD, {results['clips']} clips): mean accuracy over folds (worst fold)", "",
             "| recipe | " + " | ".join(protocols) + " | fit s |", "|---" * (len(protocols) + 2) + "|"]
    for name, row in results["recipes"].items():
        lines.append(f"| {name} | " + " | ".join(cell(row[p]) for p in protocols)
                     + f" | {row['fit_seconds_median']:.2f} |")
    ms, live = results["feature_ms_per_clip"], results["latency_ms"]
    lines.append("")
    lines.append(f"features, ms per clip (median, one at a time): speech embedding {ms['speech']:.1f}, log-mel "
                 f"{ms['logmel']:.1f}; one live 1 s window at 48 kHz to confidences: speech embedding "
                 f"{live['speech']:.1f} ms, log-mel {live['logmel']:.1f} ms (median)")
    return "\n".join(lines)


def sounds_table(results: dict) -> str:
    protocols = list(next(iter(results["recipes"].values())))
    lines = [f"Non-speech sounds ({', '.join(results['classes'])}: {results['clips']} clips synthesised by "
             f"tests/fixtures/make_household_sounds.py): mean accuracy over {FOLDS} folds (worst fold), "
             "trained on", "", "| recipe | " + " | ".join(protocols) + " |", "|---" * (len(protocols) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(cell(row[p]) for p in protocols) + " |"
              for name, row in results["recipes"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "spoken_digits"))
    parser.add_argument("--sounds", default=str(ROOT / "tests" / "fixtures" / "household_sounds"),
                        help="non-speech sounds, one folder per class (none: leave them out)")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")
    args = parser.parse_args()
    with threadpool_limits(1):
        results = run(load(Path(args.data)))
        other = run_sounds(Path(args.sounds)) if args.sounds != "none" else None
    if args.json:
        print(json.dumps({"spoken_digits": results, "non_speech": other}, indent=2))
        return
    print(table(results))
    if other:
        print("\n" + sounds_table(other))


if __name__ == "__main__":
    main()
