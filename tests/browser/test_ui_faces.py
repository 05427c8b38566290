"""Faces never seen, as a new user would try it: a mask / no-mask photo project recorded through
the webcam from one set of faces (a few hold-to-record bursts per class), trained with the
defaults, then shown other people's faces. The live label must be right at least 95 % of the
time, and the page's held-back figure (on whole recordings training never saw) within 5 points
of that live figure: the figure a user reads must say how the model does on new faces.

The fake webcam loops four 12-s segments of face photos (0.3 s each) from ../shared/data/face_mask,
one photo per person and nobody both recorded and tested (as far as the file names tell: see
``identity``); the marker strip names the segment:
red    40 faces with a mask, for recording "Mask"
blue   40 faces without one, for recording "No mask"
green  40 OTHER faces with a mask, for testing
yellow 40 OTHER faces without one, for testing
The strip lies outside the centre square the model looks at (see browser_kit).

The steps share one page and build on each other, in file order."""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import data_set
from PIL import Image
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from studio.samples.store import Store

from .browser_kit import (
    MARKERS,
    STRIP,
    field,
    launch,
    make_y4m,
    missing_tools,
    new_project,
    probe,
    rename_classes,
    reset_probe,
    save_json,
    start_camera,
)

pytestmark = [pytest.mark.browser, pytest.mark.data]
PROJECT = "Faces"
CLASSES = {"with_mask": "Mask", "without_mask": "No mask"}  # data set folder -> class label
RECORD = {"red": "Mask", "blue": "No mask"}  # the recording segments' markers -> class label
TEST = {"green": "Mask", "yellow": "No mask"}  # the test segments' markers -> class label
PER_SET = 40  # faces per class, for recording and (other people) for testing
FACE_S = 0.3  # seconds each face is on screen: a segment lasts 12 s, the whole loop 48 s
FPS = 10  # of the video file: 3 frames per face, a third of the size of a 30-fps file
HOLDS = 5  # hold-to-record bursts per class, one per fifth of its segment (8 faces each)
SLOT_S = PER_SET * FACE_S / HOLDS
PRESS_S = (0.1, 0.8)  # a hold starts this far into its slot of the segment...
RELEASE_S = 1.6  # ...and is released this far into it: 0.8 s before the next slot (and segment)
# begins, for the round trip to the browser on a busy machine (seen up to 0.5 s)
# The live label lags the video by the pipeline's latency (frame interval, JPEG upload, model,
# answer: ~0.1-0.3 s on a quiet machine, 0.3-0.65 s measured here on a busy one). For SETTLE_S
# after the video switches from one class to the other the label is not scored; all the rest
# of every test segment is (11 of its 12 s).
SETTLE_S = 1.0
MIN_LIVE = 0.95
MAX_GAP = 0.05
RESULTS: dict = {}  # figures handed from step to step, saved at the end

# Changes of the recording status line under the webcam, with their times (the stream updates
# it), so a test can tell when a hold's burst has been saved; and when buttons were pressed and
# released, as the page saw it.
STATUS_JS = r"""
(() => {
  window.__presses = []; window.__releases = [];
  document.addEventListener('pointerdown', () => window.__presses.push(Date.now()), true);
  document.addEventListener('pointerup', () => window.__releases.push(Date.now()), true);
  const S = window.__recstatus = [];
  setInterval(() => {
    const el = document.querySelector('#rec-status');
    const text = el ? el.textContent.trim() : '';
    if (!S.length || S[S.length - 1][1] !== text) S.push([Date.now(), text]);
  }, 40);
})();
"""


def identity(photo: Path) -> str:
    """Who a photo shows, as far as its name tells (conservatively: two names that might be one
    person give one key). RMFD names are <n>_<n>_<person>_<nnnn>; <name>_copy_<n> is an edited
    copy of <name>; the data set adds an 8-hex content hash."""
    stem = re.sub(r"_[0-9a-f]{8}$", "", photo.stem)
    stem = re.sub(r"^\d+_\d+_", "", stem)
    stem = re.sub(r"(?<=[a-z])_\d{4}$", "", stem)
    return re.sub(r"_copy(_\d+)*$", "", stem)


