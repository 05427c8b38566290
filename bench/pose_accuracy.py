"""Accuracy of pose projects on ../shared/data/pose (five yoga poses, ~30 photos each), next to the
photo project's default on the same photos.

Landmarks come from bench/pose_landmarks.py: the pose page's own studio-pose.js in headless
Chromium, once per photo (cached in .cache/pose-landmarks, so only the first run waits ~3 s a
photo). Protocol as bench/accuracy.py: every third photo by name of each class is the test part;
the rest is the pool; train on the first 10, on --draws random draws of 10 (seeds 1..draws), and
on all of the pool; accuracy per class and overall.

Rows: the pose project's default (landmark features, mirror copies, an MLP of 100 hidden units, as
Teachable Machine puts a dense layer on its features), with logistic regression instead, and without
mirror copies; and the photo project's default (pretrained EfficientNet-Lite0
features) trained and scored on the very same photos.

    python bench/pose_accuracy.py [--data ../shared/data] [--draws 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from accuracy import split, stack, subsets, vectors  # noqa: E402
from pose_landmarks import landmarks_of  # noqa: E402

from studio.features.pose import LandmarksSpec  # noqa: E402
from studio.kinds import PHOTO  # noqa: E402
from studio.kinds.pose import POSE  # noqa: E402
from studio.model.evaluation import score  # noqa: E402
from studio.model.settings import TrainSettings  # noqa: E402
from studio.model.training import fit  # noqa: E402
from studio.samples import images, poses  # noqa: E402

SIZES = (10, "all")
ROWS = {"pose default": {}, "pose logistic": {"model": "logistic"}, "pose no mirror": {"augment": False}}
Split = dict[str, list[int]]  # label -> photo indices


def load_poses(folder: Path) -> tuple[dict[str, list[Path]], dict[str, list[poses.Pose | None]], dict]:
    """Photos per class (sorted by name), their poses (None: none found) and extraction stats."""
    photos = {c.name: sorted(p for p in c.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
              for c in sorted(p for p in folder.iterdir() if p.is_dir())}
    flat = [p for ps in photos.values() for p in ps]
    stats: dict = {}
    t0 = time.perf_counter()
    found = iter(landmarks_of(flat, stats=stats, progress=True))
    stats["wall_s"] = time.perf_counter() - t0
    by_class = {label: [None if (r := next(found)) is None else poses.from_data(r, p.name) for p in ps]
                for label, ps in photos.items()}
    return photos, by_class, stats


def pose_vectors(found: dict[str, list[poses.Pose | None]], spec: LandmarksSpec, variants: tuple[str, ...]) -> dict:
    """{variant: {label: (n, d)}}; a photo without a pose gets a row of zeros (never used)."""
    zero = np.zeros(spec.vector_length, np.float32)
    return {v: {lb: np.stack([zero if p is None else spec.vector(p, v) for p in ps]) for lb, ps in found.items()}
            for v in variants}


def fit_score(vecs: dict, train: Split, test: Split, settings: TrainSettings, labels: list[str],
              missing: dict[str, set[int]] | None = None) -> dict:
    """Accuracy overall and per class of one recipe on one split; ``missing`` photos (no pose found)
    are left out of training and count as wrong in the test part (the page could not classify them)."""
    missing = missing or {}
    keep = lambda part: {lb: [i for i in idx if i not in missing.get(lb, set())] for lb, idx in part.items()}  # noqa: E731
    X, y = stack(vecs["plain"], keep(train))
    extra = [stack(vecs[v], keep(train))[0] for v in vecs if v != "plain"]
    result = fit(X, y, settings, labels, np.vstack(extra) if extra else None)
    Xt, yt = stack(vecs["plain"], keep(test))
    scores = score(result.estimator, Xt, yt, labels)
    per_class = {lb: c.correct / len(test[lb]) for lb, c in scores.per_class.items()}
    n_test = sum(map(len, test.values()))
    return {"accuracy": sum(c.correct for c in scores.per_class.values()) / n_test, "per_class": per_class,
            "fit_s": result.seconds}


def run(photos: dict, found: dict, draws: int) -> dict:
    """Per recipe and size: the accuracy of each run (first, then the draws; at "all" only the first)."""
    labels = list(photos)
    pool, test = split(photos)
    missing = {lb: {i for i, p in enumerate(ps) if p is None} for lb, ps in found.items()}
    recipes = {}
    for name, overrides in ROWS.items():
        settings = TrainSettings.from_dict({**POSE.default_settings(), **overrides})
        spec = settings.spec_for(POSE)
        recipes[name] = (settings, pose_vectors(found, spec, POSE.variants(settings.augment)), missing)
    settings = TrainSettings.from_dict(PHOTO.default_settings())
    arrays = {lb: [np.asarray(images.load(p)) for p in ps] for lb, ps in photos.items()}
    photo_vecs = vectors(arrays, settings.spec_for(PHOTO), PHOTO.variants(settings.augment))[0]
    recipes["photo default"] = (settings, photo_vecs, None)
    return {name: {str(n): [fit_score(vecs, train, test, settings, labels, miss)
                            for _, train in subsets(pool, n, draws)] for n in SIZES}
            for name, (settings, vecs, miss) in recipes.items()}


def table(results: dict, labels: list[str]) -> str:
    """10: mean ± sd over first-10 and the draws; all; then accuracy per class at all."""
    lines = ["accuracy on every third photo of each class (by name); 10: mean ± sd over first-10 and random draws",
             f"{'recipe':<14} {'10':>12} {'all':>6} | " + " ".join(f"{lb:>9}" for lb in labels)]
    for recipe, row in results.items():
        ten = [r["accuracy"] for r in row["10"]]
        cell10 = f"{np.mean(ten):.3f}±{np.std(ten):.3f}" if ten else "-"
        full = row["all"][0] if row["all"] else None
        per_class = " ".join(f"{full['per_class'][lb]:>9.3f}" if full else f"{'-':>9}" for lb in labels)
        cell_all = f"{full['accuracy']:.3f}" if full else "-"
        lines.append(f"{recipe:<14} {cell10:>12} {cell_all:>6} | {per_class}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--draws", type=int, default=5, help="random draws of 10 per class")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    photos, found, stats = load_poses(args.data / "pose")
    total = sum(len(v) for v in found.values())
    missing = {lb: [photos[lb][i].name for i, f in enumerate(fs) if f is None] for lb, fs in found.items()}
    n_missing = sum(len(v) for v in missing.values())
    print(f"landmarks: pose found in {total - n_missing} of {total} photos ({stats['cached']} cached, "
          f"{stats['wall_s']:.1f} s)" + (f"; none in {missing}" if n_missing else ""), file=sys.stderr)
    results = run(photos, found, args.draws)
    if args.json:
        print(json.dumps({"results": results, "missing": missing}, indent=1))
    else:
        print(table(results, list(photos)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
