"""The real server, in a subprocess on 127.0.0.1, driven through its own wire protocol (what the
page sends) and, for the live streams, by Chromium pages with a fake webcam:

- bad input through the web app (files that are not images, damaged and huge ones, an empty
  sketch, a frame that is not an image): a message in the page, nothing written;
- a model file replaced or edited under the running server: refused, never unpickled;
- five sessions capturing into five projects while two capture into one shared project:
  every frame stored once, in its own project and class, project.json intact;
- three simultaneous live streams, with their frames per second;
- no file outside the captures and exports is served, whatever the URL; uploads are capped.

Figures go to tests/artifacts/reliability-*.json."""

from __future__ import annotations

import http.client
import json
import os
import pickle
import re
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from browser.browser_kit import field, start_camera, toast
from conftest import ARTIFACTS, FIXTURES, ROOT
from helpers import png_bytes, resigned
from PIL import Image
from reliability_kit import GradioError, Server, Session, check_store, frames_saved, solid_png

from studio.samples.webcam import snapshot_token

pytestmark = pytest.mark.server

RED, BLUE = (220, 20, 20), (20, 20, 220)
COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240)]  # one per concurrent session
FRAMES = 30  # per session in the concurrency test


def save_figures(name: str, data: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"reliability-{name}.json").write_text(json.dumps(data, indent=1))


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("reliability-server")).start()
    yield srv
    srv.stop()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "reliability-server.log").write_text(srv.log())


def record(session: Session, target: str, colour, n: int) -> list:
    """Hold-to-record for ``n`` frames of one colour, then release; the last answer."""
    stream = session.stream()
    try:
        for _ in range(n):
            stream.send(solid_png(colour), target)
        return stream.send(solid_png(colour), "")  # released
    finally:
        stream.close()


@pytest.fixture(scope="module")
def trained(server):
    """A photo project with 8 red frames in Class 1 and 8 blue ones in Class 2, trained on the
    hand-made combined features (Advanced's second field): this module measures how the server
    serves many sessions and streams, not what a network costs per frame (bench/live.py does)."""
    s = Session(server.url)
    folder = s.call("create", "Trained", "photo")[5]
    assert "Saved 8 images" in record(s, "Class_1", RED, 8)[2]
    assert "Saved 8 images" in record(s, "Class_2", BLUE, 8)[2]
    status, _ = s.call("train", None, "combined", *[None] * 11)
    assert "test accuracy" in status, status
    yield s, folder
    s.close()


# ---- bad input through the web app ---------------------------------------------------------------
def bad_uploads() -> dict[str, bytes]:
    photo = Image.open(sorted((FIXTURES / "rps" / "rock").iterdir())[0]).convert("RGB")
    png, jpeg = png_bytes(photo), png_bytes(photo, "JPEG", quality=90)
    return {
        "notes.png": b"shopping list: eggs, milk\n",
        "empty.png": b"",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "bomb.png": png_bytes(Image.new("1", (12_000, 10_000))),  # 120 megapixels in a few KB
    }


def odd_uploads() -> dict[str, bytes]:
    return {
        "1x1.png": png_bytes(Image.new("RGB", (1, 1), RED)),
        "strip.png": png_bytes(Image.new("RGB", (3000, 2), BLUE)),
        "grey16.png": png_bytes(Image.fromarray(np.full((30, 40), 40000, np.uint16))),
        "cmyk.jpg": png_bytes(Image.new("CMYK", (40, 30), (10, 20, 30, 0)), "JPEG"),
        "palette.gif": png_bytes(Image.new("P", (40, 30), 3), "GIF"),
        "rgba.png": png_bytes(Image.new("RGBA", (40, 30), (0, 0, 255, 128))),
    }


