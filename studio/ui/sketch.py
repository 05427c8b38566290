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

from . import train
from .common import Page, Studio, esc, guard, wire_loader
from .predictors import ranked

ROUTE = "/sketch"
# Clear the pad for the next drawing and pick the brush again (clearing drops the tool).
CLEAR_JS = """() => {
  const pad = document.querySelector('#sketchpad');
  pad?.querySelector('button[aria-label="Clear canvas"]')?.click();
  setTimeout(() => pad?.querySelector('button[aria-label="Brush"]')?.click(), 100);
}"""
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


def render() -> SketchPage:
    gr.Navbar(main_page_name="Studio")
    gr.Markdown("## Sketch pad\nDraw one example at a time. [Back to the studio](/) to see the classes, "
                "look under the hood and export.")
    with gr.Row():
        with gr.Column(scale=3):
            pad = gr.Sketchpad(type="numpy", canvas_size=(280, 280), brush=BRUSH, layers=False,
                               label="Drawing", elem_id="sketchpad")
        with gr.Column(scale=2):
            choose = gr.Dropdown(label="Sketch project", choices=[], elem_id="sketch-project")
            target = gr.Radio(label="Add drawings to", choices=[], elem_id="sketch-class")
            add = gr.Button("Add drawing to class", variant="primary", elem_id="sketch-add")
            counts = gr.Markdown(elem_id="sketch-counts")
            predict = gr.Button("Predict drawing", elem_id="sketch-predict")
            label = gr.Label(label="Prediction", elem_id="sketch-label")
            button = gr.Button(train.TRAIN, elem_id="sketch-train")
            status = gr.Markdown(elem_id="sketch-status", min_height=40)
    return SketchPage(pad, choose, target, add, counts, predict, label, button, status, gr.State(""))


def drawing(value: dict | None) -> np.ndarray:
    """The drawing flattened onto white as RGB; refuses an empty pad."""
    comp = (value or {}).get("composite")
    rgb = None if comp is None else image_kernel.as_rgb_array(comp)
    if rgb is None or not images.has_ink(rgb):
        raise gr.Error("The pad is empty: draw something first.", print_exception=False)
    return rgb


def counts_text(p: Project) -> str:
    return " · ".join(f"{esc(k.label)}: **{k.count}**" for k in p.classes())


def listen(st: Studio, page: Page, ui: SketchPage) -> None:
    project = page.project

    def opened(p: Project | None, query: Mapping[str, str]) -> tuple:
        """Class choice (the one named by ``?class=``, else the first), counts and training status."""
        if p is None:
            return (gr.Radio(choices=[], value=None), "",
                    "No sketch project yet: [create one](/) (New project, kind Sketches).")
        classes = p.classes()
        wanted = query.get("class", "")
        value = next((k.folder for k in classes if k.folder == wanted), classes[0].folder if classes else None)
        return (gr.Radio(choices=[(k.label, k.folder) for k in classes], value=value), counts_text(p),
                train.status(p))

    wire_loader(st, page, ROUTE, ui.choose, opened, [ui.target, ui.counts, ui.status])

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
    train.wire_button(st, page, ui.train, ui.status)
