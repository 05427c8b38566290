"""The photo walk, as a new user would do it: create a project, record two classes with the
webcam (hold-to-record and snapshot), train, watch the live label follow the video, look
under the hood, export and download; then reload, restart the server, add a second user.

The steps share one page and build on each other, in file order."""

from __future__ import annotations

import re
import statistics
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from studio.samples.store import Store

from .browser_kit import (
    STRIP,
    choose_option,
    download_export,
    download_zip,
    field,
    label_latencies,
    probe,
    rename_classes,
    reset_probe,
    save_json,
    start_camera,
    toast,
    until,
    wait_for_changes,
    wait_for_class,
)

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "rps"
pytestmark = pytest.mark.browser
PROJECT = "Rock paper"
NAMES = {"red": "Rock", "blue": "Paper"}  # the video's marker colour -> class label
HOLD_MS = 2000  # within one 3-s segment of the video
START_MS, END_MS = 900, 2100  # a hold starts at most this far into a segment, and ends by this


@pytest.fixture(scope="module")
def page(browser, server) -> Page:
    page = browser.new_page()
    page.goto(server.url)
    yield page
    page.close()


@pytest.fixture(scope="module")
def other(browser, server) -> Page:
    """A second user's tab."""
    page = browser.new_page()
    page.goto(server.url)
    yield page
    page.close()



def count(page: Page, i: int) -> int:
    return int(re.search(r"\d+", page.locator(f"#count-{i}").inner_text()).group())


def store(server) -> Store:
    return Store(server.captures)


def hold(page: Page, button: str, ms: int = HOLD_MS) -> None:
    page.locator(button).hover()
    page.mouse.down()
    page.wait_for_timeout(ms)  # holding the button is the action under test
    page.mouse.up()


def test_create_project(page: Page, server, artifacts):
    if not store(server).projects():
        expect(page.locator("#new-row")).to_be_visible()  # no project yet: the form is open
    else:  # once the page has opened the last project (on load), ask for a new one
        expect(page.locator("#project-choice input")).not_to_have_value("")
        page.click("#new-project")
    field(page, "new-name").fill(PROJECT)
    page.click("#create-project")
    expect(page.locator("#card-1")).to_be_visible()
    expect(field(page, "name-0")).to_have_value("Class 1")
    expect(field(page, "name-1")).to_have_value("Class 2")
    rename_classes(page, NAMES.values())
    project = store(server).project(PROJECT)
    until(page, lambda: project.labels() == list(NAMES.values()), "the new names are on disk")
    page.screenshot(path=str(artifacts / "01-new-project.png"), full_page=True)


def hold_in_segment(page: Page, button: str) -> float:
    """Hold ``button`` for HOLD_MS, but let go END_MS after the video's class began at the
    latest, so that a busy machine's delays never carry the hold into the next class (whose
    frames would then rightly be recorded too); the seconds held, by the page's clock."""
    page.locator(button).hover()
    pressed = page.evaluate("Date.now()")
    page.mouse.down()
    page.wait_for_function(  # holding the button is the action under test
        """([pressed, ms, end]) => {
            const v = window.__probe.video, began = v[v.length - 1][0];
            return Date.now() - pressed >= ms || Date.now() - began >= end;
        }""", arg=[pressed, HOLD_MS, END_MS], polling=20)
    page.mouse.up()
    return (page.evaluate("Date.now()") - pressed) / 1000


