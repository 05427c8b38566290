"""Accuracy of studio's recipes against the course's baseline on the real image sets.

Protocol (the same for every recipe, in one run):
- each set in --data (face_mask, quickdraw, rps, rps_mediapipe) has one folder per class;
  images are sorted by name per class;
- every third image of each class (positions 2, 5, 8, ...) is the test part, never trained
  on, so train and test come from the same sources (the sets are sorted by source name);
- the other two thirds, in name order, are the training pool; a recipe trains on the first
  10, the first 30 and all of the pool ("all": up to 100 per class), and on --draws random
  draws of 10 and 30 from the pool (seeds 1..draws), so 10 and 30 are reported as mean and
  spread over 1 + draws runs;
- a recipe goes through studio's own steps: features with the project's framing (quickdraw is
  a sketch set) and training copies (Kind.variants / FeatureSpec.vector, as
  training.train), training.fit, evaluation.score (top-confidence class);
- the baseline is the course's k-NN (k=5) on 28x28 grey raw pixels of the whole image,
  trained and scored on the same images.
Also per recipe: fit time at "all" and with every image of the set (150 per class), the
feature time per image, and per-frame latency (a 640x480 frame through Predictor.predict to
confidences, median) next to the baseline's in the same process. BLAS runs single-threaded.
When --data holds spoken_digits, the sound table of bench/sound_accuracy.py follows
(--no-sound leaves it out).

    python bench/accuracy.py [--data ../shared/data] [--draws 5] [--recipe NAME ...]
                             [--no-sound] [--json]

--recipe takes a name from RECIPES or TrainSettings overrides such as
"features=combined,C=3"; it may be given several times (default: "default").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from studio.features.spec import FeatureSpec
from studio.kinds import PHOTO, SKETCH, Kind
from studio.model.evaluation import score
from studio.model.predictor import Predictor
from studio.model.settings import TrainSettings
from studio.model.training import fit
from studio.samples import images

SETS = {"face_mask": PHOTO, "quickdraw": SKETCH, "rps": PHOTO, "rps_mediapipe": PHOTO}  # the project kind of each
SIZES = (10, 30, "all")
RECIPES = {  # overrides of each project kind's own default settings
    "default": {},  # pretrained features (photos) with the head that suits them
    "pretrained": {"features": "pretrained"},
    "hog": {"features": "hog"},  # colour HOG 64 px, 16-px cells, mirror, calibrated RBF SVC
    "combined": {"features": "combined"},  # the default before pretrained features
    "gist": {"features": "gist"},
    "lbp": {"features": "lbp"},
    "hog-no-mirror": {"features": "hog", "augment": False},
    "pixels-mlp": {"features": "pixels", "model": "mlp"},
}

Split = dict[str, list[int]]  # label -> image indices


def load_set(folder: Path) -> dict[str, list[np.ndarray]]:
    return {cls.name: [np.asarray(images.load(p)) for p in sorted(cls.iterdir()) if images.is_image_name(p.name)]
            for cls in sorted(p for p in folder.iterdir() if p.is_dir())}


def split(data: dict[str, list[np.ndarray]]) -> tuple[Split, Split]:
    """(pool, test): every third image by name is the test part."""
    pool = {lb: [i for i in range(len(imgs)) if i % 3 != 2] for lb, imgs in data.items()}
    test = {lb: [i for i in range(len(imgs)) if i % 3 == 2] for lb, imgs in data.items()}
    return pool, test


def subsets(pool: Split, n, draws: int):
    """('first', subset) then ('draw k', subset) for random draws; 'all' has only the first."""
    if n == "all":
        yield "first", pool
        return
    yield "first", {lb: idx[:n] for lb, idx in pool.items()}
    for k in range(draws):
        rng = np.random.default_rng(k + 1)
        yield f"draw {k + 1}", {lb: sorted(idx[i] for i in rng.choice(len(idx), min(n, len(idx)), replace=False))
                                for lb, idx in pool.items()}


def recipe_settings(recipe: str) -> dict:
    """A named recipe, or comma-separated TrainSettings overrides (``features=combined,C=3``), as
    overrides of a project kind's default settings."""
    if recipe in RECIPES:
        return RECIPES[recipe]
    types = {f.name: type(getattr(TrainSettings(), f.name)) for f in fields(TrainSettings)}
    changes = {}
    for item in recipe.split(","):
        key, _, value = item.partition("=")
        if key not in types:
            raise SystemExit(f"bench/accuracy.py: unknown recipe {recipe!r}; names: {', '.join(RECIPES)}, "
                             f"or overrides of {', '.join(types)}")
        changes[key] = value.lower() in ("1", "true", "yes") if types[key] is bool else types[key](value)
    TrainSettings.from_dict(changes)  # refuse impossible settings before any work
    return changes