def test_try_an_image_file_says_what_is_wrong_with_a_bad_one(server, trained):
    s, folder = trained
    before = {p: p.stat().st_mtime_ns for p in server.captures.rglob("*") if p.is_file()}
    peak = peak_rss_mb(server.proc.pid)
    said = {}
    for name, data in bad_uploads().items():
        with pytest.raises(GradioError) as e:
            s.call("on_test", s.upload(data, name))
        said[name] = e.value.message
        assert e.value.message and name in e.value.message, (name, e.value.payload)
        assert re.search(r"not a readable image|larger than|too large", e.value.message), e.value.message
    assert peak_rss_mb(server.proc.pid) - peak < 100, "the server decoded a decompression bomb"
    for name, data in odd_uploads().items():  # strange but valid: predicted
        (result,) = s.call("on_test", s.upload(data, name))
        assert result["label"] in ("Class 1", "Class 2"), (name, result)
    assert {p: p.stat().st_mtime_ns for p in server.captures.rglob("*") if p.is_file()} == before
    save_figures("bad-uploads", {"refused": said, "predicted": list(odd_uploads())})


def test_a_bad_webcam_frame_is_refused_and_writes_nothing(server, trained):
    """The page sends only real frames; another client could send anything."""
    s, folder = trained
    project = server.captures / folder
    before = sorted(p.name for p in project.rglob("*"))
    peak = peak_rss_mb(server.proc.pid)
    for data in bad_uploads().values():
        stream = s.stream()
        with pytest.raises(GradioError):
            stream.send(data, "Class_1")
        stream.close()
    assert peak_rss_mb(server.proc.pid) - peak < 100, "the server decoded a decompression bomb frame"
    assert sorted(p.name for p in project.rglob("*")) == before
    assert record(s, "Class_1", RED, 1)[2].startswith("Saved 1 image")  # the stream still works
    (project / "Class_1" / sorted(os.listdir(project / "Class_1"))[-1]).unlink()  # keep the set as trained


