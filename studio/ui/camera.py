"""The webcam: one stream per browser feeds recording (while a class's "Hold to record" button
is held, or one frame after its "Snapshot" click) and the live preview, so what is recorded is
exactly what is recognised.

The camera is mirrored as in Teachable Machine. Gradio's ``mirror`` flips the canvas the
frames are taken from, not only the preview, so the frames stored and predicted are the
mirror image the user sees. Unticking "Mirror" (per browser) un-flips both: the preview by CSS,
the frames on arrival, so what is stored is still what the user sees.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import numpy as np

from studio.errors import StudioError
from studio.samples import images
from studio.samples.store import Project

from .common import HOME, Studio, class_by_folder, esc, guard
from .predictors import ranked

STREAM_EVERY = 0.1  # s between frames: ~10 per second reach the model and the recorder
CONSTRAINTS = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}}
NO_MODEL = "Train a model to see live predictions"
SNAP = "snap:"  # #rec-target holds "snap:<class folder>:<click time>" after a Snapshot click


def render_camera(st: Studio) -> None:
    """The webcam, top left above the class cards (photo projects)."""
    with gr.Column(elem_id="capture") as capture:
        cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam", elem_id="camera",
                       webcam_options=gr.WebcamOptions(mirror=True, constraints=CONSTRAINTS), height=300)
        mirror = gr.Checkbox(True, label="Mirror", elem_id="mirror",
                             info="Show, record and predict the webcam as a mirror image (untick for a rear camera)")
        rec_status = gr.Markdown("Start the webcam, then press and hold a class's **Hold to record** button.",
                                 elem_id="rec-status")
        rec_target = gr.Textbox(elem_id="rec-target", elem_classes="offstage")  # set by HOLD_JS
    sketch_note = gr.Markdown(visible=False, elem_id="sketch-note")
    st.c.update(capture=capture, camera=cam, mirror=mirror, rec_status=rec_status, rec_target=rec_target,
                sketch_note=sketch_note)


def render_preview(st: Studio) -> None:
    """Live prediction with a confidence bar per class, and prediction of an image file."""
    with gr.Column(elem_id="preview"):
        gr.Markdown("### Preview")
        with gr.Column(elem_id="live") as live_box:
            live = gr.Label(label="Live prediction", elem_id="live-label")
            stats = gr.Markdown(elem_id="live-stats")
        with gr.Accordion("Try an image file", open=False, elem_id="try-file"):
            test_in = gr.Image(sources=["upload", "clipboard"], type="numpy", label="Image", elem_id="test-image",
                               height=200)
            test_out = gr.Label(label="Prediction", elem_id="test-label")
    st.c.update(live_box=live_box, live=live, stats=stats, test_in=test_in, test_out=test_out)


def predict(st: Studio, project: Project | None, image: np.ndarray) -> dict[str, float] | str:
    """{label: confidence} with the project's current model, or a message saying why not."""
    if project is None:
        return "Choose a project"
    try:
        predictor = st.predictors.get(project)
        return ranked(predictor, image) if predictor else NO_MODEL
    except StudioError as e:
        return str(e)


def listen(st: Studio) -> None:
    c = st.c
    project, version, state = c["project"], c["cards_version"], c["cam"]

    def on_frame(frame: np.ndarray | None, folder: str, target: str, v: int, mirror: bool, cam: dict):
        """Record the frame if a hold button is down, predict it, report frames per second."""
        if frame is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        if not mirror:  # Gradio sends the mirror image; the preview shows the camera's own view
            frame = np.ascontiguousarray(frame[:, ::-1])
        t0 = time.time()
        times = cam.setdefault("times", deque(maxlen=30))
        times.append(t0)
        p = st.project_or_none(folder)
        rec, bump = gr.skip(), gr.skip()
        photo = p is not None and p.kind.page == HOME
        if photo and target.startswith(SNAP) and target != cam.get("snap"):
            cam["snap"] = target  # one frame per click: the first one taken after it
            rec, bump = _snapshot(p, target.split(":")[1], frame), v + 1
        elif photo and target and not target.startswith(SNAP):
            rec = _record(p, target, frame, cam)
        if not target and cam.get("rec"):  # the button was released: show the new images on the card
            label, n = cam.pop("rec")
            rec, bump = f"Saved {n} image{'s' if n != 1 else ''} to **{esc(label)}**.", v + 1
        conf = predict(st, p, frame) if p is None or photo else f"This is a {p.kind} project"
        ms = (time.time() - t0) * 1000
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        if isinstance(conf, dict):
            label, stats = conf, f"The model sees {fps:.1f} frames/s · {ms:.0f} ms per frame"
        else:
            label, stats = None, f"{esc(conf)} · the webcam sends {fps:.1f} frames/s"
        shown = gr.skip() if label is None and cam.get("cleared") else label
        cam["cleared"] = label is None
        return shown, stats, rec, bump

    c["camera"].stream(on_frame, [c["camera"], project, c["rec_target"], version, c["mirror"], state],
                       [c["live"], c["stats"], c["rec_status"], version], stream_every=STREAM_EVERY,
                       concurrency_limit=None, show_progress="hidden")

    @guard
    def on_project(folder: str, cam: dict):
        p = st.project_or_none(folder)
        cam.pop("cleared", None)
        elsewhere = p is not None and p.kind.page != HOME  # sketch and sound projects have their own pages
        note = "" if not elsewhere else (
            f"This is a {p.kind} project: record its {p.kind.nouns}, train and try the model on the "
            f"[{p.kind} page]({p.kind.page}?project={quote(p.folder)}).")
        sketch = elsewhere
        return gr.Column(visible=not sketch), gr.Markdown(note, visible=sketch), gr.Column(visible=not sketch), None, ""

    project.change(on_project, [project, state],
                   [c["capture"], c["sketch_note"], c["live_box"], c["live"], c["stats"]])

    @guard
    def on_test(image: dict | None, folder: str):
        """The uploaded file, decoded by studio (its size limits, its messages) rather than by
        Gradio, which decodes images of up to 179 megapixels and reports a file that is not an
        image without saying why."""
        if not image:
            return None
        if not image.get("path"):
            raise gr.Error("This image could not be read; try saving it as a PNG or JPEG file.", print_exception=False)
        name = Path(image.get("orig_name") or image["path"]).name
        conf = predict(st, st.project(folder), np.asarray(images.load(Path(image["path"]), name)))
        if isinstance(conf, str):
            raise gr.Error(esc(conf), print_exception=False)
        return conf

    c["test_in"].upload(on_test, [c["test_in"], project], [c["test_out"]], preprocess=False)


def _snapshot(p: Project, target: str, frame: np.ndarray) -> str:
    try:
        label = class_by_folder(p, target).label
        p.add_sample(label, frame)
    except (StudioError, OSError) as e:  # e.g. the class was deleted, the disk is full
        return f"No snapshot: {esc(e)}"
    return f"Snapshot saved to **{esc(label)}**."


def _record(p: Project, target: str, frame: np.ndarray, cam: dict) -> str:
    """Store one held-button frame in the class whose folder is ``target``."""
    try:
        label = class_by_folder(p, target).label
        p.add_sample(label, frame)
    except (StudioError, OSError) as e:
        return f"Not recorded: {esc(e)}"
    n = cam["rec"][1] + 1 if cam.get("rec") and cam["rec"][0] == label else 1
    cam["rec"] = (label, n)
    return f"● Recording into **{esc(label)}**: {n} image{'s' if n != 1 else ''}"
