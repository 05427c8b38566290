"""Training time and peak memory as a project grows: 10 classes, 100 to 10,000 images.

Images: ten classes of the real sets in --data (face_mask's two, rps's three, rps_mediapipe's
four and quickdraw's cat), each grown to the target count with random augmentations of its
own images (a crop of 70-100 % of the side, a rotation of up to 15 degrees, a mirror image
half the time, brightness and contrast times 0.7-1.3), stored as PNG through studio's store in
a project under --work (a temporary folder by default).

For each size (--sizes, images per class): the first training with an empty feature cache
(every image decoded; features of each image and its mirror image cached on disk as float32),
then a retraining after adding one image per class, which must decode only those, and again
after adding one more per class: first in a fresh process ("+1/class s", as ``studio train``
runs), then in a process that has loaded the features' network before the clock starts ("warm
s", as the running app has once it has trained or predicted anything).
Each training is ``training.train`` (features, the held-out split, fit, scoring, saving) in a
fresh process, so its peak memory is its own: the peak resident set (ru_maxrss, which also
counts libsvm's kernel cache) and tracemalloc's peak of Python and numpy allocations, taken in
a cold training of its own (tracemalloc slows training down: the timed runs go without it). BLAS
runs single-threaded, as training does. The longest pause between progress reports shows
how long the progress bar stands still (the fit is one step).

Several --recipe options train each size with each recipe in turn, on the same images.
--classes N uses the first N of the ten classes: ``--classes 3 --sizes 150`` is a typical small
project (rps's three gestures and a mask class, 150 images each).

    python bench/scale.py [--data ../shared/data] [--sizes 10,30,100,300,1000] [--recipe default ...]
                          [--classes 10] [--work DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import recipe_settings  # noqa: E402

from studio.samples import images  # noqa: E402
from studio.samples.store import Store  # noqa: E402

CLASSES = [("face_mask", "with_mask"), ("face_mask", "without_mask"), ("rps", "paper"), ("rps", "rock"),
           ("rps", "scissors"), ("rps_mediapipe", "none"), ("rps_mediapipe", "paper"), ("rps_mediapipe", "rock"),
           ("rps_mediapipe", "scissors"), ("quickdraw", "cat")]
PROJECT = "scale"


def augmented(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One random variation of ``img``: crop, rotation, mirror, brightness and contrast."""
    side = min(img.size) * rng.uniform(0.7, 1.0)
    left = rng.uniform(0, img.width - side)
    top = rng.uniform(0, img.height - side)
    out = img.crop((round(left), round(top), round(left + side), round(top + side)))
    out = out.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))
    if rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.7, 1.3))
    return ImageEnhance.Contrast(out).enhance(rng.uniform(0.7, 1.3))


def grow(project, sources: dict[str, list[Image.Image]], per_class: int, rng: np.random.Generator) -> None:
    """Add augmented images until every class holds ``per_class``."""
    counts = project.counts()
    for label, originals in sources.items():
        for i in range(counts[label], per_class):
            project.add_sample(label, augmented(originals[i % len(originals)], rng))


def train_once(captures: Path, recipe: str, warm: bool = False, trace: bool = False) -> dict:
    """Train the project once, in this process; time, peak RSS, cache use and progress pauses.
    ``warm``: first load what a running app has loaded (the features' network), off the clock;
    ``trace``: measure the peak of Python and numpy allocations too (tracemalloc, which slows the
    training down, so timed runs go without it)."""
    from threadpoolctl import threadpool_limits

    from studio.model.settings import TrainSettings
    from studio.model.training import train

    project = Store(captures).project(PROJECT)
    settings = TrainSettings.from_dict({**project.settings(), **recipe_settings(recipe)})
    if warm:
        spec = project.kind.spec(settings.features, settings.size, settings.color)
        spec.featurize(np.full((64, 64, 3), 128, np.uint8))
    reports: list[float] = []
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    with threadpool_limits(1):
        record = train(project, settings, progress=lambda i, n, msg: reports.append(time.perf_counter()))
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    marks = [t0, *reports, t0 + seconds]
    m = record.metrics
    return {"seconds": seconds, "feature_seconds": m.feature_seconds, "fit_seconds": m.fit_seconds,
            "cache": {"hits": m.cache_hits, "misses": m.cache_misses}, "n_train": m.n_train,
            "test_accuracy": m.test.accuracy,
            "tracemalloc_peak_mb": peak / 2**20,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "longest_pause_s": max(b - a for a, b in zip(marks, marks[1:]))}


