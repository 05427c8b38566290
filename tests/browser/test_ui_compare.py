"""Compare models on the studio page, as a student would: open a trained photo project, compare
all seven models on its held-back images, keep another one (which then drives the preview),
show the learning curve, and try the Advanced panel's preprocessing.

The project is made and trained through the core before the page opens, with quick settings
(pixel features, logistic regression, no mirrored copies), so the whole file takes seconds
beyond the shared server's start. The steps share one page, in file order."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from helpers import make_project
from playwright.sync_api import Page, Route, expect

from studio.model import modelfile
from studio.model.predictor import Predictor
from studio.model.settings import HEADS, MODELS, TrainSettings
from studio.model.training import train
from studio.samples import images
from studio.samples.store import Project, Store

from .browser_kit import choose_option, until

pytestmark = pytest.mark.browser
PROJECT = "Compare hands"
QUICK = {"features": "pixels", "model": "logistic", "augment": False, "epochs": 20}
PICKED = "knn"  # its confidences (votes of 5 neighbours) differ from logistic regression's
SLOW = 120_000  # ms: fitting seven models on a busy 2-core machine
QUEUE_JOIN = re.compile(r"/gradio_api/queue/join\b")  # a queued event's request (its query names the session)


@pytest.fixture(scope="module")
def project(server) -> Project:
    p = make_project(Store(server.captures), PROJECT, "rps")
    p.set_settings(TrainSettings(**QUICK).to_dict())
    train(p)
    return p


@pytest.fixture(scope="module")
def page(browser, server, project) -> Page:
    page = browser.new_page()
    page.goto(server.url)
    expect(page.locator("#project-choice input")).not_to_have_value("", timeout=SLOW)  # the page's own load is done
    if page.locator("#project-choice input").input_value() != PROJECT:
        choose_option(page, "project-choice", PROJECT)
    expect(page.locator("#project-choice input")).to_have_value(PROJECT)
    expect(page.locator("#train-status")).to_contain_text("test accuracy")
    yield page
    page.close()


def test_compare_all_seven(page: Page, artifacts):
    page.locator("#compare").click()  # the accordion
    for h in HEADS:
        expect(page.locator("#cmp-models label").filter(has_text=f"[{h}]").locator("input")).to_be_checked()
    page.click("#cmp-run")
    expect(page.locator("#cmp-run")).to_be_disabled()
    expect(page.locator("#cmp-cancel")).to_be_enabled()
    table = page.locator("#cmp-table")
    expect(table).to_be_visible(timeout=SLOW)
    expect(page.locator("#cmp-run")).to_be_enabled()
    expect(page.locator("#cmp-cancel")).to_be_disabled()
    expect(page.locator("#cmp-summary")).to_contain_text("held-back images")
    for h in HEADS:
        expect(table).to_contain_text(f"[{h}]")
    expect(table).to_contain_text(f"{MODELS['logistic']} [logistic] (current)")
    assert table.inner_text().count("(current)") == 1
    page.screenshot(path=str(artifacts / "compare-01-table.png"), full_page=True)


def test_cancel_then_compare_again(page: Page):
    """Varying the preprocessing too means 42 fits: cancelled before the first, it stops with none
    (as on a busy machine, where the cancel can come first: the comparison's request to the queue
    is held until the cancel is answered); the seven already fitted then come back from the cache
    without fitting anything."""
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route(QUEUE_JOIN, hold_the_first)
    page.locator("#cmp-vary input").check()
    page.click("#cmp-run")
    page.click("#cmp-cancel")
    expect(page.locator("#cmp-cancel")).to_be_disabled()
    until(page, lambda: held, "the comparison asks the queue")
    held[0].continue_()
    page.unroute(QUEUE_JOIN)
    expect(page.locator("#cmp-summary")).to_contain_text("0 recipes, best first", timeout=SLOW)
    expect(page.locator("#cmp-summary")).to_contain_text("Cancelled")
    expect(page.locator("#cmp-run")).to_be_enabled()
    page.locator("#cmp-vary input").uncheck()
    page.click("#cmp-run")
    expect(page.locator("#cmp-summary")).to_contain_text("0 fitted now, the others remembered", timeout=SLOW)
    for h in HEADS:
        expect(page.locator("#cmp-table")).to_contain_text(f"[{h}]")


def test_keep_another_model(page: Page, project: Project):
    old = Predictor.from_project(project)
    choose_option(page, "cmp-choice", f"[{PICKED}], standardise")
    page.click("#cmp-use")
    until(page, lambda: modelfile.info(project.model_dir).get("id") != old.info["id"], "the model is retrained", 60)
    assert project.settings()["model"] == PICKED
    new = Predictor.from_project(project)
    assert new.info["settings"]["model"] == PICKED

    # The status line, the hood, the Advanced panel and the table all name the new model.
    expect(page.locator("#train-status")).to_contain_text(f"Model {new.info['id']}", timeout=SLOW)
    expect(page.locator("#hood-summary")).to_contain_text(f"model {PICKED} on pixels features", timeout=SLOW)
    open_advanced(page)
    expect(page.locator("#set-model input")).to_have_value(re.compile(rf"\[{PICKED}\]"))
    expect(page.locator("#cmp-table")).to_contain_text(f"[{PICKED}] (current)")
    assert page.locator("#cmp-table").inner_text().count("(current)") == 1

    # An image whose prediction differs between the two models: the page predicts as the new one.
    photo, conf = differing(old, new)
    page.locator("#try-file").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#test-image").get_by_text("Click to Upload").click()
    chooser.value.set_files(photo)
    label = page.locator("#test-label")
    top = max(conf, key=conf.get)
    expect(label.locator("[data-testid='label-output-value']")).to_have_text(top)
    for name, c in conf.items():
        expect(label.locator(f"[data-testid='{name}-confidence-set']")).to_contain_text(f"{round(c * 100)}%")


def differing(old: Predictor, new: Predictor) -> tuple[Path, dict[str, float]]:
    """A fixture photo whose top class (or its confidence, rounded) the two models disagree on,
    and the new model's confidences for it."""
    for photo in sorted((Path(__file__).resolve().parents[1] / "fixtures" / "rps").glob("*/*.jpg")):
        img = np.asarray(images.load(photo, photo.name))
        a, b = old.predict(img), new.predict(img)
        if max(a, key=a.get) != max(b, key=b.get):
            return photo, b
    raise AssertionError("the two models agree on every photo")


