"""The sketch walk: a sketch project, drawings for two classes on the sketch page (its own
route), training, then draw and predict; a reload keeps everything."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio.samples.store import Store
from studio.ui.colours import PALETTE

from .browser_kit import (
    bar_colours,
    click_until,
    draw,
    edge_colours,
    field,
    new_project,
    rename_classes,
    rgb,
    timers_seen,
    watch_timers,
)

pytestmark = pytest.mark.browser
PROJECT = "Doodles"
STROKES = {"Across": (-90, 0, 90, 0), "Down": (0, -90, 0, 90)}  # from the pad's centre


def test_sketch_project(browser, server, artifacts):
    page = browser.new_page()
    assert not [p for p in Store(server.captures).projects() if p.kind.name == "sketch"], "no sketch project yet"
    page.goto(server.url + "sketch")
    expect(page.locator("#sketch-hint")).to_contain_text("No sketch project yet")
    for button in ("#sketch-add", "#sketch-predict", "#sketch-train"):
        expect(page.locator(button)).to_be_disabled()
    page.goto(server.url)
    new_project(page, server.captures, PROJECT, "Sketches")
    expect(field(page, "name-1")).to_have_value("Class 2")
    expect(page.locator("#sketch-note")).to_be_visible()
    expect(page.locator("#camera")).to_be_hidden()  # no webcam stream beside a sketch pad
    rename_classes(page, STROKES)
    project = Store(server.captures).project(PROJECT)

    edges = edge_colours(page, [f"card-{i}" for i in range(len(STROKES))])
    assert edges == [rgb(c) for c in PALETTE[:len(STROKES)]]  # the cards wear their bars' colours
    page.click("#draw-0")  # the card's Draw button opens the sketch page on this class
    expect(page).to_have_url(re.compile(r"/sketch\?project="))
    expect(page.locator("#sketch-hint")).to_be_hidden()
    for label, stroke in STROKES.items():  # the brush is the pad's tool from the start: no click on it
        page.locator("#sketch-class label").filter(has_text=label).click()
        for n in (1, 2):
            draw(page, stroke, shift=12 * n)
            click_until(page, "#sketch-add", "#sketch-counts", f"{label}: {n}")
    assert project.counts() == {"Across": 2, "Down": 2}

    page.click("#sketch-train")
    expect(page.locator("#sketch-status")).to_contain_text("trained in", timeout=120_000)
    shown = page.locator("#sketch-label [data-testid='label-output-value']")
    watch_timers(page, "#sketch-label")
    for label, stroke in STROKES.items():
        page.locator("#sketchpad button[aria-label='Clear canvas']").click()
        expect(shown).to_have_count(0)  # the old prediction goes with the drawing
        draw(page, stroke, shift=-20)  # the brush is picked again after a clear
        expect(shown).to_contain_text(label, timeout=30_000)  # the prediction follows the drawing
    assert timers_seen(page) == []  # live predictions never blink a progress timer on the label
    bars = bar_colours(page, "#sketch-label")
    assert bars == {label: rgb(PALETTE[i]) for i, label in enumerate(STROKES)}  # each class its own colour
    click_until(page, "#sketch-predict", "#sketch-label [data-testid='label-output-value']", label)
    page.screenshot(path=str(artifacts / "07-sketch-page.png"), full_page=True)

    page.reload()
    expect(page.locator("#sketch-counts")).to_contain_text("Across: 2")
    expect(page.locator("#sketch-status")).to_contain_text("trained in")
    page.goto(server.url)
    expect(page.locator("#project-choice input")).to_have_value(f"{PROJECT} (sketch)")
    expect(page.locator("#count-1")).to_contain_text("2 images")
    expect(page.locator("#train-status")).to_contain_text("trained in")
    page.screenshot(path=str(artifacts / "08-sketch-project.png"), full_page=True)
    page.close()