def pick_faces(folder: Path) -> tuple[list[Path], list[Path]]:
    """PER_SET photos to record and PER_SET others to test, one photo per person and no person
    in both (a fixed draw)."""
    people: dict[str, Path] = {}
    for photo in sorted(folder.iterdir()):
        people.setdefault(identity(photo), photo)
    keys = sorted(people)
    random.Random(11).shuffle(keys)
    assert len(keys) >= 2 * PER_SET, f"{folder} shows only {len(keys)} different people"
    chosen = [people[k] for k in keys[:2 * PER_SET]]
    return chosen[:PER_SET], chosen[PER_SET:]


@pytest.fixture(scope="module")
def faces() -> dict[str, list[Path]]:
    """Marker colour -> the faces its segment shows, in order."""
    root = data_set("face_mask")
    why = missing_tools()
    if why:
        pytest.skip(why)
    (rec_mask, test_mask), (rec_bare, test_bare) = (pick_faces(root / c) for c in CLASSES)
    return {"red": rec_mask, "blue": rec_bare, "green": test_mask, "yellow": test_bare}


@pytest.fixture(scope="module")
def faces_browser(pw, faces, work):
    y4m = make_y4m(work / "faces.y4m", [(photos, colour, FACE_S) for colour, photos in faces.items()], fps=FPS)
    ctx = launch(pw, y4m, work / "profile-faces")
    ctx.add_init_script(STATUS_JS)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def page(faces_browser, server) -> Page:
    page = faces_browser.new_page()
    page.goto(server.url)
    yield page
    page.close()


def next_slot(page: Page, pending: list[tuple[str, int]]) -> tuple[str, int, float, float, float]:
    """Wait until the video is early in a pending (marker, slot) of a recording segment: that
    slot, when its segment began (the page's clock, ms) and the centre of its class's Hold
    button (read in the same check, so the press follows without another look-up)."""
    windows = [[colour, k, k * SLOT_S + PRESS_S[0], k * SLOT_S + PRESS_S[1], list(RECORD).index(colour)]
               for colour, k in pending]
    found = page.wait_for_function(
        """(windows) => {
            const v = window.__probe.video;
            if (v.length < 2) return null;  // the first entry is where the video was, not a switch
            const [t0, colour] = v[v.length - 1], e = (Date.now() - t0) / 1000;
            const w = windows.find(([c, k, lo, hi]) => c === colour && e >= lo && e <= hi);
            const button = w && document.querySelector(`#hold-${w[4]}`);
            if (!button) return null;
            const r = button.getBoundingClientRect();
            if (r.top < 0 || r.bottom > innerHeight) { button.scrollIntoView({block: 'center'}); return null; }
            return [w[0], w[1], t0, r.left + r.width / 2, r.top + r.height / 2];
        }""", arg=windows, polling=20, timeout=180_000).json_value()
    return tuple(found)


def record_slot(page: Page, colour: str, k: int, t0: float, x: float, y: float) -> dict:
    """Hold the class's button through slot ``k`` of the segment that began at ``t0``: released
    RELEASE_S into the slot (or at once if the video moves on), then wait until the page has
    said it recorded and then saved the burst (a frame without the button reached the server,
    so the next hold is a burst of its own)."""
    page.mouse.move(x, y)
    page.mouse.down()
    page.wait_for_function(
        """([t0, end]) => { const v = window.__probe.video, last = v[v.length - 1];
                            return last[0] !== t0 || (Date.now() - t0) / 1000 >= end; }""",
        arg=[t0, k * SLOT_S + RELEASE_S], polling=20, timeout=30_000)
    page.mouse.up()
    pressed, released = page.evaluate("[window.__presses.at(-1), window.__releases.at(-1)]")
    try:
        page.wait_for_function(
            """([since, label]) => {
                const s = window.__recstatus.filter(([t]) => t >= since).map(([t, text]) => text);
                // (the text may start with Gradio's progress timer, e.g. "0.1s")
                const rec = s.findIndex((text) => text.includes(`Recording into ${label}:`));
                const saved = (text) => text.includes('Saved ') && text.includes(` to ${label}.`);
                return rec >= 0 && s.slice(rec + 1).some(saved);
            }""", arg=[pressed, RECORD[colour]], timeout=60_000)
    except PlaywrightTimeout:
        seen = page.evaluate("(since) => window.__recstatus.filter(([t]) => t >= since - 2000)", pressed)
        raise AssertionError(f"no 'Recording into {RECORD[colour]}' then 'Saved' within 60 s of the press at "
                             f"{pressed} (released {released}); the status line since: {seen}") from None
    return {"class": RECORD[colour], "slot": k, "from_s": (pressed - t0) / 1000, "to_s": (released - t0) / 1000}