def test_record_by_webcam(page: Page, server, artifacts):
    start_camera(page)

    seconds = []
    for i, colour in enumerate(NAMES):
        wait_for_class(page, colour, latest_ms=START_MS, timeout_ms=30_000)
        seconds.append(hold_in_segment(page, f"#hold-{i}"))
        expect(page.locator("#rec-status")).to_contain_text(f"to {NAMES[colour]}")
        expect(page.locator(f"#count-{i}")).not_to_have_text(re.compile(r"^\s*0 images"))
    held = [count(page, 0), count(page, 1)]
    # ~10 frames/s are stored while held on an idle machine; allow for a very busy one
    assert all(n >= s for n, s in zip(held, seconds)), f"frames stored while held for {seconds} s: {held}"

    for i, colour in enumerate(NAMES):
        wait_for_class(page, colour, latest_ms=START_MS, timeout_ms=30_000)
        page.click(f"#snap-{i}")
        expect(page.locator(f"#count-{i}")).to_contain_text(str(held[i] + 1))

    project = store(server).project(PROJECT)
    assert project.counts() == {"Rock": held[0] + 1, "Paper": held[1] + 1}
    # Every stored image is what the (mirrored) preview showed while its button was held:
    # the class's marker strip, mirrored to the right edge.
    for label, colour in zip(NAMES.values(), ("red", "blue")):
        for sample in project.samples(label):
            rgb = np.asarray(Image.open(sample.path).convert("RGB")).astype(int)
            right, left = rgb[:, -STRIP // 2:].mean((0, 1)), rgb[:, :STRIP // 2].mean((0, 1))
            want = 0 if colour == "red" else 2
            assert right[want] > 180 and right[2 - want] < 90, f"{label}/{sample.name}: right strip {right}"
            assert abs(left - 128).max() < 30, f"{label}/{sample.name}: left strip {left} (not mirrored?)"
    expect(page.locator("#gallery-0 img").first).to_be_visible()
    page.screenshot(path=str(artifacts / "02-recorded.png"), full_page=True)


def test_train_and_live_label(page: Page, server, artifacts):
    page.click("#train-btn")
    expect(page.locator("#train-btn")).to_be_disabled()
    expect(page.locator("#train-status")).to_contain_text("test accuracy", timeout=120_000)
    expect(page.locator("#train-btn")).to_be_enabled()
    expect(page.locator("#live-label [data-testid='label-output-value']")).to_have_text(
        re.compile("Rock|Paper"), timeout=10_000)
    reset_probe(page)
    wait_for_changes(page, NAMES, 3)
    changes, latencies = label_latencies(probe(page), NAMES)
    fps = float(re.search(r"([\d.]+) frames/s", page.locator("#live-stats").inner_text()).group(1))
    save_json(artifacts / "live-label.json", {"changes": len(changes), "latency_ms": latencies, "fps": fps})
    assert len(latencies) == len(changes) >= 3, f"the label followed {len(latencies)} of {len(changes)} changes"
    assert statistics.median(latencies) < 1500, latencies
    assert fps >= 5, f"{fps} frames/s reach the model"
    page.screenshot(path=str(artifacts / "03-live-prediction.png"), full_page=True)


def test_predict_an_image_file(page: Page):
    page.locator("#try-file").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#test-image").get_by_text("Click to Upload").click()
    chooser.value.set_files(sorted((PHOTOS / "rock").iterdir())[-1])  # unmirrored, unlike the recordings
    expect(page.locator("#test-label [data-testid='label-output-value']")).to_have_text("Rock")


def test_mirror_can_be_turned_off(page: Page, server):
    """Unticked, the preview shows the camera's own view and a snapshot stores that view (the
    marker strip on the left, where the camera has it); ticked again, both are mirrored."""
    video = page.locator("#camera video")
    transform = "el => getComputedStyle(el).transform"
    assert video.evaluate(transform) == "matrix(-1, 0, 0, 1, 0, 0)"  # mirrored by default
    project = store(server).project(PROJECT)
    page.locator("#mirror input").uncheck()
    expect(video).to_have_css("transform", "none")
    before = count(page, 0)
    wait_for_class(page, "red")
    page.click("#snap-0")
    expect(page.locator("#count-0")).to_contain_text(f"{before + 1} images")
    newest = np.asarray(Image.open(project.samples("Rock")[0].path).convert("RGB")).astype(int)
    left, right = newest[:, :STRIP // 2].mean((0, 1)), newest[:, -STRIP // 2:].mean((0, 1))
    assert left[0] > 180 and left[2] < 90 and abs(right - 128).max() < 30, (left, right)
    page.locator("#mirror input").check()
    expect(video).to_have_css("transform", "matrix(-1, 0, 0, 1, 0, 0)")


def test_under_the_hood(page: Page, server, artifacts):
    hood = page.locator("#hood")
    expect(page.locator("#hood-summary")).to_contain_text("Test accuracy")
    cells = page.locator("#confusion .cm-cell")
    expect(cells).to_have_count(4)
    cell = page.locator("#confusion .cm-cell[data-row='0'][data-col='0']")
    n = int(cell.inner_text())
    cell.click()
    expect(page.locator("#cell-note")).to_contain_text("of Rock predicted as Rock")
    if n:
        expect(page.locator("#cell-images img")).to_have_count(n)
    expect(page.locator("#report")).to_contain_text("precision")
    page.click("#see-data")
    expect(page.locator("#pca-plot canvas, #pca-plot svg").first).to_be_visible()

    # The MLP learns in epochs: its accuracy and loss per epoch are plotted.
    page.locator("#advanced").click()
    choose_option(page, "set-model", "[mlp]")
    project = store(server).project(PROJECT)
    until(page, lambda: project.settings().get("model") == "mlp", "a changed setting is stored in the project")
    page.click("#train-btn")
    expect(page.locator("#train-btn")).to_be_disabled()
    expect(page.locator("#train-btn")).to_be_enabled(timeout=120_000)
    expect(page.locator("#epoch-plots")).to_be_visible()
    expect(page.locator("#accuracy-plot canvas, #accuracy-plot svg").first).to_be_visible()
    expect(page.locator("#loss-plot canvas, #loss-plot svg").first).to_be_visible()
    assert store(server).project(PROJECT).settings()["model"] == "mlp"
    hood.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "04-under-the-hood.png"), full_page=True)
    page.click("#reset-settings")
    expect(page.locator("#set-model input")).to_have_value(re.compile(r"\[auto\]"))
    until(page, lambda: project.settings().get("model") == "auto", "the defaults are stored")
    assert project.settings()["features"] == "pretrained"