def vectors(data: dict[str, list[np.ndarray]], spec: FeatureSpec, variants: tuple[str, ...]) -> tuple[dict, float]:
    """{variant: {label: (n, d) float32}} for every image, and the seconds per image."""
    t0 = time.perf_counter()
    out: dict = {v: {} for v in variants}
    for lb, imgs in data.items():
        for v, xs in spec.vectors(imgs, variants).items():
            out[v][lb] = np.stack(xs)
    return out, (time.perf_counter() - t0) / sum(map(len, data.values()))


def stack(vecs: dict, part: Split) -> tuple[np.ndarray, np.ndarray]:
    X = np.vstack([vecs[lb][idx] for lb, idx in part.items() if idx])
    y = np.array([lb for lb, idx in part.items() for _ in idx], dtype=object)
    return X, y


def train_and_score(vecs: dict, train: Split, test: Split, settings: TrainSettings, labels: list[str]):
    """(accuracy, fit seconds, estimator) of one recipe on one split."""
    X, y = stack(vecs["plain"], train)
    extra = [stack(vecs[v], train)[0] for v in vecs if v != "plain"]
    result = fit(X, y, settings, labels, np.vstack(extra) if extra else None)
    Xt, yt = stack(vecs["plain"], test)
    return score(result.estimator, Xt, yt, labels).accuracy, result.seconds, result.estimator


def grey28(img: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(img).convert("L").resize((28, 28), Image.Resampling.BILINEAR),
                      dtype=np.float32).ravel() / 255.0


def baseline(data: dict, train: Split, test: Split) -> tuple[float, KNeighborsClassifier]:
    X = np.stack([grey28(data[lb][i]) for lb, idx in train.items() for i in idx])
    y = [lb for lb, idx in train.items() for _ in idx]
    Xt = np.stack([grey28(data[lb][i]) for lb, idx in test.items() for i in idx])
    yt = np.array([lb for lb, idx in test.items() for _ in idx], dtype=object)
    model = KNeighborsClassifier(n_neighbors=5).fit(X, y)
    return float((model.predict(Xt) == yt).mean()), model


def median_ms(fn, frame: np.ndarray, repeats: int = 60) -> float:
    fn(frame)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(frame)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run_set(data: dict, kind: Kind, recipes: dict[str, dict], draws: int) -> dict:
    """Every recipe and the baseline on one set: accuracies per size and run, times."""
    labels = list(data)
    pool, test = split(data)
    everything = {lb: list(range(len(imgs))) for lb, imgs in data.items()}
    frame = np.asarray(Image.fromarray(data[labels[0]][test[labels[0]][0]]).resize((640, 480),
                                                                                   Image.Resampling.BILINEAR))
    runs = [(n, tag, train) for n in SIZES for tag, train in subsets(pool, n, draws)]
    out: dict = {"n_test": sum(map(len, test.values())), "n_all_per_class": max(map(len, pool.values())),
                 "baseline": {str(n): [] for n in SIZES}, "recipes": {}}
    knn = None
    for n, _, train in runs:
        acc, knn = baseline(data, train, test)
        out["baseline"][str(n)].append(acc)
    out["baseline"]["frame_ms"] = median_ms(lambda f: knn.predict_proba(grey28(f)[None]), frame)
    for name, overrides in recipes.items():
        settings = TrainSettings.from_dict({**kind.default_settings(), **overrides})
        spec = settings.spec_for(kind)
        vecs, feature_s = vectors(data, spec, kind.variants(settings.augment))
        row: dict = {str(n): [] for n in SIZES}
        for n, _, train in runs:
            acc, seconds, est = train_and_score(vecs, train, test, settings, labels)
            row[str(n)].append(acc)
            if n == "all":
                row["fit_s_all"] = seconds
                row["frame_ms"] = median_ms(Predictor(est, labels, spec).predict, frame)
        row["fit_s_150"] = train_and_score(vecs, everything, test, settings, labels)[1]
        row["feature_ms_per_image"] = feature_s * 1000
        out["recipes"][name] = row
    return out


def accuracies(set_result: dict, name: str, n) -> list[float]:
    """One set's accuracies per run for recipe ``name`` (or "baseline") at size ``n``."""
    row = set_result["baseline"] if name == "baseline" else set_result["recipes"][name]
    return row[str(n)]


