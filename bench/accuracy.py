"""Accuracy of studio's default recipe against the course's baseline on the real image sets.

Protocol (the same for every recipe, in one run):
- each set in --data (face_mask, quickdraw, rps, rps_mediapipe) has one folder per class;
  images are sorted by name per class;
- every third image of each class (positions 2, 5, 8, ...) is the test part, never trained
  on, so train and test come from the same sources (the sets are sorted by source name);
- the other two thirds, in name order, are the training pool; the recipe trains on the first
  10, the first 30 and all of the pool ("all", up to 100 per class), and on --draws random
  draws of 10 and 30 from the pool (issue 5's spread);
- the default recipe goes through studio's own steps: features.extract with the project's
  framing (quickdraw is a sketch set), mirrored copies, training.fit, top-confidence class;
- the baseline is the course's k-NN (k=5) on 28x28 grey raw pixels of the whole image.
Also: training time at "all", and per-frame latency (a 640x480 frame to confidences). When
--data holds spoken_digits, the sound table of bench/sound_accuracy.py follows (studio's sound
recipe next to k-NN on the same features; --no-sound leaves it out).

    python bench/accuracy.py [--data ../shared/data] [--draws 5] [--no-sound] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from studio import features, images
from studio.predictor import Predictor
from studio.settings import TrainSettings
from studio.training import fit

SETS = {"face_mask": "crop", "quickdraw": "sketch", "rps": "crop", "rps_mediapipe": "crop"}
SIZES = (10, 30, "all")


def load_set(folder: Path) -> dict[str, list[np.ndarray]]:
    return {cls.name: [np.asarray(images.load(p)) for p in sorted(cls.iterdir()) if images.is_image_name(p.name)]
            for cls in sorted(p for p in folder.iterdir() if p.is_dir())}


def split(data: dict[str, list[np.ndarray]]) -> tuple[dict, dict]:
    pool, test = {}, {}
    for label, imgs in data.items():
        pool[label] = [im for i, im in enumerate(imgs) if i % 3 != 2]
        test[label] = [im for i, im in enumerate(imgs) if i % 3 == 2]
    return pool, test


def default_recipe(train: dict, test: dict, framing: str, settings: TrainSettings) -> tuple[float, float, object]:
    spec = settings.spec(framing)
    labels = list(train)
    X = np.stack([features.extract(im, spec) for lb in labels for im in train[lb]])
    Xm = np.stack([features.extract(im, spec, mirror=True) for lb in labels for im in train[lb]])
    y = np.array([lb for lb in labels for _ in train[lb]], dtype=object)
    t0 = time.perf_counter()
    result = fit(X, y, settings, labels, Xm if settings.augment else None)
    seconds = time.perf_counter() - t0
    Xt = np.stack([features.extract(im, spec) for lb in labels for im in test[lb]])
    yt = np.array([lb for lb in labels for _ in test[lb]], dtype=object)
    pred = np.asarray(result.estimator.classes_, dtype=object)[result.estimator.predict_proba(Xt).argmax(1)]
    predictor = Predictor(result.estimator, labels, spec)
    return float((pred == yt).mean()), seconds, predictor


def grey28(img: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(img).convert("L").resize((28, 28), Image.Resampling.BILINEAR),
                      dtype=np.float32).ravel() / 255.0


def baseline(train: dict, test: dict) -> float:
    X = np.stack([grey28(im) for imgs in train.values() for im in imgs])
    y = [lb for lb, imgs in train.items() for _ in imgs]
    Xt = np.stack([grey28(im) for imgs in test.values() for im in imgs])
    yt = np.array([lb for lb, imgs in test.items() for _ in imgs], dtype=object)
    model = KNeighborsClassifier(n_neighbors=5).fit(X, y)
    return float((model.predict(Xt) == yt).mean())


def subsets(pool: dict, n, draws: int):
    """('first', subset) then ('draw k', subset) for random draws; 'all' has only the first."""
    if n == "all":
        yield "first", pool
        return
    yield "first", {lb: imgs[:n] for lb, imgs in pool.items()}
    for k in range(draws):
        rng = np.random.default_rng(k + 1)
        yield f"draw {k + 1}", {lb: [imgs[i] for i in rng.choice(len(imgs), min(n, len(imgs)), replace=False)]
                                for lb, imgs in pool.items()}


def frame_latency(predictor: Predictor, sample: np.ndarray, repeats: int = 60) -> float:
    frame = np.asarray(Image.fromarray(sample).resize((640, 480), Image.Resampling.BILINEAR))
    predictor.predict(frame)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predictor.predict(frame)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(data_dir: Path, draws: int, settings: TrainSettings) -> dict:
    results = {}
    for name, framing in SETS.items():
        folder = data_dir / name
        if not folder.is_dir():
            print(f"skipping {name}: {folder} not found", file=sys.stderr)
            continue
        pool, test = split(load_set(folder))
        row: dict = {"framing": framing, "n_test": sum(map(len, test.values()))}
        for n in SIZES:
            ours, base = [], []
            for tag, train in subsets(pool, n, draws):
                acc, seconds, predictor = default_recipe(train, test, framing, settings)
                ours.append(acc)
                base.append(baseline(train, test))
                if n == "all":
                    row["fit_seconds_all"] = seconds
                    row["n_train_all_per_class"] = max(map(len, train.values()))
                    row["frame_ms"] = frame_latency(predictor, next(iter(test.values()))[0])
                if tag == "first":
                    row[f"first_{n}"] = {"studio": acc, "baseline": base[-1]}
            row[str(n)] = {"studio_mean": float(np.mean(ours)), "studio_sd": float(np.std(ours)),
                           "baseline_mean": float(np.mean(base)), "runs": len(ours)}
        results[name] = row
        print(f"done {name}", file=sys.stderr)
    return results


def table(results: dict, settings: TrainSettings) -> str:
    lines = [f"studio default recipe: {settings.model}, {settings.features}, augment={settings.augment}",
             "accuracy on every third image of each class; 10/30: first-N then mean ± sd over draws",
             "",
             f"{'set':<14} {'n':>3} | {'first 10':>15} {'first 30':>15} {'all':>15} | "
             f"{'10 mean±sd':>12} {'30 mean±sd':>12} | {'fit s':>6} {'ms/frame':>8}"]
    for name, r in results.items():
        cells = [f"{r[f'first_{n}']['studio']:.3f} ({r[f'first_{n}']['baseline']:.3f})" for n in SIZES]
        spread = [f"{r[str(n)]['studio_mean']:.3f}±{r[str(n)]['studio_sd']:.3f}" for n in (10, 30)]
        lines.append(f"{name:<14} {r['n_train_all_per_class']:>3} | " + " ".join(f"{c:>15}" for c in cells)
                     + " | " + " ".join(f"{s:>12}" for s in spread)
                     + f" | {r['fit_seconds_all']:>6.2f} {r['frame_ms']:>8.2f}")
    if results:
        means = [np.mean([r[f"first_{n}"]["studio"] for r in results.values()]) for n in SIZES]
        bases = [np.mean([r[f"first_{n}"]["baseline"] for r in results.values()]) for n in SIZES]
        draws = [np.mean([r[str(n)]["studio_mean"] for r in results.values()]) for n in (10, 30)]
        lines += ["", "mean over sets, first 10 / 30 / all:  studio " + " / ".join(f"{m:.3f}" for m in means)
                  + "   baseline k-NN " + " / ".join(f"{b:.3f}" for b in bases),
                  "mean over sets and draws, 10 / 30:     studio " + " / ".join(f"{m:.3f}" for m in draws),
                  "(baseline in brackets: k-NN k=5 on 28x28 grey raw pixels, same images, same run)"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--draws", type=int, default=5, help="random draws of 10 and 30 per class")
    parser.add_argument("--no-sound", action="store_true", help="leave out the spoken-digits table")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"bench/accuracy.py: {args.data} not found; pass --data DIR (the image sets of ../shared/data)")
    settings = TrainSettings()
    with threadpool_limits(1):
        results = run(args.data, args.draws, settings)
        sound = None
        if not args.no_sound and (args.data / "spoken_digits").is_dir():
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import sound_accuracy

            sound = sound_accuracy.run(sound_accuracy.load(args.data / "spoken_digits"))
    if args.json:
        print(json.dumps({"images": results, "sound": sound}, indent=2))
        return
    print(table(results, settings))
    if sound:
        print("\n" + sound_accuracy.table(sound))


if __name__ == "__main__":
    main()