def test_export(page: Page, server, artifacts):
    for title in ("joblib", "skops", "ONNX"):  # all three ticked, as studio export writes them
        expect(page.locator("#export-formats label").filter(has_text=title).locator("input")).to_be_checked()
    names = zipfile.ZipFile(download_export(page)).namelist()
    files = {n.split("/", 1)[1] for n in names}
    assert {"model.joblib", "predict.py", "model.skops", "model.onnx", "predict_onnx.py", "labels.txt",
            "metadata.json"} <= files, names
    # the editor draws only the lines in view: read the whole snippet through its download link
    expect(page.locator("#export-snippet")).to_contain_text("model.joblib")
    snippet = page.evaluate("""async () => {
        const a = document.querySelector('#export-snippet a[download], #export-snippet a[href^="blob:"]');
        return await (await fetch(a.href)).text(); }""")
    for name in ("model.joblib", "model.skops", "model.onnx"):
        assert name in snippet, f"the snippet names {name}"
    assert list(server.exports.glob("*.zip")), "the zip is in the export folder"
    page.screenshot(path=str(artifacts / "05-export.png"), full_page=True)


def test_manage_classes(page: Page, server, tmp_path, artifacts):
    project = store(server).project(PROJECT)
    page.click("#add-class")
    expect(field(page, "name-2")).to_have_value("Class 3")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a PNG")
    with page.expect_file_chooser() as chooser:
        page.click("#upload-2")
    chooser.value.set_files([sorted((PHOTOS / "scissors").iterdir())[0], broken])
    expect(toast(page, "broken.png")).to_contain_text("not a readable image")
    expect(page.locator("#count-2")).to_contain_text("1 image")

    remove_the_image(page, 2)
    assert project.counts()["Class 3"] == 0

    assert len(download_zip(page, "#download-0", "#zip-0 a")) == project.counts()["Rock"] == count(page, 0)

    page.locator("#enabled-2 input").uncheck()
    until(page, lambda: not project.class_info("Class 3").enabled, "the class is disabled on disk")
    page.click("#delete-2")
    expect(page.locator("#confirm-2")).to_be_visible()
    page.click("#delete-no-2")
    expect(page.locator("#confirm-2")).to_be_hidden()
    assert "Class 3" in project.labels()
    page.click("#delete-2")
    page.click("#delete-yes-2")
    expect(page.locator("#card-2")).to_have_count(0)
    assert project.labels() == list(NAMES.values())


