"""Import speed: a folder of many small images into a new project, against the cost of decoding
each image and writing it as a PNG.

Images: --images small pictures (default 10,000) in ten class folders, made from the real sets in
--data (random crops of 40-100 px, saved as JPEG or PNG like photos and sketches people have), or
plain random pictures when --data is missing. Then, in this process, each timed --repeat times
(median quoted):

- floor: every file read, decoded, flattened to RGB, encoded as PNG and written atomically
  (temporary file, fsync, rename) one after another: what storing an image costs at least;
- import: ``studio import`` of the folder (``transfer.import_into``) into a new project, with
  --workers threads storing images (1: one after another, as before).

    python bench/import_speed.py [--data ../shared/data] [--images 10000] [--repeat 3]
                                 [--workers 1,0] [--work DIR] [--json]

``--workers 0`` means studio's default.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from studio.samples import atomic, images, transfer  # noqa: E402
from studio.samples.store import Store  # noqa: E402

SETS = ("face_mask", "rps", "rps_mediapipe", "quickdraw")


def originals(data: Path) -> list[Image.Image]:
    found = []
    for name in SETS:
        for folder in sorted((data / name).iterdir()) if (data / name).is_dir() else ():
            found += [images.load(p) for p in sorted(folder.iterdir())[:20] if images.is_image_name(p.name)]
    return found


def make_folder(dest: Path, n: int, data: Path, rng: np.random.Generator) -> None:
    """``n`` small images in ten class folders, JPEG and PNG mixed."""
    sources = originals(data)
    for i in range(n):
        side = int(rng.integers(40, 101))
        if sources:
            img = sources[i % len(sources)]
            s = min(img.size)
            left, top = int(rng.integers(0, img.width - s + 1)), int(rng.integers(0, img.height - s + 1))
            img = img.crop((left, top, left + s, top + s)).resize((side, side))
        else:
            img = Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
        folder = dest / f"class{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        img.save(folder / f"{i:05d}.{'jpg' if i % 2 else 'png'}")


def floor(src: Path, dest: Path) -> float:
    """Seconds to decode every image and write it as a PNG atomically, one after another."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    dest.mkdir(parents=True)
    t0 = time.perf_counter()
    for i, p in enumerate(files):
        with Image.open(io.BytesIO(p.read_bytes())) as img:
            rgb = img.convert("RGB")
        buf = io.BytesIO()
        rgb.save(buf, format="PNG")
        atomic.write_new(dest / f"{i}.png", buf.getvalue())
    return time.perf_counter() - t0


def imported(src: Path, captures: Path, project: str, workers: int) -> float:
    t0 = time.perf_counter()
    report = transfer.import_into(Store(captures), project, src, workers=workers or None)
    seconds = time.perf_counter() - t0
    assert sum(report.added.values()) == sum(1 for p in src.rglob("*") if p.is_file()), report.summary()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1,0", help="comma-separated thread counts; 0: studio's default")
    ap.add_argument("--work", type=Path, help="where to make the folders (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        src = work / "source"
        make_folder(src, args.images, args.data, np.random.default_rng(0))
        times: dict[str, list[float]] = {"floor": []}
        for r in range(args.repeat):
            times["floor"].append(floor(src, work / f"floor{r}"))
            for w in workers:
                times.setdefault(f"import, workers={w or 'default'}", []).append(
                    imported(src, work / "captures", f"run{r}-{w}", w))
            print(f"done round {r + 1} of {args.repeat}", file=sys.stderr)
    medians = {k: statistics.median(v) for k, v in times.items()}
    if args.json:
        print(json.dumps({"images": args.images, "seconds": times, "medians": medians}, indent=2))
        return
    print(f"{args.images} images, median of {args.repeat} (ratio: against the floor, same process)")
    print(f"{'what':<26} {'seconds':>8} {'ms/image':>9} {'x floor':>8}")
    for k, s in medians.items():
        print(f"{k:<26} {s:>8.1f} {1000 * s / args.images:>9.2f} {s / medians['floor']:>8.2f}")


if __name__ == "__main__":
    main()
