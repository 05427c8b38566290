"""What the browser tests and ``bench/live.py`` share: a fake webcam video made from real
photos, a studio server in a subprocess, Debian's Chromium driven by Playwright, and an
in-page probe that times when the video and the live label change.

The video shows 12 photos of one class, then 12 of another, looping. A coloured strip down
its left edge names the class on screen (red for the first, blue for the second); the strip
lies outside the centre square that studio's features look at, so the model never sees it,
while the probe can tell which class is showing at any moment. A test may instead give its own
segments (photos, marker, seconds per photo), with green and yellow markers besides.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT, STRIP = 320, 240, 40
FPS = 30
SEGMENT_S = 3.0  # seconds each class is on screen
MARKERS = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 255, 0), "yellow": (255, 255, 0)}


def missing_tools() -> str | None:
    """Why the browser tier cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"needs Debian's Chromium at {CHROMIUM} (make system)"
    if not shutil.which("ffmpeg"):
        return "needs ffmpeg (make system)"
    return None


def frame(photo: Path, marker: tuple[int, int, int]) -> np.ndarray:
    """One video frame: the marker strip, the photo's centre square, a grey strip."""
    img = Image.open(photo).convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    square = img.crop((left, top, left + side, top + side)).resize((HEIGHT, HEIGHT), Image.Resampling.BILINEAR)
    out = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    out[:, :STRIP] = marker
    out[:, STRIP:STRIP + HEIGHT] = np.asarray(square)
    return out


def make_y4m(dest: Path, first: list, second: list[Path] | None = None, fps: int = FPS) -> Path:
    """A looping .y4m: ``first``'s photos with a red strip, then ``second``'s with a blue one,
    SEGMENT_S each. Without ``second``, ``first`` is a list of segments ``(photos, marker,
    seconds per photo)``, ``marker`` a name in MARKERS, played in that order."""
    segments = first if second is None else [(first, "red", SEGMENT_S / len(first)),
                                              (second, "blue", SEGMENT_S / len(second))]
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{WIDTH}x{HEIGHT}", "-r", str(fps), "-i", "-", "-pix_fmt", "yuv420p", str(dest)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for photos, marker, seconds in segments:
        repeat = max(1, round(seconds * fps))
        for photo in photos:
            data = frame(photo, MARKERS[marker]).tobytes()
            for _ in range(repeat):
                proc.stdin.write(data)
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg could not write the fake webcam video")
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """``python -m studio serve`` in a subprocess, on 127.0.0.1 and a free port."""

    work: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    startup_s: float = 0.0
    args: list[str] = field(default_factory=list)  # more ``serve`` options, e.g. ["--auth", "u:p"]
    env: dict[str, str] = field(default_factory=dict)  # more environment, e.g. {"STUDIO_AUTH": ...}

    @property
    def captures(self) -> Path:
        return self.work / "captures"

    @property
    def exports(self) -> Path:
        return self.work / "exported"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 120) -> Server:
        env = dict(os.environ, STUDIO_CAPTURES=str(self.captures), STUDIO_EXPORTS=str(self.exports),
                   GRADIO_TEMP_DIR=str(self.work / "gradio"), GRADIO_ANALYTICS_ENABLED="False")
        env.pop("STUDIO_AUTH", None)
        env.update(self.env)
        log = open(self.work / "server.log", "a")
        t0 = time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "studio", "serve", "--port", str(self.port), *self.args],
                                     cwd=self.work, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() - t0 > timeout:
                self.stop()
                raise RuntimeError(f"studio did not start:\n{self.log()}")
            time.sleep(0.1)
        self.startup_s = time.time() - t0
        return self

    def log(self) -> str:
        path = self.work / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would end it: no clean-up runs."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()  # only the process this object started
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def chromium_args(y4m: Path) -> list[str]:
    return ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"]


def launch(playwright, y4m: Path, profile: Path | None = None, microphone: Path | None = None,
           probe_js: str | None = None, height: int = 1400):
    """A headless Chromium context (Debian's binary, never a downloaded one) whose fake webcam
    plays ``y4m`` and, given ``microphone`` (a WAV it loops), whose fake microphone plays that;
    ``probe_js`` (default: the webcam probe below) runs in every page."""
    profile = profile or Path(tempfile.mkdtemp(prefix="studio-chromium-"))
    mic = [f"--use-file-for-fake-audio-capture={microphone}"] if microphone else []
    ctx = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=[*chromium_args(y4m), *mic],
        viewport={"width": 1400, "height": height}, accept_downloads=True)
    ctx.add_init_script(PROBE_JS if probe_js is None else probe_js)
    ctx.set_default_timeout(30_000)
    return ctx


