"""Project files from the page: save a photo project as a Teachable Machine .tm file, open that
file again as a new project, import a zip of class folders, and refuse a zip with no images."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from studio.samples import transfer
from studio.samples.store import Store

from .browser_kit import choose_option, toast, zip_of_class_folders
from .conftest import PHOTOS

pytestmark = pytest.mark.browser
PROJECT = "Files Rocks"  # unique on the shared server; a space, kept through the file's name
COUNTS = {"Rock": 3, "Paper": 2}
SLOW = 60_000  # two busy cores: imports and the page's redraws take their time


def open_file(page: Page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.click("#open-project-file")
    chooser.value.set_files(path)


@pytest.fixture
def store(server):
    s = Store(server.captures)
    before = {p.folder for p in s.projects()}
    yield s
    for p in s.projects():  # leave the shared server as it was for the other modules
        if p.folder not in before:
            s.delete(p.name)


def test_save_and_open_project_files(browser, server, store, artifacts, tmp_path):
    project = store.create(PROJECT, "photo", classes=list(COUNTS))
    for label, (folder, n) in zip(COUNTS, (("rock", COUNTS["Rock"]), ("paper", COUNTS["Paper"])), strict=True):
        transfer.add_files(project, label, sorted((PHOTOS / folder).iterdir())[:n])
    assert project.counts() == COUNTS

    page = browser.new_page()
    page.goto(server.url)
    choice = page.locator("#project-choice input")
    expect(choice).not_to_have_value("", timeout=SLOW)  # the page's own load is done
    expect(page.locator("#open-project-file")).to_be_enabled()
    if choice.input_value() != PROJECT:  # the page opens the remembered project, or the first
        choose_option(page, "project-choice", PROJECT)
    expect(choice).to_have_value(PROJECT)
    expect(page.locator("#count-0")).to_contain_text("3 images", timeout=SLOW)

    # Save project file: a .tm named after the project, 224x224 JPEGs and a manifest
    expect(page.locator("#save-project-file")).to_be_enabled()
    page.click("#save-project-file")
    link = page.locator("#project-file a").first
    expect(link).to_be_visible(timeout=SLOW)
    expect(page.locator("#file-row")).to_be_visible()
    page.screenshot(path=str(artifacts / "project-files-1-saved.png"))
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"{PROJECT}.tm"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as z:
        manifest = json.loads(z.read("manifest.json"))
        jpgs = [n for n in z.namelist() if n.endswith(".jpg")]
    assert manifest["type"] == "image" and "trainEpochs" in manifest["appdata"]
    assert len(jpgs) == sum(COUNTS.values())
    assert {n.split(transfer.TM_SEPARATOR)[0] for n in jpgs} == set(COUNTS)

    # Open project file: the .tm comes back as a new project (its name made unique), selected
    open_file(page, saved)
    copy = f"{PROJECT} (2)"
    expect(choice).to_have_value(copy, timeout=SLOW)
    expect(toast(page, f"as project “{copy}”")).to_contain_text("Imported 5 image(s) into 2 class(es)")
    expect(page.locator("#file-row")).to_be_hidden()
    expect(page.locator("#count-0")).to_contain_text("3 images", timeout=SLOW)
    expect(page.locator("#count-1")).to_contain_text("2 images")
    opened = store.project(copy)
    assert opened.labels() == list(COUNTS) and opened.counts() == COUNTS

    # a dataset zip of class folders (one stray text file, named in the message) makes a project
    dataset = tmp_path / "Hand shapes.zip"
    with zipfile.ZipFile(zip_of_class_folders(dataset, PHOTOS), "a") as z:
        z.writestr("rock/notes.txt", "not a picture")
    open_file(page, dataset)
    expect(choice).to_have_value("Hand shapes", timeout=SLOW)
    expect(toast(page, "Hand shapes")).to_contain_text("notes.txt")
    for i in range(3):
        expect(page.locator(f"#count-{i}")).to_contain_text("2 images", timeout=SLOW)
    hands = store.project("Hand shapes")
    assert sorted(hands.labels()) == ["paper", "rock", "scissors"]
    assert hands.counts() == {"paper": 2, "rock": 2, "scissors": 2}
    page.screenshot(path=str(artifacts / "project-files-2-imported.png"))

    # a zip with no images: an error in the page, and no empty project left behind
    empty = tmp_path / "Nothing here.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("notes/readme.txt", "no pictures")
    open_file(page, empty)
    expect(toast(page, "No images found")).to_be_visible(timeout=SLOW)
    assert "Nothing here" not in store.names()
    expect(choice).to_have_value("Hand shapes")
    page.close()