def summary(results: dict, name: str, n) -> dict:
    """Mean over sets of each run's accuracy: mean, sd and range over runs (draws)."""
    per_run = np.mean([accuracies(r, name, n) for r in results.values()], axis=0)
    return {"mean": float(per_run.mean()), "sd": float(per_run.std()), "min": float(per_run.min()),
            "max": float(per_run.max()), "first": float(per_run[0])}


def table(results: dict, recipes: dict[str, dict]) -> str:
    lines = ["accuracy on every third image of each class; 10 and 30: mean ± sd over first-N and random draws;",
             "baseline: k-NN k=5 on 28x28 grey raw pixels, same images, same run", ""]
    head = (f"{'recipe':<14} {'set':<14} {'10':>12} {'30':>12} {'all':>6} | {'fit s all':>9} {'fit s 150':>9} "
            f"{'feat ms':>7} {'ms/frame':>8}")
    for name in [*recipes, "baseline"]:
        lines.append(head)
        for set_name, r in results.items():
            row = r["baseline"] if name == "baseline" else r["recipes"][name]
            cells = [f"{np.mean(row[str(n)]):.3f}±{np.std(row[str(n)]):.3f}" for n in (10, 30)]
            times = (f"{'':>9} {'':>9} {'':>7} {row['frame_ms']:>8.2f}" if name == "baseline" else
                     f"{row['fit_s_all']:>9.2f} {row['fit_s_150']:>9.2f} {row['feature_ms_per_image']:>7.2f} "
                     f"{row['frame_ms']:>8.2f}")
            lines.append(f"{name:<14} {set_name:<14} {cells[0]:>12} {cells[1]:>12} {np.mean(row['all']):>6.3f} | "
                         + times)
        lines.append("")
    lines += ["mean over the sets (10 / 30: mean ± sd over runs, [min-max]; first-N runs in brackets):",
              f"{'recipe':<14} {'10':>26} {'30':>26} {'all':>6} | {'max fit s 150':>13} {'max ms/frame':>12} "
              f"{'x baseline ms':>13}"]
    for name in [*recipes, "baseline"]:
        cells = []
        for n in (10, 30):
            s = summary(results, name, n)
            cells.append(f"{s['mean']:.3f}±{s['sd']:.3f} [{s['min']:.3f}-{s['max']:.3f}] ({s['first']:.3f})")
        all_ = summary(results, name, "all")["mean"]
        if name == "baseline":
            times = f"{'':>13} {max(r['baseline']['frame_ms'] for r in results.values()):>12.2f} {1.0:>13.1f}"
        else:
            rows = [r["recipes"][name] for r in results.values()]
            ratio = np.median([r["recipes"][name]["frame_ms"] / r["baseline"]["frame_ms"] for r in results.values()])
            times = (f"{max(r['fit_s_150'] for r in rows):>13.2f} {max(r['frame_ms'] for r in rows):>12.2f} "
                     f"{ratio:>13.1f}")
        lines.append(f"{name:<14} {cells[0]:>26} {cells[1]:>26} {all_:>6.3f} | {times}")
    lines.append("")
    defaults = {kind.name: kind.default_settings() for kind in (PHOTO, SKETCH)}
    for name, overrides in recipes.items():
        lines.append(f"{name}: each kind's default settings {json.dumps(defaults)} with {json.dumps(overrides)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--draws", type=int, default=5, help="random draws of 10 and 30 per class")
    parser.add_argument("--recipe", action="append", help="a name from RECIPES or settings overrides (repeatable)")
    parser.add_argument("--no-sound", action="store_true", help="leave out the spoken-digits table")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"bench/accuracy.py: {args.data} not found; pass --data DIR (the image sets of ../shared/data)")
    recipes = {name: recipe_settings(name) for name in (args.recipe or ["default", "combined"])}
    results = {}
    with threadpool_limits(1):
        for name, kind in SETS.items():
            folder = args.data / name
            if not folder.is_dir():
                print(f"skipping {name}: {folder} not found", file=sys.stderr)
                continue
            results[name] = run_set(load_set(folder), kind, recipes, args.draws)
            print(f"done {name}", file=sys.stderr)
        sound = None
        if not args.no_sound and (args.data / "spoken_digits").is_dir():
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import sound_accuracy

            sound = sound_accuracy.run(sound_accuracy.load(args.data / "spoken_digits"))
    if args.json:
        means = {name: {str(n): summary(results, name, n) for n in SIZES} for name in [*recipes, "baseline"]}
        print(json.dumps({"recipes": recipes, "mean_over_sets": means,
                          "images": results, "sound": sound}, indent=2))
        return
    print(table(results, recipes))
    if sound:
        print("\n" + sound_accuracy.table(sound))


if __name__ == "__main__":
    main()