# Every 40 ms: which class the webcam <video> shows (its marker strip; drawing a <video> to a
# canvas ignores the CSS mirror) and the live label's text; each change is kept with its time.
# 40 ms is fine enough for checks that allow a second or more, and leaves more of the two shared
# cores to the page and server it measures.
# Yellow is told from red by its green channel, green from blue by its blue one.
PROBE_JS = r"""
(() => {
  const P = window.__probe = {video: [], label: []};
  const canvas = document.createElement('canvas');
  canvas.width = 32; canvas.height = 24;
  const cx = canvas.getContext('2d', {willReadFrequently: true});
  const push = (list, value) => {
    if (!list.length || list[list.length - 1][1] !== value) list.push([Date.now(), value]);
  };
  window.__showing = () => {
    const v = document.querySelector('#camera video');
    if (!v || !v.videoWidth || v.paused) return null;
    cx.drawImage(v, 0, 0, 32, 24);
    const d = cx.getImageData(2, 12, 1, 1).data;
    if (d[0] > 150 && d[1] > 150 && d[2] < 100) return 'yellow';
    if (d[0] > 150 && d[2] < 100) return 'red';
    if (d[2] > 150 && d[0] < 100) return 'blue';
    if (d[1] > 150 && d[0] < 100 && d[2] < 100) return 'green';
    return null;
  };
  setInterval(() => {
    const shown = window.__showing();
    if (shown) push(P.video, shown);
    const label = document.querySelector('#live-label [data-testid="label-output-value"]');
    if (label) push(P.label, label.textContent.trim());
  }, 40);
})();
"""


def probe(page) -> dict:
    return page.evaluate("window.__probe")


def reset_probe(page) -> None:
    page.evaluate("window.__probe.video = []; window.__probe.label = []")


def label_latencies(data: dict, names: dict[str, str]) -> tuple[list[tuple[float, str]], list[float]]:
    """Each change of the video's class since the probe was reset, and for each the delay until
    the label showed that class (``names`` maps marker colour to class label)."""
    changes = data["video"][1:]  # the first entry is where the video was at the reset
    latencies = []
    for t, colour in changes:
        shown = [text for lt, text in data["label"] if lt < t][-1:]
        after = [lt for lt, text in data["label"] if lt >= t and text == names[colour]]
        if shown == [names[colour]]:
            latencies.append(0.0)  # it already said so (a wrong guess just before the change)
        elif after:
            latencies.append(after[0] - t)
    return changes, latencies


def wait_for_changes(page, names: dict[str, str], n: int, timeout_ms: int = 30_000) -> None:
    """Wait for ``n`` changes of the video's class since the reset, and for the label to show
    the class of the last one (or fail on timeout)."""
    page.wait_for_function(
        """([names, n]) => {
            const v = window.__probe.video, l = window.__probe.label;
            return v.length > n && l.length > 0 && l[l.length - 1][1] === names[v[v.length - 1][1]];
        }""", arg=[names, n], timeout=timeout_ms)


def wait_for_class(page, colour: str, settle_ms: int = 300, timeout_ms: int = 15_000,
                   latest_ms: int | None = None) -> None:
    """Wait until the video has switched to ``colour`` and shown it for ``settle_ms``, so that
    most of a segment (3 s) lies ahead; with ``latest_ms``, for no longer than that (a busy
    machine may see the switch late: then the next time the colour comes round)."""
    page.wait_for_function(
        """([colour, started, ms, latest]) => {
            const v = window.__probe.video.filter(([t]) => t >= started), last = v[v.length - 1];
            const shown = v.length >= 2 ? Date.now() - last[0] : -1;
            return last && last[1] === colour && shown >= ms && (latest === null || shown <= latest);
        }""", arg=[colour, time.time() * 1000, settle_ms, latest_ms], timeout=timeout_ms)


def save_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def field(page, elem_id: str):
    """The text box inside the Gradio component with ``elem_id``."""
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def toast(page, text: str | re.Pattern):
    """The notice (a Gradio toast) that says ``text``."""
    return page.locator("[data-testid='toast-body']").filter(has_text=text).first


def choose_option(page, elem_id: str, text: str) -> None:
    """Pick ``text`` in a Gradio dropdown."""
    page.locator(f"#{elem_id} input").click()
    page.locator("[data-testid='dropdown-option']").filter(has_text=text).first.click()


def until(page, condition, what: str, timeout_s: float = 10) -> None:
    """Poll a condition outside the page (e.g. on disk) while the page keeps running."""
    deadline = time.time() + timeout_s
    while not condition():
        assert time.time() < deadline, f"timed out waiting until {what}"
        page.wait_for_timeout(100)


def rename_classes(page, labels, prefix: str = "name") -> None:
    """Rename the class cards in order as a user does (type, then Enter), and see each name kept."""
    from playwright.sync_api import expect

    for i, label in enumerate(labels):
        box = field(page, f"{prefix}-{i}")
        box.fill(label)
        box.press("Enter")
        expect(box).to_have_value(label)


def zip_of_class_folders(dest: Path, photos: Path, per_class: int = 2) -> Path:
    """A dataset as people download them: one folder per class (rock, paper, scissors) of
    ``per_class`` photos from ``photos``."""
    with zipfile.ZipFile(dest, "w") as z:
        for folder in ("rock", "paper", "scissors"):
            for photo in sorted((photos / folder).iterdir())[:per_class]:
                z.write(photo, f"{folder}/{photo.name}")
    return dest


