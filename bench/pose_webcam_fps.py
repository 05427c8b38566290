"""How fast studio-pose.js follows a webcam in headless Chromium: a page runs
``runner.detect(video)`` back to back on a getUserMedia <video> whose fake webcam plays a
640x480 video of yoga photos (tests/browser/pose_kit.py), and reports frames per second, how often
a pose is found, and whether the skeleton follows the pose on screen (wrists above the nose for
tree / goddess, at shoulder height for warrior II). Chromium is started exactly as the browser
tests start it (tests/browser/browser_kit.py ``launch``), so a pass here means those flags give
MediaPipe its WebGL.

    python bench/pose_webcam_fps.py [--data ../shared/data] [--seconds 40] [--model lite|full] [--gap 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(ROOT / "bench"))

from browser_kit import launch  # noqa: E402
from pose_kit import POSE_PROBE_JS, make_pose_y4m  # noqa: E402
from pose_landmarks import MODELS, PAGE_PATH, serve_static  # noqa: E402

POSES = ["warrior2", "tree", "downdog"]
PAGE = """<!doctype html><meta charset="utf-8"><title>pose webcam</title>
<div style="position:relative;width:640px"><video id="cam" autoplay muted playsinline width="640"></video>
<canvas id="overlay" width="640" height="480" style="position:absolute;left:0;top:0"></canvas></div>
<script type="module">
import { createPoseRunner, drawSkeleton } from '/pose/studio-pose.js';
const S = window.__stats = { frames: [], error: null, ready: false };
try {
  const video = document.getElementById('cam');
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  await video.play();
  const t0 = performance.now();
  const runner = await createPoseRunner({ base: '/node_modules/@mediapipe/pose/', modelComplexity: %d });
  S.init_ms = performance.now() - t0;
  S.ready = true;
  const overlay = document.getElementById('overlay').getContext('2d');
  let fresh = true;  // as the pose page does: only the first frame (cuts in the video are not told)
  const loop = async () => {
    const showing = window.__poseShowing(video);
    const t = performance.now();
    const { landmarks } = await runner.detect(video, { fresh });
    fresh = false;
    overlay.clearRect(0, 0, 640, 480);
    drawSkeleton(overlay, landmarks, 640, 480);
    S.frames.push({ t: performance.now(), ms: performance.now() - t, showing, lm: landmarks });
    setTimeout(loop, 0);
  };
  loop();
} catch (e) { S.error = String(e && e.stack || e); }
</script>"""


def shape(lm: list | None) -> str:
    """A rough name for a skeleton, to see it follow the video: arms up, arms out, hips up."""
    if not lm:
        return "none"
    nose_y, wrists_y = lm[0][1], (lm[15][1] + lm[16][1]) / 2
    shoulders_y, hips_y = (lm[11][1] + lm[12][1]) / 2, (lm[23][1] + lm[24][1]) / 2
    if hips_y < shoulders_y - 0.05:
        return "hips up"
    if wrists_y < nose_y:
        return "arms up"
    if abs(wrists_y - shoulders_y) < 0.08:
        return "arms out"
    return "other"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--seconds", type=float, default=40.0, help="how long to measure after warm-up")
    ap.add_argument("--model", choices=list(MODELS), default="lite")
    ap.add_argument("--gap", type=float, default=0.0, help="seconds of grey after each photo (drops the tracker)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="pose-fps-"))
    poses = [sorted((args.data / "pose" / p).glob("*.jpg"))[:2] for p in POSES]
    y4m = make_pose_y4m(work / "poses.y4m", poses, seconds_each=8.0, fps=10, gap_s=args.gap)
    with serve_static(PAGE % MODELS[args.model]) as url, sync_playwright() as pw:
        ctx = launch(pw, y4m, work / "profile", probe_js=POSE_PROBE_JS)
        page = ctx.new_page()
        t0 = time.time()
        page.goto(url.replace(PAGE_PATH, PAGE_PATH + "?webcam"))
        page.wait_for_function("window.__stats && (window.__stats.error || window.__stats.frames.length >= 1)",
                               timeout=120_000)
        first_s = time.time() - t0
        stats = page.evaluate("window.__stats")
        if stats["error"]:
            print("page error:", stats["error"])
            return 1
        warm = len(page.evaluate("window.__stats.frames"))
        page.wait_for_timeout(args.seconds * 1000)
        frames = page.evaluate("window.__stats.frames")[warm:]
        page.screenshot(path=str(work / "page.png"))
        ctx.close()
    y4m.unlink()  # ~180 MB; the screenshot stays
    shutil.rmtree(work / "profile", ignore_errors=True)
    span = (frames[-1]["t"] - frames[0]["t"]) / 1000 if len(frames) > 1 else float("nan")
    fps = (len(frames) - 1) / span
    found = sum(f["lm"] is not None for f in frames)
    print(f"model {args.model}: runner ready in {stats['init_ms'] / 1000:.1f} s, first landmarks "
          f"{first_s:.1f} s after page load")
    median_ms = statistics.median(f["ms"] for f in frames)
    print(f"{len(frames)} frames in {span:.1f} s: {fps:.2f} fps, median {median_ms:.0f} ms a frame; "
          f"pose found in {found} of {len(frames)}")
    by_pose: dict[str, dict[str, int]] = {}
    for f in frames:
        name = POSES[f["showing"]] if 0 <= f["showing"] < len(POSES) else "?"
        counts = by_pose.setdefault(name, {})
        counts[shape(f["lm"])] = counts.get(shape(f["lm"]), 0) + 1
    for name, counts in by_pose.items():
        print(f"  video shows {name}: skeleton {counts}")
    print(f"screenshot: {work / 'page.png'}")
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