def test_an_empty_sketch_is_a_message_and_nothing_is_saved(server):
    s = Session(server.url)
    folder = s.call("create", "Empty sketches", "sketch")[5]
    s.call("on_load_1", folder)  # the sketch page opens with the project it remembers
    blank = {"background": None, "layers": [], "id": None}
    empties = {"white": solid_png((255, 255, 255), (280, 280)),
               "faint": solid_png((240, 240, 240), (280, 280))}  # lighter than ink
    empties["transparent"] = png_bytes(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    for name, data in empties.items():
        with pytest.raises(GradioError, match="The pad is empty"):
            s.call("do_add", "Class_1", {**blank, "composite": s.upload(data, f"{name}.png")})
        with pytest.raises(GradioError, match="The pad is empty"):
            s.call("do_predict", {**blank, "composite": s.upload(data, f"{name}.png")})
    with pytest.raises(GradioError, match="The pad is empty"):
        s.call("do_add", "Class_1", {**blank, "composite": None})
    assert check_store(server.captures).projects[folder] == {"Class_1": [], "Class_2": []}
    drawn = Image.new("RGB", (280, 280), (255, 255, 255))
    drawn.paste((0, 0, 0), (100, 60, 110, 220))
    s.call("do_add", "Class_1", {**blank, "composite": s.upload(png_bytes(drawn), "line.png")})
    assert len(check_store(server.captures).projects[folder]["Class_1"]) == 1
    s.close()


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def live_text(s: Session) -> tuple[dict | None, str]:
    """One frame through the live preview: (label, stats line)."""
    stream = s.stream()
    try:
        label, stats, *_ = stream.send(solid_png(RED), "")
    finally:
        stream.close()
    return (label if isinstance(label, dict) and "label" in label else None), stats


def test_a_model_replaced_under_the_running_server_is_never_unpickled(server, trained, tmp_path):
    s, folder = trained
    model_dir = server.captures / folder / "model"
    pointer = model_dir / "model.json"
    meta = json.loads(pointer.read_text())
    model_file = model_dir / meta["file"]
    original, original_pointer = model_file.read_bytes(), pointer.read_bytes()
    label, _ = live_text(s)
    assert label and label["label"] == "Class 1"
    marker = tmp_path / "unpickled"
    evil = model_dir / "model-evil.joblib"
    try:
        # Another model appears (a new id, as after training), but its file is not the one
        # whose checksum is recorded: refused, never unpickled.
        evil.write_bytes(pickle.dumps(Payload(marker)))
        pointer.write_text(json.dumps({**meta, "id": "evil", "file": evil.name}))
        label, stats = live_text(s)
        assert label is None and "checksum" in stats, stats
        with pytest.raises(GradioError, match="checksum"):
            s.call("on_test", s.upload(solid_png(RED), "red.png"))
        # studio's own file, but a description edited (a HOG cell of 0 would crash OpenCV):
        # refused before any frame reaches it, and the server lives on; unsigned, as not this
        # installation's; signed (another studio version here), as a spec it does not compute
        edited = {**meta, "id": "edited", "spec": {**meta["spec"], "cell": 0}}
        pointer.write_text(json.dumps(edited))
        label, stats = live_text(s)
        assert label is None and "not made by this studio installation" in stats, stats
        pointer.write_text(resigned({**edited, "id": "edited, signed"}))
        label, stats = live_text(s)
        assert label is None and "not one this studio computes" in stats, stats
        pointer.write_text(json.dumps({**meta, "id": "format 2", "format": 2}))
        with pytest.raises(GradioError, match="format 2"):
            s.call("on_test", s.upload(solid_png(RED), "red.png"))
        assert not marker.exists(), "a model file of unknown origin was unpickled"
    finally:
        evil.unlink(missing_ok=True)
        model_file.write_bytes(original)
        pointer.write_bytes(original_pointer)
    label, _ = live_text(s)
    assert label and label["label"] == "Class 1", "the model predicts again once restored"


# ---- concurrency ---------------------------------------------------------------------------------
def test_sessions_capturing_at_once_lose_and_mix_up_nothing(server):
    """Five sessions record into five projects while two record into one shared project; each
    adds a class half-way through, and the shared project's two also change its settings."""
    n_own, deadline = 5, time.time() + 120
    sessions = [Session(server.url) for _ in range(n_own + 2)]
    folders = [s.call("create", f"Session {i + 1}", "photo")[5] for i, s in enumerate(sessions[:n_own])]
    shared = sessions[n_own].call("create", "Shared", "photo")[5]
    sessions[n_own + 1].call("on_load", shared)  # the second user opens the same project
    folders += [shared, shared]
    go = threading.Barrier(len(sessions))
    results: list[dict | BaseException] = [{}] * len(sessions)

    def user(i: int) -> None:
        s, colour, snap = sessions[i], COLOURS[i], tuple(c // 2 for c in COLOURS[i])
        try:
            go.wait(timeout=60)
            stream, counts, t0 = s.stream(), [], time.time()
            for k in range(FRAMES):
                assert time.time() < deadline, "out of time"
                counts.append(frames_saved(stream.send(solid_png(colour), "Class_1")[2]))
                if k == FRAMES // 2:
                    s.call("add_class")  # writes project.json while everyone records
                    if i >= n_own:  # the shared project's users change a setting at the same time
                        s.call("save", *[None] * 12, 3 + 4 * (i - n_own))
            seconds = time.time() - t0
            snapped = stream.send(solid_png(snap), "", snap=snapshot_token("Class_2", i))[2]
            released = stream.send(solid_png(colour), "")[2]
            stream.close()
            results[i] = {"counts": counts, "snapped": snapped, "released": released, "fps": FRAMES / seconds}
        except BaseException as e:  # reported below, with the others' results
            results[i] = e
            go.abort()

    threads = [threading.Thread(target=user, args=(i,)) for i in range(len(sessions))]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1, deadline - time.time()))
    elapsed = time.time() - t0
    for s in sessions:
        s.close()
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]
    for i, r in enumerate(results):
        assert r["counts"] == list(range(1, FRAMES + 1)), f"session {i + 1}: {r['counts']}"
        assert "Snapshot saved to **Class 2**" in r["snapped"] and f"Saved {FRAMES} images" in r["released"], r

    found = check_store(server.captures)
    assert not found.temporary, found.temporary
    for i, folder in enumerate(folders[:n_own]):
        p = found.projects[folder]
        assert p["Class_1"] == [COLOURS[i]] * FRAMES, f"session {i + 1}'s class 1 holds other frames"
        assert p["Class_2"] == [tuple(c // 2 for c in COLOURS[i])], f"session {i + 1}'s snapshot"
        assert list(p) == ["Class_1", "Class_2", "Class_3"], list(p)
    p = found.projects[shared]
    mine = [COLOURS[n_own], COLOURS[n_own + 1]]
    assert sorted(p["Class_1"]) == sorted(mine * FRAMES), "the shared project lost or mixed up frames"
    assert sorted(p["Class_2"]) == sorted(tuple(c // 2 for c in colour) for colour in mine)
    meta = json.loads((server.captures / shared / "project.json").read_text())
    assert [c["label"] for c in meta["classes"]] == ["Class 1", "Class 2", "Class 3", "Class 4"], meta["classes"]
    assert meta["settings"]["k"] in (3, 7)
    save_figures("concurrency", {
        "sessions": len(sessions), "projects": n_own + 1, "frames_per_session": FRAMES,
        "frames_stored": sum(len(v) for f in set(folders) for v in found.projects[f].values()),
        "seconds": round(elapsed, 2), "fps_per_session": [round(r["fps"], 1) for r in results]})


def test_two_users_adding_classes_to_one_project_at_once_both_get_theirs(server):
    """"+ Add a class" picks the next free "Class n"; two windows clicking at the same moment
    must not both pick the same name (one of them used to get "already exists")."""
    a, b = Session(server.url), Session(server.url)
    folder = a.call("create", "Class race", "photo")[5]
    b.call("on_load", folder)
    go, failed = threading.Barrier(2), []

    def clicks(s: Session) -> None:
        go.wait(timeout=30)
        for _ in range(5):
            try:
                s.call("add_class")
            except GradioError as e:
                failed.append(e.message)

    threads = [threading.Thread(target=clicks, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    a.close()
    b.close()
    assert not failed, failed
    meta = json.loads((server.captures / folder / "project.json").read_text())
    assert [c["label"] for c in meta["classes"]] == [f"Class {i}" for i in range(1, 13)]


# ---- three live streams, in Chromium with a fake webcam -------------------------------------------
STATS_JS = r"""
(() => {
  window.__stats = [];
  setInterval(() => {
    const el = document.querySelector('#live-stats');
    const text = el ? el.innerText.trim() : '';
    const list = window.__stats;
    if (text && (!list.length || list[list.length - 1][1] !== text)) list.push([Date.now(), text]);
  }, 10);
})();
"""


@pytest.fixture(scope="module")
def chromium(pw, tmp_path_factory):
    """Debian's Chromium with a fake webcam; each test opens its users in their own contexts."""
    from browser.browser_kit import CHROMIUM, chromium_args, make_y4m, missing_tools

    why = missing_tools()
    if why:
        pytest.skip(why)
    photos = FIXTURES / "rps"
    y4m = make_y4m(tmp_path_factory.mktemp("webcam") / "webcam.y4m", sorted((photos / "rock").iterdir())[:6],
                   sorted((photos / "paper").iterdir())[:6])
    args = chromium_args(y4m) + ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                                 "--disable-backgrounding-occluded-windows"]
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield browser
    browser.close()


def user_page(chromium, server):
    """A new user: their own browser context (storage, camera), on the studio page."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 1000})
    ctx.set_default_timeout(30_000)
    ctx.add_init_script(STATS_JS)
    page = ctx.new_page()
    page.goto(server.url)
    return page


@pytest.mark.browser
def test_bad_files_through_the_page_are_named_and_nothing_is_written(chromium, server, trained, tmp_path):
    from playwright.sync_api import expect

    page = user_page(chromium, server)
    try:
        expect(page.locator("#project-choice input")).not_to_have_value("")  # the last project opened
        page.click("#new-project")
        field(page, "new-name").fill("Uploads")
        page.click("#create-project")
        expect(page.locator("#card-1")).to_be_visible()
        files = {**bad_uploads(), "broken.zip": b"PK\x03\x04 not really a zip", "good.png": solid_png(RED)}
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)
        with page.expect_file_chooser() as chooser:
            page.click("#upload-0")
        chooser.value.set_files([tmp_path / n for n in files])
        for said in ("not a readable image (notes.png", "truncated.jpg)", "too large to decode safely (bomb.png)",
                     "not a readable zip file (broken.zip)"):  # each reason, with the files it stopped
            expect(toast(page, said)).to_be_visible()
        expect(page.locator("#count-0")).to_contain_text("1 image")
        (tmp_path / "script.sh").write_bytes(b"#!/bin/sh\necho hi\n")
        with page.expect_file_chooser() as chooser:
            page.click("#upload-1")
        chooser.value.set_files(tmp_path / "script.sh")
        expect(toast(page, "Invalid file type")).to_be_visible()
        page.locator("#try-file").click()
        with page.expect_file_chooser() as chooser:
            page.locator("#test-image").get_by_text("Click to Upload").click()
        chooser.value.set_files(tmp_path / "truncated.png")
        expect(toast(page, "truncated.png is not a readable image")).to_be_visible()
        stored = check_store(server.captures).projects["Uploads"]
        assert stored == {"Class_1": [RED], "Class_2": []}, stored
        assert "Traceback" not in page.content()
    finally:
        page.context.close()


@pytest.mark.browser
def test_three_live_streams_keep_working(chromium, server, trained):
    from playwright.sync_api import expect

    pages = []
    try:
        for _ in range(3):  # three users: three browser contexts, each its own storage and camera
            page = user_page(chromium, server)
            choice = page.locator("#project-choice input")
            expect(choice).not_to_have_value("", timeout=30_000)  # the page's own load has picked a project
            choice.click()
            page.locator("[data-testid='dropdown-option']").filter(has_text="Trained").first.click()
            expect(choice).to_have_value("Trained")
            expect(page.locator("#train-status")).to_contain_text("test accuracy", timeout=30_000)
            pages.append(page)
        for page in pages:
            start_camera(page)
        t0 = time.time()
        for page in pages:  # each page's model has answered at least 30 frames
            page.wait_for_function(
                "() => window.__stats.filter(([, t]) => t.startsWith('The model sees')).length >= 30",
                timeout=60_000)
        figures = []
        for page in pages:
            stats = page.evaluate("window.__stats")
            model = [(t, text) for t, text in stats if text.startswith("The model sees")]
            # the page's own view: how often its stats line changed (equal lines count once,
            # so this is a lower bound of the answers it got)
            window = [t for t, _ in model if t >= model[-1][0] - 3000]
            answers = (len(window) - 1) / max(1e-3, (window[-1] - window[0]) / 1000)
            server_fps = float(re.search(r"([\d.]+) frames/s", model[-1][1]).group(1))
            label = page.locator("#live-label [data-testid='label-output-value']").inner_text()
            figures.append({"server_fps": server_fps, "answers_per_s": round(answers, 1), "label": label})
        save_figures("three-streams", {"pages": figures, "seconds": round(time.time() - t0, 1)})
        for f in figures:
            assert f["label"] in ("Class 1", "Class 2"), figures
        # No stream starves: frames of each keep reaching the model, and none gets less than half
        # the rate of the best served (two shared cores, three browsers and the server: 0.8 frames/s
        # each beside two busy loops; bench/live.py measures the rates). The page's own count of
        # changed stats lines is kept in the figures, not asserted: a steady stream repeats the
        # same line ("3.3 frames/s · 5 ms"), which it counts once.
        fps = [f["server_fps"] for f in figures]
        assert min(fps) >= 0.5 and min(fps) >= max(fps) / 2, figures
    finally:
        for page in pages:
            page.context.close()


# ---- what the server serves ------------------------------------------------------------------------
def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as written (no client-side normalisation of ../ or %2f)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_no_file_outside_the_captures_and_exports_is_served(server, trained):
    _, folder = trained
    caps, work = server.captures, server.work
    secret = work / "secret.txt"
    secret.write_text("TOP SECRET")
    project = caps / folder
    sample = sorted((project / "Class_1").iterdir())[0]
    (project / "Class_1" / "leak.png").symlink_to(secret)  # a link inside the captures, pointing out
    (project / "Class_1" / "passwd.png").symlink_to("/etc/passwd")
    server.exports.mkdir(parents=True, exist_ok=True)
    (server.exports / "repo").symlink_to(ROOT)
    try:
        status, body = raw_get(server.port, f"/gradio_api/file={sample}")
        assert status == 200 and body == sample.read_bytes(), "a sample in the captures is served"
        rel = os.path.relpath(secret, caps)
        crafted = [
            "/gradio_api/file=/etc/passwd", "/gradio_api/file=%2Fetc%2Fpasswd", "/gradio_api/file=//etc/passwd",
            "/gradio_api/file=file:///etc/passwd", "/gradio_api/file=/proc/self/environ",
            f"/gradio_api/file={secret}", f"/gradio_api/file={caps}/{rel}", f"/gradio_api/file={caps}/..%2fsecret.txt",
            f"/gradio_api/file={caps}/%2e%2e/secret.txt", f"/gradio_api/file={caps}/%252e%252e/secret.txt",
            f"/gradio_api/file={caps}/..\\secret.txt", f"/gradio_api/file={caps}/../secret.txt%00.png",
            "/gradio_api/file=secret.txt", "/gradio_api/file=../secret.txt",
            "/gradio_api/file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
            f"/gradio_api/file={ROOT}/pyproject.toml", f"/gradio_api/file={ROOT}/studio/server.py",
            f"/gradio_api/file={project}/Class_1/leak.png", f"/gradio_api/file={project}/Class_1/passwd.png",
            f"/gradio_api/file={server.exports}/repo/pyproject.toml",
            f"/gradio_api/file/{secret}", "/gradio_api/file/etc/passwd",
            "/static/../../../../etc/passwd", "/static/..%2f..%2f..%2f..%2fetc%2fpasswd",
            "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd", "/svelte/..%2f..%2f..%2f..%2fetc%2fpasswd",
            "/custom_component/x/client/..%2f..%2f..%2fetc/passwd",
            f"/gradio_api/file=http://127.0.0.1:{server.port}/gradio_api/file={secret}",
            f"/gradio_api/proxy=http://127.0.0.1:{server.port}/gradio_api/file={secret}",
            "/gradio_api/stream/x/y/z/playlist-file",
        ]
        served = {}
        for path in crafted:
            status, body = raw_get(server.port, path)
            leaked = any(s in body for s in (b"TOP SECRET", b"root:", b"[build-system]", b"def serve", b"PATH="))
            if status == 200 or leaked:
                served[path] = (status, body[:80])
        assert not served, f"served outside the captures and exports: {served}"
        save_figures("crafted-urls", {"refused": len(crafted), "urls": crafted})
    finally:
        for link in (project / "Class_1" / "leak.png", project / "Class_1" / "passwd.png", server.exports / "repo"):
            link.unlink()


def test_uploads_are_capped(server):
    with httpx.Client(base_url=server.url, timeout=120) as http:
        small = http.post("/gradio_api/upload", files=[("files", ("ok.png", solid_png(RED)))])
        assert small.status_code == 200
        big = http.post("/gradio_api/upload", files=[("files", ("big.png", b"\0" * (51 * 2**20)))])
        assert big.status_code == 413, (big.status_code, big.text[:200])
        assert "maximum allowed size" in big.text


def test_binds_only_127_0_0_1_by_default(server):
    """The default host: the listening socket is on the loopback address only."""
    port = f"{server.port:04X}"
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"]
    listening6 = [line.split()[1] for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
                  if line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"] \
        if Path("/proc/net/tcp6").exists() else []
    assert listening == [f"0100007F:{port}"] and not listening6, (listening, listening6)
    assert "Warning: serving" not in server.log()
