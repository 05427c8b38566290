"""The sketch page (its own route: on the webcam page a Sketchpad slows the stream to about
2 frames/s in Gradio 6.31). Draw, add the drawing to a class, train, draw and predict."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import gradio as gr
import numpy as np

from studio.features import image_kernel
from studio.samples import images
from studio.samples.store import Project

from . import colours, train
from .common import Page, Studio, esc, guard, wire_loader
from .predictors import ranked

ROUTE = "/sketch"
# The pad starts with no tool chosen ("select the draw tool"), and its Clear button drops the tool:
# pick the brush when the page loads and after every clear, so that a drag always draws.
BRUSH_JS = """() => {
  const brush = () => document.querySelector('#sketchpad button[aria-label="Brush"]');
  const pick = (tries) => {
    const b = brush();
    if (b) { if (!b.classList.contains('selected')) b.click(); }
    else if (tries > 0) setTimeout(() => pick(tries - 1), 100);
  };
  pick(100);
  document.addEventListener('click', (e) => {
    if (e.target.closest('#sketchpad button[aria-label="Clear canvas"]')) setTimeout(() => pick(20), 100);
  }, true);
}"""
# Clear the pad for the next drawing (the listener above picks the brush again).
CLEAR_JS = """() => {
  document.querySelector('#sketchpad button[aria-label="Clear canvas"]')?.click();
}"""
NO_PROJECT = "No sketch project yet: [create one](/) (New project, kind Sketches), then draw here."
BRUSH = gr.Brush(colors=["#000000"], color_mode="fixed", default_size=8)


@dataclass(frozen=True)
class SketchPage:
    """The sketch page's widgets (it has no sections of its own)."""

    pad: gr.Sketchpad
    choose: gr.Dropdown
    target: gr.Radio  # the class a drawing is added to, by folder
    add: gr.Button
    counts: gr.Markdown
    predict: gr.Button
    label: gr.Label
    train: gr.Button
    status: gr.Markdown
    last: gr.State  # the digest of the drawing added last (one drawing is added once)
    hint: gr.Markdown  # what to do when there is no sketch project
    colours: gr.HTML  # offstage: the classes' bar colours (a <style>); live progress timers go here, not on the label


def render() -> SketchPage:
    gr.Navbar(main_page_name="Studio")
    gr.Markdown("## Sketch pad\nDraw one example at a time; once a model is trained, the prediction follows "
                "your drawing. [Back to the studio](/) to see the classes, look under the hood and export.")
    hint = gr.Markdown(NO_PROJECT, visible=False, elem_id="sketch-hint")
    with gr.Row():
        with gr.Column(scale=3):
            pad = gr.Sketchpad(type="numpy", canvas_size=(280, 280), brush=BRUSH, layers=False,
                               label="Drawing", elem_id="sketchpad")
        with gr.Column(scale=2):
            choose = gr.Dropdown(label="Sketch project", choices=[], elem_id="sketch-project")
            target = gr.Radio(label="Add drawings to", choices=[], elem_id="sketch-class")
            add = gr.Button("Add drawing to class", variant="primary", interactive=False, elem_id="sketch-add")
            counts = gr.Markdown(elem_id="sketch-counts")
            predict = gr.Button("Predict drawing", interactive=False, elem_id="sketch-predict")
            label = gr.Label(label="Prediction", elem_id="sketch-label")
            button = gr.Button(train.TRAIN, interactive=False, elem_id="sketch-train")
            status = gr.Markdown(elem_id="sketch-status", min_height=40)
    shades = gr.HTML(elem_classes="offstage")
    return SketchPage(pad, choose, target, add, counts, predict, label, button, status, gr.State(""), hint, shades)


def inked(value: dict | None) -> np.ndarray | None:
    """The drawing flattened onto white as RGB, or None for an empty pad."""
    comp = (value or {}).get("composite")
    rgb = None if comp is None else image_kernel.as_rgb_array(comp)
    return rgb if rgb is not None and images.has_ink(rgb) else None


def drawing(value: dict | None) -> np.ndarray:
    """The drawing flattened onto white as RGB; refuses an empty pad."""
    rgb = inked(value)
    if rgb is None:
        raise gr.Error("The pad is empty: draw something first.", print_exception=False)
    return rgb


def counts_text(p: Project) -> str:
    return " · ".join(f"{esc(k.label)}: **{k.count}**" for k in p.classes())


def listen(st: Studio, page: Page, ui: SketchPage) -> None:
    project = page.project

    def opened(p: Project | None, query: Mapping[str, str]) -> tuple:
        """Class choice (the one named by ``?class=``, else the first), counts, training status,
        the buttons enabled only with a project, and the hint shown without one."""
        if p is None:
            off = gr.Button(interactive=False)
            return gr.Radio(choices=[], value=None), "", "", off, off, off, gr.Markdown(visible=True), ""
        classes = p.classes()
        wanted = query.get("class", "")
        value = next((k.folder for k in classes if k.folder == wanted), classes[0].folder if classes else None)
        on = gr.Button(interactive=True)
        return (gr.Radio(choices=[(k.label, k.folder) for k in classes], value=value), counts_text(p),
                train.status(p), on, on, on, gr.Markdown(visible=False), colours.bar_rules(p))

    wire_loader(st, page, ROUTE, ui.choose, opened,
                [ui.target, ui.counts, ui.status, ui.add, ui.predict, ui.train, ui.hint, ui.colours])
    page.demo.load(None, None, None, js=BRUSH_JS)

    @guard
    def do_add(folder: str, cls: str, value: dict | None, previous: str):
        image = drawing(value)
        digest = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        if digest == previous:
            raise gr.Error("This drawing is already saved: clear the pad and draw a new one.", print_exception=False)
        p = st.project(folder)
        if not cls:
            raise gr.Error("Choose the class to add the drawing to.", print_exception=False)
        p.add_sample(p.class_in(cls, count=False).label, image)
        return digest, counts_text(p)

    # The pad is cleared by its own button: made an output, Gradio 6.31's editor stays "processing".
    added = ui.add.click(do_add, [project, ui.target, ui.pad, ui.last], [ui.last, ui.counts])
    added.success(None, None, None, js=CLEAR_JS)

    @guard
    def do_predict(folder: str, value: dict | None):
        image = drawing(value)
        predictor = st.predictors.get(st.project(folder))
        if predictor is None:
            raise gr.Error("Train a model first.", print_exception=False)
        return ranked(predictor, image)

    ui.predict.click(do_predict, [project, ui.pad], [ui.label])

    @guard
    def follow(folder: str, value: dict | None):
        """The prediction as the drawing changes: none for an empty pad or without a model."""
        rgb = inked(value)
        predictor = st.predictors.get(st.project(folder)) if folder and rgb is not None else None
        return None if predictor is None else ranked(predictor, rgb)

    # every finished stroke; "always_last" drops the stale ones when strokes come faster than predictions
    ui.pad.change(follow, [project, ui.pad], [ui.label], trigger_mode="always_last", show_progress="hidden",
                  show_progress_on=[ui.colours], queue=True, concurrency_id="sketch-follow")
    ui.pad.clear(lambda: None, None, [ui.label], show_progress="hidden", show_progress_on=[ui.colours])
    train.wire_button(st, page, ui.train, ui.status)
