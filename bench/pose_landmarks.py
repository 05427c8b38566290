"""Pose landmarks of photo files, found by the very JS module the pose page and the exported
web page run (studio/static/pose/studio-pose.js: MediaPipe Pose, lite model) in headless Chromium.

Python has no runtime for MediaPipe's pose graph, so the benches and the test fixtures take the
browser's landmarks: ``studio/static`` is served from 127.0.0.1 on a free port (in a thread), a
tiny page imports ``/pose/studio-pose.js`` and each photo goes through
``runner.detect(img, {fresh: true})`` on a runner made with ``smooth: false``: tracking is dropped
before each photo and no smoothing filter carries over, so each photo's landmarks are exactly
those a freshly loaded page gives (checked: identical to the last bit). Every request that would
leave 127.0.0.1 is aborted and counted.

Results are cached in ``.cache/pose-landmarks/<sha256 of the file bytes>.json`` (at the repository
root), so a second run over the same photos does not start Chromium at all.

    python bench/pose_landmarks.py PHOTO... [--out FILE.json] [--no-cache] [--model lite|full|heavy]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import mimetypes
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "studio" / "static"
CACHE = ROOT / ".cache" / "pose-landmarks"
CHROMIUM = "/usr/bin/chromium"
MODELS = {"lite": 0, "full": 1, "heavy": 2}
# Stored in each cache entry; an entry made another way is ignored. Bump it when the page below or
# studio-pose.js changes what a photo's landmarks are.
MADE_BY = "studio-pose.js detect(img, {fresh: true}), smooth: false, @mediapipe/pose 0.5.1675469404"
# As tests/browser/browser_kit.py starts Chromium (no first-run, no component updates, no
# background requests), minus --disable-gpu: MediaPipe's graph needs WebGL (SwiftShader here).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-extensions",
                  "--disable-default-apps", "--metrics-recording-only", "--mute-audio"]
PAGE_PATH = "/__pose_bench__.html"
PAGE = """<!doctype html><meta charset="utf-8"><title>pose landmarks</title>
<script type="module">
import { createPoseRunner } from '/pose/studio-pose.js';
const started = performance.now();
window.__runner = createPoseRunner({ base: '/node_modules/@mediapipe/pose/', modelComplexity: %d, smooth: false })
  .then((r) => { window.__init_s = (performance.now() - started) / 1000; return r; });
