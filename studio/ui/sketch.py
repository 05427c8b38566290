"""The sketch page (its own route: on the webcam page a Sketchpad slows the stream to about
2 frames/s in Gradio 6.31). Draw, add the drawing to a class, train, draw and predict."""

from __future__ import annotations

import hashlib

import gradio as gr
import numpy as np

from studio.features import image_kernel as features
from studio.model import modelfile

from .common import REMEMBER, Studio, esc, guard
from .predictors import ranked
from .train import TRAIN, TRAINING, run, summary

ROUTE = "/sketch"
# Clear the pad for the next drawing and pick the brush again (clearing drops the tool).
CLEAR_JS = """() => {
  const pad = document.querySelector('#sketchpad');
  pad?.querySelector('button[aria-label="Clear canvas"]')?.click();
  setTimeout(() => pad?.querySelector('button[aria-label="Brush"]')?.click(), 100);
}"""
BRUSH = gr.Brush(colors=["#000000"], color_mode="fixed", default_size=8)


def render(st: Studio) -> None:
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
            train = gr.Button(TRAIN, elem_id="sketch-train")
            status = gr.Markdown(elem_id="sketch-status", min_height=40)
    st.c.update(sk_pad=pad, sk_choose=choose, sk_target=target, sk_add=add, sk_counts=counts,
                sk_predict=predict, sk_label=label, sk_train=train, sk_status=status,
                sk_project=gr.State(""), sk_last=gr.State(""), sk_remember=gr.BrowserState("", **REMEMBER))


def drawing(value: dict | None) -> np.ndarray:
    """The drawing flattened onto white as RGB; refuses an empty pad."""
    comp = (value or {}).get("composite")
    rgb = None if comp is None else features.as_rgb_array(comp)
    if rgb is None or not (rgb.min(axis=2) < features.SKETCH_INK).any():
        raise gr.Error("The pad is empty: draw something first.", print_exception=False)
    return rgb


def listen(st: Studio, demo: gr.Blocks) -> None:
    c = st.c
    project, last, remember = c["sk_project"], c["sk_last"], c["sk_remember"]  # last: the drawing saved last
    pad, choose, target = c["sk_pad"], c["sk_choose"], c["sk_target"]

    def state_of(folder: str, wanted_class: str = "") -> tuple:
        """Dropdown, class choice, counts and status for the sketch project ``folder``."""
        sketches = [p for p in st.store.projects() if p.kind.page == ROUTE]
        p = next((q for q in sketches if q.folder == folder), sketches[0] if sketches else None)
        if p is None:
            return (gr.Dropdown(choices=[], value=None), gr.Radio(choices=[], value=None), "", "",
                    "No sketch project yet: [create one](/) (New project, kind Sketches).")
        classes = p.classes()
        value = next((k.folder for k in classes if k.folder == wanted_class), classes[0].folder if classes else None)
        info = modelfile.info(p.model_dir) if modelfile.exists(p.model_dir) else None
        return (gr.Dropdown(choices=[(q.name, q.folder) for q in sketches], value=p.folder),
                gr.Radio(choices=[(k.label, k.folder) for k in classes], value=value), p.folder,
                counts_text(st, p.folder), summary(info))

    outs = [choose, target, project, c["sk_counts"], c["sk_status"]]

    @guard
    def on_load(remembered: str, request: gr.Request) -> tuple:
        q = request.query_params
        return state_of(q.get("project") or remembered, q.get("class", ""))

    demo.load(on_load, [remember], outs)

    @guard
    def on_choose(folder: str) -> tuple:
        return *state_of(folder), folder

    choose.input(on_choose, [choose], [*outs, remember])

    @guard
    def do_add(folder: str, cls: str, value: dict | None, previous: str):
        image = drawing(value)
        digest = hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
        if digest == previous:
            raise gr.Error("This drawing is already saved: clear the pad and draw a new one.", print_exception=False)
        p = st.project(folder)
        label = next((k.label for k in p.classes() if k.folder == cls), None)
        if label is None:
            raise gr.Error("Choose the class to add the drawing to.", print_exception=False)
        p.add_sample(label, image)
        return digest, counts_text(st, folder)

    # The pad is cleared by its own button: made an output, Gradio 6.31's editor stays "processing".
    added = c["sk_add"].click(do_add, [project, target, pad, last], [last, c["sk_counts"]])
    added.success(None, None, None, js=CLEAR_JS)

    @guard
    def do_predict(folder: str, value: dict | None):
        image = drawing(value)
        predictor = st.predictors.get(st.project(folder))
        if predictor is None:
            raise gr.Error("Train a model first.", print_exception=False)
        return ranked(predictor, image)

    c["sk_predict"].click(do_predict, [project, pad], [c["sk_label"]])

    @guard
    def do_train(folder: str, progress=gr.Progress()) -> str:
        return summary(run(st, folder, None, progress).info())

    busy = c["sk_train"].click(lambda: gr.Button(TRAINING, interactive=False), None, c["sk_train"], queue=False)
    done = busy.then(do_train, [project], [c["sk_status"]], concurrency_limit=2)
    for after in (done.then, done.failure):  # Gradio 6.31 skips .then after a failure
        after(lambda: gr.Button(TRAIN, interactive=True), None, c["sk_train"], queue=False)


def counts_text(st: Studio, folder: str) -> str:
    p = st.project_or_none(folder)
    if p is None:
        return ""
    return " · ".join(f"{esc(k.label)}: **{k.count}**" for k in p.classes())
