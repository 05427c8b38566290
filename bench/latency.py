"""Per-frame prediction latency: a webcam frame (numpy RGB) to {label: confidence}.

Trains the default recipe (and the course's k-NN for comparison) on real images, then times
Predictor.predict on 640x480 and 1280x720 frames. The baseline row, run in the same process,
is the cost of only turning the frame into features, so the ratio shows what the model adds.
Goal: under 10 ms median per 640x480 frame.

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

from studio import features, images
from studio.predictor import Predictor
from studio.settings import TrainSettings
from studio.training import fit

FRAMES = {"640x480": (640, 480), "1280x720": (1280, 720)}


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


def timed(fn, frame: np.ndarray, repeats: int) -> list[float]:
    fn(frame)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(frame)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    imgs, labels = training_images(args.data)
    rows = []
    with threadpool_limits(1):
        for name, settings in (("default (hog + svc)", TrainSettings()),
                               ("k-NN on 16 px pixels", TrainSettings(model="knn", features="pixels"))):
            spec = settings.spec()
            X = np.stack([features.extract(im, spec) for im in imgs])
            Xm = np.stack([features.extract(im, spec, mirror=True) for im in imgs])
            est = fit(X, np.array(labels, dtype=object), settings, sorted(set(labels)), Xm).estimator
            predictor = Predictor(est, sorted(set(labels)), spec)
            for size_name, size in FRAMES.items():
                frame = np.asarray(Image.fromarray(imgs[0]).resize(size, Image.Resampling.BILINEAR))
                only_features = timed(lambda f, s=spec: features.extract(f, s), frame, args.repeats)
                full = timed(predictor.predict, frame, args.repeats)
                rows.append({"recipe": name, "frame": size_name,
                             "median_ms": statistics.median(full),
                             "p95_ms": float(np.percentile(full, 95)),
                             "features_only_median_ms": statistics.median(only_features)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'recipe':<22} {'frame':>9} {'median ms':>10} {'p95 ms':>8} {'features ms':>12} {'ratio':>6}")
    for r in rows:
        ratio = r["median_ms"] / r["features_only_median_ms"]
        print(f"{r['recipe']:<22} {r['frame']:>9} {r['median_ms']:>10.2f} {r['p95_ms']:>8.2f} "
              f"{r['features_only_median_ms']:>12.2f} {ratio:>6.2f}")
    worst = max(r["median_ms"] for r in rows if r["frame"] == "640x480")
    print(f"\ngoal: < 10 ms median per 640x480 frame: {'met' if worst < 10 else 'NOT met'} ({worst:.2f} ms)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
