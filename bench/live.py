"""Live prediction in the browser: frames per second reaching the model, and the median time
from a change in the webcam video to the new label on the page, for one and for two users.

It starts studio in a subprocess with a project trained on photos of rock and paper (stored
mirrored, as the webcam stores them), opens Debian's Chromium (Playwright, headless) with a
fake webcam playing those photos (3 s of rock, 3 s of paper, looping; see
tests/browser/browser_kit.py), starts the webcam in one page, then in two, and prints a table.
Each --recipe (default: the photo default, pretrained features, then the previous default,
combined hand-made features) retrains the project while the server runs, then measures.

    .venv/bin/python bench/live.py [--seconds 30] [--recipe default --recipe combined] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from accuracy import recipe_settings  # noqa: E402
from browser_kit import (  # noqa: E402
    MARKERS,
    Server,
    frame,
    label_latencies,
    launch,
    make_y4m,
    missing_tools,
    probe,
    reset_probe,
    start_camera,
)

from studio.model import training  # noqa: E402
from studio.model.settings import TrainSettings  # noqa: E402
from studio.samples.store import Store  # noqa: E402

PHOTOS = ROOT / "tests" / "fixtures" / "rps"
NAMES = {"red": "Rock", "blue": "Paper"}


def prepare(work: Path) -> tuple[Path, Server, object]:
    """The fake webcam video, a server, and its only project, holding the video's photos."""
    rock, paper = (sorted((PHOTOS / c).iterdir())[:12] for c in ("rock", "paper"))
    y4m = make_y4m(work / "webcam.y4m", rock, paper)
    server = Server(work)
    project = Store(server.captures).create("Bench", classes=list(NAMES.values()))
    for label, photos, marker in (("Rock", rock, MARKERS["red"]), ("Paper", paper, MARKERS["blue"])):
        for photo in photos:
            project.add_sample(label, np.ascontiguousarray(frame(photo, marker)[:, ::-1]))  # mirrored
    return y4m, server.start(), project


def start_stream(page) -> None:
    start_camera(page)
    page.locator("#live-label [data-testid='label-output-value']").wait_for(timeout=30_000)


def measure(ctx, url: str, users: int, seconds: float) -> dict:
    """Open ``users`` pages streaming at once; sample their frames/s, time their labels."""
    pages = [ctx.new_page() for _ in range(users)]
    for page in pages:
        page.goto(url)
        start_stream(page)
    pages[0].wait_for_timeout(3000)  # let the streams settle before measuring
    for page in pages:
        reset_probe(page)
    fps: list[list[float]] = [[] for _ in pages]
    end = time.time() + seconds
    while time.time() < end:
        pages[0].wait_for_timeout(1000)
        for i, page in enumerate(pages):
            m = re.search(r"([\d.]+) frames/s", page.locator("#live-stats").inner_text())
            if m:
                fps[i].append(float(m.group(1)))
    changes, latencies = 0, []
    for page in pages:
        seen, lat = label_latencies(probe(page), NAMES)
        changes += len(seen)
        latencies += lat
    for page in pages:
        page.close()
    lat = sorted(latencies)
    return {"users": users, "fps_per_user": [round(statistics.median(f), 1) if f else 0.0 for f in fps],
            "changes": changes, "followed": len(lat),
            "latency_median_ms": round(statistics.median(lat)) if lat else None,
            "latency_p90_ms": round(lat[min(len(lat) - 1, int(0.9 * len(lat)))]) if lat else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30, help="measuring time per scenario (default 30)")
    ap.add_argument("--recipe", action="append", help="as bench/accuracy.py's --recipe (repeatable)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    why = missing_tools()
    if why:
        print(f"bench/live.py {why}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="studio-live-"))
    server = None
    try:
        y4m, server, project = prepare(work)
        rows = []
        with sync_playwright() as p:
            ctx = launch(p, y4m, work / "profile")
            for recipe in args.recipe or ["default", "combined"]:
                training.train(project, TrainSettings.from_dict({**project.settings(), **recipe_settings(recipe)}))
                rows += [{"recipe": recipe, **measure(ctx, server.url, users, args.seconds)} for users in (1, 2)]
            ctx.close()
    finally:
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"Live prediction, stream_every=0.1 s, {args.seconds:.0f} s per scenario "
          f"(server start {server.startup_s:.1f} s)")
    print("| recipe | users | frames/s reaching the model, per user | video change -> label, median ms | p90 ms "
          "| changes followed |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['recipe']} | {r['users']} | {' / '.join(str(f) for f in r['fps_per_user'])} | "
              f"{r['latency_median_ms']} | "
              f"{r['latency_p90_ms']} | {r['followed']} of {r['changes']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