window.__detect = async (src) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const runner = await window.__runner;
  const t0 = performance.now();
  const out = await runner.detect(img, { fresh: true });
  return { ...out, seconds: (performance.now() - t0) / 1000 };
};
</script>"""

Result = dict | None  # {"landmarks": [[x, y, z, visibility]] * 33, "width": W, "height": H} or None


class _Handler(SimpleHTTPRequestHandler):
    """Files of studio/static plus the bench page; silent, and MIME types pose.js relies on."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".wasm": "application/wasm", ".data": "application/octet-stream",
                      ".tflite": "application/octet-stream", ".binarypb": "application/octet-stream"}
    page = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] != PAGE_PATH:
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve_static(page: str) -> Iterator[str]:
    """studio/static on 127.0.0.1 (a free port) in a thread, plus ``page`` (HTML) at PAGE_PATH;
    yields that page's URL. Also used by bench/pose_webcam_fps.py."""
    handler = type("Handler", (_Handler,), {"page": page.encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(STATIC)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PAGE_PATH}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Extractor:
    """One headless Chromium page with the pose runner loaded; ``detect`` one photo at a time.
    Used as a context manager: Chromium and the server stop on exit."""

    def __init__(self, model_complexity: int = 0) -> None:
        self.model_complexity = model_complexity
        self.blocked: list[str] = []  # requests that tried to leave 127.0.0.1 (should stay empty)
        self.init_s = 0.0
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Extractor:
        from playwright.sync_api import sync_playwright

        if not (STATIC / "node_modules" / "@mediapipe" / "pose" / "pose.js").exists():
            raise RuntimeError("studio/static/node_modules is missing: run `make` (npm ci) first")
        try:
            url = self._stack.enter_context(serve_static(PAGE % self.model_complexity))
            pw = self._stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            self._stack.callback(browser.close)
            context = browser.new_context()
            origin = url.split(PAGE_PATH)[0]
            context.route("**/*", self._only_local(origin))
            self.page = context.new_page()
            self.page.set_default_timeout(120_000)
            t0 = time.perf_counter()
            self.page.goto(url)
            self.page.evaluate("window.__runner.then(() => true)")
            self.init_s = time.perf_counter() - t0
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _only_local(self, origin: str):
        def handle(route) -> None:
            if route.request.url.startswith(origin + "/") or route.request.url.startswith("data:"):
                route.continue_()
            else:
                self.blocked.append(route.request.url)
                route.abort()
        return handle

    def detect(self, photo: Path) -> tuple[Result, float]:
        """Landmarks of one photo (None: no pose found) and the seconds ``detect`` took in the page."""
        mime = mimetypes.guess_type(photo.name)[0] or "image/jpeg"
        src = f"data:{mime};base64,{base64.b64encode(photo.read_bytes()).decode()}"
        out = self.page.evaluate("(src) => window.__detect(src)", src)
        result = {"landmarks": out["landmarks"], "width": out["width"], "height": out["height"]}
        return (result if out["landmarks"] else None), out["seconds"]


def _cache_file(data: bytes, model_complexity: int) -> Path:
    suffix = "" if model_complexity == 0 else f"-m{model_complexity}"
    return CACHE / f"{hashlib.sha256(data).hexdigest()}{suffix}.json"


def _write_json(path: Path, data: object) -> None:
    """Whole or not at all: a killed run must not leave half a JSON file in the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def landmarks_of(paths: list[Path], model_complexity: int = 0, cache: bool = True,
                 stats: dict | None = None, progress: bool = False) -> list[Result]:
    """For each photo, ``{"landmarks": [[x, y, z, visibility]] * 33, "width": W, "height": H}``
    (MediaPipe's normalised image coordinates) or None when no pose is found. Cached per file
    content; Chromium starts only if some photo is not in the cache. ``stats`` (if given) gets
    ``init_s``, ``seconds`` (per photo detected), ``cached``, ``blocked`` (outside requests)."""
    paths = [Path(p) for p in paths]
    results: list[Result] = [None] * len(paths)
    todo: list[tuple[int, Path]] = []
    info = stats if stats is not None else {}
    info.update(init_s=0.0, seconds=[], cached=0, blocked=[])
    for i, path in enumerate(paths):
        cached = _cache_file(path.read_bytes(), model_complexity)
        data = json.loads(cached.read_text()) if cache and cached.exists() else {}
        if data.get("made_by") == MADE_BY:
            results[i] = {k: data[k] for k in ("landmarks", "width", "height")} if data["landmarks"] else None
            info["cached"] += 1
        else:
            todo.append((i, path))
    if not todo:
        return results
    with Extractor(model_complexity) as ex:
        info["init_s"] = ex.init_s
        for n, (i, path) in enumerate(todo, 1):
            result, seconds = ex.detect(path)
            info["seconds"].append(seconds)
            results[i] = result
            record = {**(result or {"landmarks": None}), "made_by": MADE_BY}
            _write_json(_cache_file(path.read_bytes(), model_complexity), record)
            if progress:
                found = "pose" if result else "no pose"
                print(f"  [{n}/{len(todo)}] {path.name}: {found}, {seconds:.2f} s", file=sys.stderr)
        info["blocked"] = list(ex.blocked)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("photos", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="write {photo path: result or null} as JSON here")
    ap.add_argument("--no-cache", action="store_true", help="detect again even if cached (and refresh the cache)")
    ap.add_argument("--model", choices=list(MODELS), default="lite")
    ap.add_argument("--quiet", action="store_true", help="no line per photo")
    args = ap.parse_args(argv)

    stats: dict = {}
    t0 = time.perf_counter()
    results = landmarks_of(args.photos, MODELS[args.model], cache=not args.no_cache, stats=stats,
                           progress=not args.quiet)
    wall = time.perf_counter() - t0
    found = sum(r is not None for r in results)
    print(f"{found} of {len(results)} photos have a pose ({stats['cached']} from the cache)")
    secs = stats["seconds"]
    if secs:
        print(f"Chromium + model start: {stats['init_s']:.1f} s; detect per photo (with the grey frame): "
              f"median {statistics.median(secs):.2f} s, first {secs[0]:.2f} s, max {max(secs):.2f} s")
    print(f"wall time {wall:.1f} s ({wall / len(results):.2f} s per photo)")
    if stats["blocked"]:
        print(f"blocked {len(stats['blocked'])} requests leaving 127.0.0.1: {stats['blocked'][:3]}")
    if args.out:
        _write_json(args.out, {str(p): r for p, r in zip(args.photos, results)})
        print(f"wrote {args.out}")
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
