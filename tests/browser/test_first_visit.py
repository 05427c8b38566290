"""One pass over every page, as a first-time user meets them: an empty studio, one click to start
the webcam, two classes recorded, trained and followed live, the model exported, the project saved
to a Teachable Machine .tm file and opened again, a dataset zip imported, a sketch drawn and
predicted as it is drawn, then the sound and pose pages. Each page is screenshotted into
tests/artifacts (``walk-*.png``). The other browser tests go deeper into each page; this one checks
that they join up for someone who starts from nothing."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import Page, expect

from studio.samples.store import Store
from studio.ui import pose, sketch

from .browser_kit import (
    Server,
    click_until,
    download_export,
    draw,
    field,
    new_project,
    rename_classes,
    reset_probe,
    start_camera,
    toast,
    wait_for_changes,
    wait_for_class,
    zip_of_class_folders,
)
from .conftest import PHOTOS

pytestmark = pytest.mark.browser
NAMES = {"red": "Rock", "blue": "Paper"}  # the fake webcam's marker colour -> class label
ENOUGH = 6  # images recorded per class while its button is held
STROKES = {"Across": (-90, 0, 90, 0), "Down": (0, -90, 0, 90)}  # sketch strokes from the pad's centre
SLOW = 120_000  # trainings and exports on two busy cores


@pytest.fixture
def first(work, artifacts):
    """A server with an empty project store: nobody has used this studio yet."""
    (work / "first-visit").mkdir()
    srv = Server(work / "first-visit").start()
    yield srv
    srv.stop()
    (artifacts / "first-visit-server.log").write_text(srv.log())


def shot(page: Page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"walk-{name}.png"), full_page=True)


def record(page: Page, i: int, colour: str) -> None:
    """Hold class ``i``'s record button while the video shows ``colour``, until ENOUGH are stored."""
    wait_for_class(page, colour, latest_ms=900, timeout_ms=30_000)
    page.locator(f"#hold-{i}").hover()
    page.mouse.down()
    status = page.locator("#rec-status")
    expect(status).to_contain_text(re.compile(rf"Recording into {NAMES[colour]}: ([{ENOUGH}-9]|\d\d+) images"),
                                   timeout=SLOW)
    page.mouse.up()
    expect(status).to_contain_text(f"to {NAMES[colour]}")  # "Saved N images to ..."
    expect(page.locator(f"#count-{i}")).not_to_have_text(re.compile(r"^\s*0 images"))


def test_every_page_on_a_first_visit(browser, first, artifacts, tmp_path):
    page = browser.new_page()
    page.goto(first.url)

    # An empty studio: the new-project form is open, and nothing asks to be trained or exported
    expect(page.locator("#new-row")).to_be_visible()
    for button in ("#train-btn", "#export-btn", "#save-project-file"):
        expect(page.locator(button)).to_be_disabled()
    shot(page, artifacts, "1-empty")

    # Photos: one click starts the webcam; hold to record each class; train; the label follows
    field(page, "new-name").fill("Hands")
    page.click("#create-project")
    rename_classes(page, NAMES.values())
    start_camera(page)
    for i, colour in enumerate(NAMES):
        record(page, i, colour)
    page.click("#train-btn")
    expect(page.locator("#train-status")).to_contain_text("test accuracy", timeout=SLOW)
    reset_probe(page)
    wait_for_changes(page, NAMES, 2, timeout_ms=60_000)
    shot(page, artifacts, "2-live")

    exported = download_export(page)
    names = zipfile.ZipFile(exported).namelist()
    assert any(n.endswith(".joblib") for n in names) and any(n.endswith(".py") for n in names), names

    # Save the project to a .tm file, open that file again, import a dataset zip
    page.click("#save-project-file")
    link = page.locator("#project-file a").first
    expect(link).to_be_visible(timeout=SLOW)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    assert saved.name == "Hands.tm"
    download.value.save_as(saved)
    choice = page.locator("#project-choice input")
    for path, project in ((saved, "Hands (2)"), (zip_of_class_folders(tmp_path / "Shapes.zip", PHOTOS), "Shapes")):
        with page.expect_file_chooser() as chooser:
            page.click("#open-project-file")
        chooser.value.set_files(path)
        expect(choice).to_have_value(project, timeout=SLOW)
        expect(toast(page, project)).to_contain_text("Imported")
    store = Store(first.captures)
    assert store.project("Hands (2)").counts() == store.project("Hands").counts()
    assert store.project("Shapes").counts() == {"paper": 2, "rock": 2, "scissors": 2}
    expect(page.locator("#count-2")).to_contain_text("2 images", timeout=SLOW)
    shot(page, artifacts, "3-opened")

    # Sketches: the pad draws at once (no tool to pick) and predicts as the drawing changes
    new_project(page, first.captures, "Doodles", "Sketches")
    expect(choice).to_have_value("Doodles (sketch)", timeout=SLOW)
    expect(page.locator("#sketch-note")).to_be_visible()  # the cards are the new project's
    expect(field(page, "name-1")).to_have_value("Class 2")
    rename_classes(page, STROKES)
    page.click("#draw-0")
    expect(page).to_have_url(re.compile(r"/sketch\?project="))
    for label, stroke in STROKES.items():
        page.locator("#sketch-class label").filter(has_text=label).click()
        for n in (1, 2):
            draw(page, stroke, shift=12 * n)
            click_until(page, "#sketch-add", "#sketch-counts", f"{label}: {n}")
    page.click("#sketch-train")
    expect(page.locator("#sketch-status")).to_contain_text("trained in", timeout=SLOW)
    shown = page.locator("#sketch-label [data-testid='label-output-value']")
    for label, stroke in STROKES.items():
        page.locator("#sketchpad button[aria-label='Clear canvas']").click()
        expect(shown).to_have_count(0)
        draw(page, stroke, shift=-20)
        expect(shown).to_contain_text(label, timeout=30_000)  # no Predict click: it follows the drawing
    shot(page, artifacts, "4-sketch")

    # Sounds: a new sound project's cards, each with its own record, upload, use and delete controls
    page.goto(first.url)
    new_project(page, first.captures, "Claps", "Sounds")
    link = page.locator("#sketch-note a").filter(has_text="sound page")
    page.goto(first.url.rstrip("/") + link.get_attribute("href"))
    expect(page.locator("#sound-project input")).to_have_value("Claps")
    expect(field(page, "snd-name-0")).to_have_value("Background noise")
    for control in ("snd-hold-0", "snd-upload-0", "snd-enabled-0", "snd-class-delete-0"):
        expect(page.locator(f"#{control}")).to_be_visible()
    expect(page.locator("#snd-class-download-0")).to_be_disabled()  # nothing recorded yet
    expect(page.locator("#sound-train")).to_be_visible()
    shot(page, artifacts, "5-sound")

    # Poses: with no pose project yet, the page says how to make one
    page.goto(first.url + pose.ROUTE.strip("/"))
    expect(page.locator("#pose-hint")).to_contain_text("No pose project yet")
    shot(page, artifacts, "6-pose")

    # and the sketch page, opened on its own, offers the sketch project made above
    page.goto(first.url + sketch.ROUTE.strip("/"))
    expect(page.locator("#sketch-hint")).to_be_hidden()
    expect(page.locator("#sketch-counts")).to_contain_text("Across: 2")
    page.close()