def in_child(captures: Path, recipe: str, warm: bool = False, trace: bool = False) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(captures), "--recipe", recipe,
                          *(["--warm"] if warm else []), *(["--trace"] if trace else [])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run(data: Path, work: Path, sizes: list[int], recipes: list[str], n_classes: int) -> list[dict]:
    sources: dict[str, list[Image.Image]] = {}
    for set_name, cls in CLASSES[:n_classes]:
        files = sorted(p for p in (data / set_name / cls).iterdir() if images.is_image_name(p.name))
        sources[f"{cls} ({set_name})"] = [images.load(p) for p in files]
    captures = work / "captures"
    project = Store(captures).create(PROJECT, classes=list(sources))
    rng = np.random.default_rng(0)
    rows = []
    for per_class in sizes:
        for recipe in recipes:
            grow(project, sources, per_class, rng)
            for f in project.cache_dir.glob("*"):
                f.unlink()
            traced = in_child(captures, recipe, trace=True)
            for f in project.cache_dir.glob("*"):
                f.unlink()
            first = in_child(captures, recipe)
            cache_mb = sum(f.stat().st_size for f in project.cache_dir.glob("*")) / 2**20
            before = {s.path for s in project.samples()}
            grow(project, sources, per_class + 1, rng)  # one more image per class
            again = in_child(captures, recipe)
            grow(project, sources, per_class + 2, rng)  # and one more, for a process with the network loaded
            warm = in_child(captures, recipe, warm=True)
            first["tracemalloc_peak_mb"] = traced["tracemalloc_peak_mb"]
            rows.append({"recipe": recipe, "images": per_class * len(sources), "first": first,
                         "after_adding": again, "warm": warm, "added": len(sources), "cache_mb": cache_mb})
            for s in project.samples():  # the next recipe starts from the same images
                if s.path not in before:
                    project.delete_sample(s.label, s.path.name)
            print(f"done {recipe}: {per_class * len(sources)} images", file=sys.stderr)
    return rows


def table(rows: list[dict], recipes: list[str]) -> str:
    lines = [*(f"recipe {r!r}: {json.dumps(recipe_settings(r))} over the project kind's defaults" for r in recipes), "",
             f"{'recipe':<12} {'images':>6} | {'train s':>7} {'features s':>10} {'fit s':>6} {'pause s':>7} "
             f"{'peak RSS MB':>11} {'traced MB':>9} {'cache MB':>8} | {'+1/class s':>10} {'decoded':>7} {'reused':>6} "
             f"{'warm s':>6}"]
    for r in rows:
        f, a = r["first"], r["after_adding"]
        lines.append(f"{r['recipe']:<12} {r['images']:>6} | {f['seconds']:>7.1f} {f['feature_seconds']:>10.1f} "
                     f"{f['fit_seconds']:>6.1f} {f['longest_pause_s']:>7.1f} {f['max_rss_mb']:>11.0f} "
                     f"{f['tracemalloc_peak_mb']:>9.0f} {r['cache_mb']:>8.0f} | {a['seconds']:>10.1f} "
                     f"{a['cache']['misses']:>7} {a['cache']['hits']:>6} {r['warm']['seconds']:>6.1f}")
    for recipe in recipes:
        mine = [r for r in rows if r["recipe"] == recipe]
        if len(mine) > 2:
            lines.append("")
            for key, name in (("fit_seconds", "fit time"), ("max_rss_mb", "peak RSS")):
                xs = np.log([r["images"] for r in mine])
                ys = np.log([max(r["first"][key], 1e-3) for r in mine])
                lines.append(f"{recipe}: {name} grows as images^{np.polyfit(xs[-3:], ys[-3:], 1)[0]:.2f} "
                             "over the last three sizes")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--sizes", default="10,30,100,300,1000", help="images per class, comma-separated")
    parser.add_argument("--recipe", action="append", help="as bench/accuracy.py's --recipe (repeatable; "
                        "default: default and combined)")
    parser.add_argument("--classes", type=int, default=len(CLASSES), help="use the first N of the ten classes")
    parser.add_argument("--work", type=Path, help="folder for the project (default: a temporary one)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    recipes = args.recipe or ["default", "combined"]
    if args.child:
        print(json.dumps(train_once(args.child, recipes[0], args.warm, args.trace)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        rows = run(args.data, Path(tmp), sizes, recipes, args.classes)
    print(json.dumps(rows, indent=2) if args.json else table(rows, recipes))


if __name__ == "__main__":
    main()
