"""Per-frame prediction latency: a webcam frame (numpy RGB) to {label: confidence}.

Trains studio's default recipe for photos (pretrained features, logistic regression), the
previous default (combined hand-made features, RBF SVC) and a trivial baseline (k-NN on 16 px
pixels) on real photos (rps, 60 per class), then times Predictor.predict on
640x480 and 1280x720 frames. Calls are interleaved (one call of every recipe and frame size
per round), so load on this shared machine falls on all of them alike; the ratio column is
each median over the baseline's median at the same frame size. "features ms" is the median
of the image-to-vector step alone. BLAS and the network run single-threaded (one core).
Goal: at most 15 ms median per 640x480 frame with the default recipe.

    python bench/latency.py [--data ../shared/data] [--repeats 200] [--json]
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
from threadpoolctl import threadpool_limits

from studio.kinds import PHOTO
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import fit
from studio.samples import images

FRAMES = {"640x480": (640, 480), "1280x720": (1280, 720)}
DEFAULT = "pretrained (default)"
RECIPES = {DEFAULT: TrainSettings.from_dict(PHOTO.default_settings()),
           "combined (previous)": TrainSettings(features="combined"),
           "baseline: k-NN, 16 px pixels": TrainSettings(model="knn", features="pixels", augment=False)}
BASELINE = "baseline: k-NN, 16 px pixels"


def training_images(data: Path) -> tuple[list[np.ndarray], list[str]]:
    """Real photos when the sets are there (rps), else the small fixtures in tests/."""
    folder = data / "rps"
    if not folder.is_dir():
        folder = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "rps"
    imgs, labels = [], []
    for cls in sorted(p for p in folder.iterdir() if p.is_dir()):
        for p in sorted(cls.iterdir())[:60]:
            imgs.append(np.asarray(images.load(p)))
            labels.append(cls.name)
    return imgs, labels


def predictor(settings: TrainSettings, imgs: list[np.ndarray], labels: list[str]) -> Predictor:
    spec = settings.spec_for(PHOTO)
    X = np.stack([spec.vector(im) for im in imgs])
    Xm = np.stack([spec.vector(im, "mirror") for im in imgs]) if settings.augment else None
    classes = sorted(set(labels))
    return Predictor(fit(X, np.array(labels, dtype=object), settings, classes, Xm).estimator, classes, spec)


def timed(fn, arg) -> float:
    t0 = time.perf_counter()
    fn(arg)
    return (time.perf_counter() - t0) * 1000


def measure(predictors: dict[str, Predictor], frame_of: dict[str, np.ndarray], repeats: int) -> list[dict]:
    calls = {(name, size, part): (p.predict if part == "full" else p.spec.vector)
             for name, p in predictors.items() for size in frame_of for part in ("full", "features")}
    times: dict[tuple, list[float]] = {key: [] for key in calls}
    for key, fn in calls.items():
        fn(frame_of[key[1]])  # warm up (OpenCV and filter-bank caches)
    for _ in range(repeats):
        for key, fn in calls.items():
            times[key].append(timed(fn, frame_of[key[1]]))
    rows = []
    for name in predictors:
        for size in frame_of:
            full = times[(name, size, "full")]
            rows.append({"recipe": name, "frame": size, "median_ms": statistics.median(full),
                         "p95_ms": float(np.percentile(full, 95)),
                         "features_median_ms": statistics.median(times[(name, size, "features")]),
                         "x_baseline": statistics.median(full) / statistics.median(times[(BASELINE, size, "full")])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    imgs, labels = training_images(args.data)
    frame_of = {name: np.asarray(Image.fromarray(imgs[0]).resize(size, Image.Resampling.BILINEAR))
                for name, size in FRAMES.items()}
    with threadpool_limits(1):
        predictors = {name: predictor(s, imgs, labels) for name, s in RECIPES.items()}
        rows = measure(predictors, frame_of, args.repeats)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'recipe':<30} {'frame':>9} {'median ms':>10} {'p95 ms':>8} {'features ms':>12} {'x baseline':>10}")
    for r in rows:
        print(f"{r['recipe']:<30} {r['frame']:>9} {r['median_ms']:>10.2f} {r['p95_ms']:>8.2f} "
              f"{r['features_median_ms']:>12.2f} {r['x_baseline']:>10.2f}")
    worst = max(r["median_ms"] for r in rows if r["frame"] == "640x480" and r["recipe"] == DEFAULT)
    print(f"\ngoal: at most 15 ms median per 640x480 frame with the default recipe: "
          f"{'met' if worst <= 15 else 'NOT met'} ({worst:.2f} ms)", file=sys.stderr)


if __name__ == "__main__":
    main()