def remove_the_image(page: Page, i: int) -> None:
    """Select card ``i``'s one thumbnail and click Remove selected, as a user does, until the card
    counts 0 images. On a busy machine gr.render can draw the card again after the upload had
    been counted: the new card's Remove is disabled until its thumbnail is selected again."""
    count, remove = page.locator(f"#count-{i}"), page.locator(f"#remove-{i}")
    deadline = time.monotonic() + 120
    while "0 images" not in count.inner_text():
        assert time.monotonic() < deadline, f"card {i} still shows {count.inner_text().strip()!r}"
        try:
            page.locator(f"#gallery-{i} img").first.click(timeout=5_000)
            expect(remove).to_be_enabled(timeout=8_000)
            remove.click(timeout=5_000)
            expect(count).to_contain_text("0 images", timeout=15_000)
        except (AssertionError, PlaywrightError):
            continue  # redrawn in between (or still removing): the loop looks at the count again


def test_reload_and_restart_keep_everything(page: Page, server):
    counts = store(server).project(PROJECT).counts()

    def everything_is_there() -> None:
        expect(page.locator("#project-choice input")).to_have_value(PROJECT)
        for i, n in enumerate(counts.values()):
            expect(page.locator(f"#count-{i}")).to_contain_text(f"{n} images")
        expect(page.locator("#train-status")).to_contain_text("test accuracy")
        expect(page.locator("#hood-summary")).to_contain_text("Test accuracy")

    page.reload()
    everything_is_there()
    server.stop()
    server.start()
    page.reload()
    everything_is_there()
    start_camera(page)  # the model on disk predicts at once
    expect(page.locator("#live-label [data-testid='label-output-value']")).to_have_text(re.compile("Rock|Paper"))


def test_second_user(page: Page, other: Page, server, artifacts):
    counts = store(server).project(PROJECT).counts()
    expect(other.locator("#project-choice input")).not_to_have_value("")  # the page's own load is done
    other.click("#new-project")
    field(other, "new-name").fill("Second user")
    other.click("#create-project")
    expect(field(other, "name-0")).to_have_value("Class 1")
    start_camera(other)
    expect(other.locator("#camera button[aria-label='capture photo']")).not_to_contain_text("Waiting")
    hold(other, "#hold-0", 1000)
    expect(other.locator("#count-0")).not_to_have_text(re.compile(r"^\s*0 images"))

    # The first user's tab keeps its project, and its live label still follows the video.
    expect(page.locator("#project-choice input")).to_have_value(PROJECT)
    reset_probe(page)
    wait_for_changes(page, NAMES, 2)
    changes, latencies = label_latencies(probe(page), NAMES)
    assert len(latencies) == len(changes), "the label followed every change with a second user streaming"
    fps = [float(re.search(r"([\d.]+) frames/s", p.locator("#live-stats").inner_text()).group(1))
           for p in (page, other)]
    save_json(artifacts / "two-users.json", {"fps": fps, "latency_ms": latencies})
    # both streams keep reaching the model (2.8 and 5.6 frames/s in a quiet run; 1.2-1.6 beside four busy processes)
    assert min(fps) >= 1, f"both users' frames reach the server: {fps}"
    assert store(server).project(PROJECT).counts() == counts
    other.screenshot(path=str(artifacts / "06-second-user.png"), full_page=True)


def test_errors_are_messages(other: Page, server):
    other.click("#train-btn")
    expect(toast(other, "needs at least 2")).to_be_visible()
    other.locator("#enabled-1 input").uncheck()
    other.click("#train-btn")
    expect(toast(other, "1 enabled class")).to_be_visible()
    expect(other.locator("#train-btn")).to_be_enabled()
    assert "Traceback" not in other.content()