def test_record_two_classes(page: Page, server, faces, artifacts):
    t_start = time.time()
    new_project(page, server.captures, PROJECT, "Photos")
    expect(field(page, "name-1")).to_have_value("Class 2")
    rename_classes(page, RECORD.values())
    start_camera(page)

    # One burst per fifth of each recording segment: each burst has its own 8 faces (4-5 of
    # them shown while the button is down), so a burst held back from training shows people
    # training never saw. A slot missed (a busy machine) is taken on a later loop of the video.
    pending = [(colour, k) for colour in RECORD for k in range(HOLDS)]
    holds = []
    while pending:
        colour, k, t0, x, y = next_slot(page, pending)
        holds.append(record_slot(page, colour, k, t0, x, y))
        pending.remove((colour, k))

    project = Store(server.captures).project(PROJECT)
    counts = project.counts()
    for i, label in enumerate(RECORD.values()):
        expect(page.locator(f"#count-{i}")).to_contain_text(f"{counts[label]} images")
    bursts = {label: Counter(s.capture for s in project.samples(label)) for label in RECORD.values()}
    assert all(len(c) == HOLDS for c in bursts.values()), bursts
    # Every stored frame shows its class's recording marker (mirrored to the right edge): no
    # test face, and no face of the other class, was recorded.
    for colour, label in RECORD.items():
        want = np.array(MARKERS[colour])
        for sample in project.samples(label):
            right = np.asarray(Image.open(sample.path).convert("RGB")).astype(int)[:, -STRIP // 2:].mean((0, 1))
            assert np.abs(right - want).max() < 70, f"{label}/{sample.name}: right strip {right}, not {colour}"
    RESULTS.update(counts=counts, holds=holds, frames_per_burst={k: sorted(c.values()) for k, c in bursts.items()},
                   record_s=time.time() - t_start,
                   status_log=[[t, text] for t, text in page.evaluate("window.__recstatus")
                               if "Recording into" in text or "Saved" in text])
    page.screenshot(path=str(artifacts / "11-faces-recorded.png"), full_page=True)


def test_train_with_the_defaults(page: Page, server):
    t0 = time.time()
    page.click("#train-btn")
    expect(page.locator("#train-btn")).to_be_disabled()
    done = page.locator("#train-status").filter(has_text="test accuracy")
    failed = page.locator("[data-testid='toast-body'].error")
    expect(done.or_(failed).first).to_be_visible(timeout=300_000)
    assert done.is_visible(), f"training failed: {failed.first.inner_text()}"
    expect(page.locator("#train-btn")).to_be_enabled()
    status = page.locator("#train-status").inner_text()
    m = re.search(r"test accuracy (\d+)% on (\d+) held-back images from (\d+) recordings that training never saw",
                  status)
    assert m, f"the page does not say the figure is on recordings training never saw: {status!r}"
    assert "recorded in one go" not in status, status
    settings = Store(server.captures).project(PROJECT).settings()
    RESULTS.update(page_status=status, page_accuracy=int(m.group(1)) / 100, held_back_images=int(m.group(2)),
                   held_back_recordings=int(m.group(3)), train_s=time.time() - t0,
                   features=settings.get("features"), model=settings.get("model"))


def live_accuracy(data: dict, names: dict[str, str]) -> dict:
    """The time the label was right while test faces showed, over every whole test segment the
    probe saw begin and end, SETTLE_S after each switch left out."""
    video, labels = data["video"], data["label"]

    def label_at(t: float) -> str | None:
        before = [text for lt, text in labels if lt <= t]
        return before[-1] if before else None

    right = scored = 0.0
    segments, wrong = [], []
    for (t0, colour), (t1, _) in zip(video[1:], video[2:]):  # video[0]: where it was at the reset
        if colour not in names:
            continue
        start = t0 + SETTLE_S * 1000
        cuts = sorted({start, t1, *(lt for lt, _ in labels if start < lt < t1)})
        ok = 0.0
        for a, b in zip(cuts, cuts[1:]):
            shown = label_at(a)
            if shown == names[colour]:
                ok += b - a
            else:
                # the face on screen when the wrong label came (the model saw this one or the one before)
                face = int((a - t0) / 1000 / FACE_S)
                wrong.append({"segment": colour, "from_s": round((a - t0) / 1000, 2),
                              "to_s": round((b - t0) / 1000, 2), "label": shown, "face_on_screen": face})
        first_right = next((lt for lt, text in labels if lt >= t0 and text == names[colour]), None)
        segments.append({"colour": colour, "seconds": (t1 - t0) / 1000, "scored_s": (t1 - start) / 1000,
                         "right": ok / (t1 - start),
                         "latency_ms": None if first_right is None else max(0, first_right - t0)})
        right += ok
        scored += t1 - start
    return {"live_accuracy": right / scored if scored else None, "scored_s": scored / 1000,
            "segments": segments, "wrong": wrong}


def test_live_label_on_other_faces(page: Page, faces, artifacts):
    label = page.locator("#live-label [data-testid='label-output-value']")
    expect(label).to_have_text(re.compile("^(Mask|No mask)$"), timeout=60_000)
    reset_probe(page)
    # a whole pass: a switch to the with-mask test faces, then all of them, all the without-mask
    # ones, and the switch away (the loop is 48 s: seen within two loops, three allowed)
    page.wait_for_function(
        """() => { const c = window.__probe.video.slice(1).map(([t, c]) => c).join(' ');
                   return / green yellow (red|blue)/.test(' ' + c); }""", polling=200, timeout=150_000)
    data = probe(page)
    stats = page.locator("#live-stats").inner_text()
    fps = re.search(r"([\d.]+) frames/s", stats)
    page.screenshot(path=str(artifacts / "12-faces-live.png"), full_page=True)
    live = live_accuracy(data, TEST)
    page_figure = RESULTS.get("page_accuracy")
    RESULTS.update(live, fps=float(fps.group(1)) if fps else None, live_stats=stats, settle_s=SETTLE_S,
                   face_s=FACE_S, faces={c: [p.name for p in photos] for c, photos in faces.items()},
                   gap=None if page_figure is None else abs(page_figure - live["live_accuracy"]), probe=data)
    save_json(artifacts / "faces-live.json", RESULTS)
    print(json.dumps({k: RESULTS.get(k) for k in ("page_accuracy", "live_accuracy", "gap", "scored_s", "fps",
                                                  "held_back_images", "held_back_recordings", "counts")}))
    assert {s["colour"] for s in live["segments"]} == set(TEST), live["segments"]
    assert live["live_accuracy"] >= MIN_LIVE, (
        f"the live label was right {live['live_accuracy']:.1%} of {live['scored_s']:.1f} s of faces never seen "
        f"(wrong: {live['wrong']})")
    assert page_figure is not None, "no held-back figure was read from the page"
    assert abs(page_figure - live["live_accuracy"]) <= MAX_GAP, (
        f"the page says {page_figure:.0%} on held-back recordings, the live label was right "
        f"{live['live_accuracy']:.1%} of the time on faces never seen")