def test_learning_curve(page: Page, artifacts):
    page.click("#curve-btn")
    expect(page.locator("#curve-plot canvas, #curve-plot svg").first).to_be_visible(timeout=SLOW)
    advice = page.locator("#curve-advice")
    expect(advice).to_contain_text("5 per class")
    expect(advice).to_contain_text(re.compile(r"would gain most from more images|Every held-back image"))
    page.locator("#curve-plot").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "compare-02-curve.png"), full_page=True)


def open_advanced(page: Page) -> None:
    """Open the Advanced accordion (its widgets are in the page only while it is open)."""
    if not page.locator("#set-model").is_visible():
        page.locator("#advanced").click()
    expect(page.locator("#set-model")).to_be_visible()


def test_preprocessing_setting(page: Page, project: Project):
    open_advanced(page)
    threshold = page.locator("#set-threshold")
    expect(threshold).to_be_hidden()
    choose_option(page, "set-preprocessing", "binarize")
    expect(page.locator("#set-preprocessing-note")).to_contain_text("above the threshold")
    expect(threshold).to_be_visible()
    until(page, lambda: project.settings().get("preprocessing") == "binarize", "the preprocessing is stored")
    field = threshold.locator("input")
    field.fill("0.5")
    field.blur()
    until(page, lambda: project.settings().get("threshold") == 0.5, "the threshold is stored")
    choose_option(page, "set-preprocessing", "minmax")
    expect(threshold).to_be_hidden()
    expect(page.locator("#set-preprocessing-note")).to_contain_text("from 0 to 1")
    page.click("#reset-settings")
    expect(page.locator("#set-preprocessing input")).to_have_value("standardise")
    until(page, lambda: project.settings().get("preprocessing") == "standardise", "the defaults are stored")