def new_project(page, captures: Path, name: str, kind: str) -> None:
    """Create a project of ``kind`` ("Photos", "Sketches", "Sounds") from the project bar."""
    from playwright.sync_api import expect

    from studio.samples.store import Store

    if Store(captures).projects():  # once the page has opened the last project, ask for a new one
        expect(page.locator("#project-choice input")).not_to_have_value("")
    page.click("#new-project")
    field(page, "new-name").fill(name)
    page.locator("#new-kind label").filter(has_text=kind).click()
    page.click("#create-project")


def download_zip(page, button: str, link: str) -> list[str]:
    """Click ``button`` until the file link ``link`` shows (a click that lands while class cards
    are redrawn by gr.render is lost), download it; the names in the zip."""
    from playwright.sync_api import expect

    found = page.locator(link).first
    for _ in range(3):
        page.click(button)
        try:
            expect(found).to_be_visible(timeout=10_000)
            break
        except AssertionError:
            continue
    expect(found).to_be_visible()
    with page.expect_download() as download:
        found.click()
    return zipfile.ZipFile(download.value.path()).namelist()


def download_export(page) -> Path:
    """Click "Export model", wait for the zip's link, download it; the downloaded file's path."""
    from playwright.sync_api import expect

    page.click("#export-btn")
    link = page.locator("#export-file a").first
    expect(link).to_be_visible(timeout=120_000)
    with page.expect_download() as download:
        link.click()
    return Path(download.value.path())


def start_camera(page) -> None:
    """Start the webcam as a user does, with one click: the page's own script presses Gradio's
    start button once "Click to Access Webcam" has been clicked and the video plays."""
    cam = page.locator("#camera")
    cam.get_by_text("Click to Access Webcam").click()
    cam.locator("[title='stop recording']").wait_for(timeout=60_000)
    page.locator("#live-stats").filter(has_text="frames/s").wait_for(timeout=60_000)


def watch_timers(page, selector: str) -> None:
    """Note every text a progress timer ("processing | 1.5s", "3.7s") puts in the ``selector``
    element from now on; ``timers_seen`` tells. Live outputs must never show one."""
    page.evaluate("""(selector) => {
        const box = document.querySelector(selector);
        window.__timers = [];
        new MutationObserver(() => {
          const text = box.innerText;
          if (/processing|\\b\\d+\\.\\ds\\b/.test(text)) window.__timers.push(text);
        }).observe(box, {subtree: true, childList: true, characterData: true, attributes: true});
    }""", selector)


def timers_seen(page) -> list[str]:
    """The texts with a progress timer that the element given to ``watch_timers`` showed."""
    return page.evaluate("window.__timers || []")


def rgb(colour: str) -> str:
    """"#e8710a" as a computed style gives it: "rgb(232, 113, 10)"."""
    return "rgb({}, {}, {})".format(*(int(colour[k:k + 2], 16) for k in (1, 3, 5)))


def bar_colours(page, selector: str) -> dict[str, str]:
    """{class: computed background colour} of the confidence bars the Label at ``selector`` shows."""
    return page.evaluate("""(selector) => Object.fromEntries([...document.querySelectorAll(`${selector} meter`)]
                            .map((m) => [m.getAttribute('aria-label'), getComputedStyle(m).backgroundColor]))""",
                         selector)


def edge_colours(page, cards: list[str]) -> list[str]:
    """The computed left-edge colour of each card (by element id)."""
    return [page.evaluate("(id) => getComputedStyle(document.getElementById(id)).borderLeftColor", card)
            for card in cards]


def draw(page, stroke: tuple[int, int, int, int], shift: int = 0) -> None:
    """One stroke on the sketch pad, ``stroke`` (x0, y0, x1, y1) from its centre; each pointer step
    costs ~0.5 s in software WebGL, so a few steps only."""
    from playwright.sync_api import expect

    pad = page.locator("#sketchpad")
    expect(pad).not_to_contain_text("processing")  # a cleared pad redraws before it takes strokes
    box = pad.locator(".pixi-target canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2 + shift, box["y"] + box["height"] / 2 + shift
    x0, y0, x1, y1 = stroke
    page.mouse.move(x + x0, y + y0)
    page.mouse.down()
    page.mouse.move(x + x1, y + y1, steps=3)
    page.mouse.up()


def click_until(page, button: str, target: str, text: str | re.Pattern | None = None) -> None:
    """Click ``button`` until ``target`` shows ``text`` (without ``text``: until it is enabled).
    A click can come too early or be lost: the sketch pad hands over its drawing only once it
    has settled after the last stroke, and a click on a class card that gr.render is redrawing
    lands on the old card."""
    from playwright.sync_api import expect

    def settled(timeout: int) -> None:
        found = expect(page.locator(target))
        if text is None:
            found.to_be_enabled(timeout=timeout)
        else:
            found.to_contain_text(text, timeout=timeout)

    for _ in range(5):
        page.click(button)
        try:
            settled(8_000)
            return
        except AssertionError:
            continue
    settled(20_000)

