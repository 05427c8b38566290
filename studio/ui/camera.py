"""The webcam: one stream per browser feeds recording (while a class's "Hold to record" button
is held, or one frame after its "Snapshot" click) and the live preview, so what is recorded is
exactly what is recognised. The recording itself is ``samples.webcam.Webcam``'s, one per browser.

The camera is mirrored as in Teachable Machine. Gradio's ``mirror`` flips the canvas the
frames are taken from, not only the preview, so the frames stored and predicted are the
mirror image the user sees. Unticking "Mirror" (per browser) un-flips both: the preview by CSS,
the frames on arrival, so what is stored is still what the user sees.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import numpy as np

from studio.errors import StudioError
from studio.kinds import Kind
from studio.samples import images
from studio.samples.store import Project
from studio.samples.webcam import Captured, Webcam

from .common import Page, Studio, esc, guard
from .predictors import ranked

STREAM_EVERY = 0.1  # s between frames: ~10 per second reach the model and the recorder
CONSTRAINTS = {"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}}
NO_MODEL = "Train a model to see live predictions"


@dataclass(frozen=True)
class Camera:
    """The webcam, its recording status and the hidden boxes HOLD_JS fills."""

    box: gr.Column  # hidden for projects recorded on another page
    image: gr.Image
    mirror: gr.Checkbox
    status: gr.Markdown
    hold: gr.Textbox  # the held class's folder, set by HOLD_JS
    snap: gr.Textbox  # the latest Snapshot click, set by HOLD_JS
    webcam: gr.State  # this browser's Webcam, made on its first frame
    note: gr.Markdown  # where a project recorded on another page is recorded


@dataclass(frozen=True)
class Preview:
    """The live prediction and "Try an image file"."""

    box: gr.Column
    live: gr.Label
    stats: gr.Markdown
    test_in: gr.Image
    test_out: gr.Label


def render_camera() -> Camera:
    """The webcam, top left above the class cards (photo projects)."""
    with gr.Column(elem_id="capture") as box:
        image = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam", elem_id="camera",
                         webcam_options=gr.WebcamOptions(mirror=True, constraints=CONSTRAINTS), height=300)
        mirror = gr.Checkbox(True, label="Mirror", elem_id="mirror",
                             info="Show, record and predict the webcam as a mirror image (untick for a rear camera)")
        status = gr.Markdown("Start the webcam, then press and hold a class's **Hold to record** button.",
                             elem_id="rec-status")
        hold = gr.Textbox(elem_id="rec-target", elem_classes="offstage")
        snap = gr.Textbox(elem_id="snap-target", elem_classes="offstage")
    note = gr.Markdown(visible=False, elem_id="sketch-note")
    return Camera(box, image, mirror, status, hold, snap, gr.State(None), note)


def render_preview() -> Preview:
    """Live prediction with a confidence bar per class, and prediction of an image file."""
    with gr.Column(elem_id="preview"):
        gr.Markdown("### Preview")
        with gr.Column(elem_id="live") as box:
            live = gr.Label(label="Live prediction", elem_id="live-label")
            stats = gr.Markdown(elem_id="live-stats")
        with gr.Accordion("Try an image file", open=False, elem_id="try-file"):
            test_in = gr.Image(sources=["upload", "clipboard"], type="numpy", label="Image", elem_id="test-image",
                               height=200)
            test_out = gr.Label(label="Prediction", elem_id="test-label")
    return Preview(box, live, stats, test_in, test_out)


def predict(st: Studio, project: Project | None, image: np.ndarray) -> dict[str, float] | str:
    """{label: confidence} with the project's current model, or a message saying why not."""
    if project is None:
        return "Choose a project"
    try:
        predictor = st.predictors.get(project)
        return ranked(predictor, image) if predictor else NO_MODEL
    except StudioError as e:
        return str(e)


def recording_status(shot: Captured, kind: Kind, snapshot: bool) -> str | None:
    """The line under the webcam after a frame that stored (or failed to store) something;
    ``snapshot``: whether a Snapshot click, not a held button, asked for it."""
    label = esc(shot.label)
    if shot.event == "recording":
        return f"● Recording into **{label}**: {kind.count(shot.count)}"
    if shot.event == "saved":
        return f"Saved {kind.count(shot.count)} to **{label}**."
    if shot.event == "snapshot":
        return f"Snapshot saved to **{label}**."
    if shot.event == "failed":
        return f"{'No snapshot' if snapshot else 'Not recorded'}: {esc(shot.error)}"
    return None


def listen(st: Studio, page: Page, camera: Camera, preview: Preview) -> None:
    project, version = page.project, page.cards_version

    def on_frame(frame: np.ndarray | None, folder: str, hold: str, snap: str, v: int, mirror: bool,
                 webcam: Webcam | None):
        """Record the frame if a hold button is down or Snapshot was clicked, predict it, report
        frames per second."""
        skip = gr.skip()
        if frame is None:
            return skip, skip, skip, skip, skip
        made = webcam is None
        if made:
            webcam = Webcam()
        t0 = time.time()
        p = st.project_or_none(folder)  # the frame's one read of project.json (two when it is stored)
        shot = webcam.frame(p, frame, mirror, hold, snap)
        # a failure with no button held was a Snapshot's (HOLD_JS takes no Snapshot while one is held)
        said = recording_status(shot, p.kind, snapshot=not hold) if p is not None else None
        if p is None or p.kind.camera:
            conf = predict(st, p, shot.frame)
        else:
            conf = f"This is a {p.kind} project"
        ms = (time.time() - t0) * 1000
        if isinstance(conf, dict):
            label, stats = conf, f"The model sees {webcam.fps:.1f} frames/s · {ms:.0f} ms per frame"
        else:
            label, stats = None, f"{esc(conf)} · the webcam sends {webcam.fps:.1f} frames/s"
        return (label, stats, skip if said is None else said, v + 1 if shot.stored else skip,
                webcam if made else skip)

    camera.image.stream(on_frame, [camera.image, project, camera.hold, camera.snap, version, camera.mirror,
                                   camera.webcam],
                        [preview.live, preview.stats, camera.status, version, camera.webcam],
                        stream_every=STREAM_EVERY, concurrency_limit=None, show_progress="hidden")

    @guard
    def on_project(folder: str):
        p = st.project_or_none(folder)
        elsewhere = p is not None and not p.kind.camera  # sketch and sound projects have their own pages
        note = "" if not elsewhere else (
            f"This is a {p.kind} project: record its {p.kind.nouns}, train and try the model on the "
            f"[{p.kind} page]({p.kind.page}?project={quote(p.folder)}).")
        return gr.Column(visible=not elsewhere), gr.Markdown(note, visible=elsewhere), \
            gr.Column(visible=not elsewhere), None, ""

    project.change(on_project, [project], [camera.box, camera.note, preview.box, preview.live, preview.stats])

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

    preview.test_in.upload(on_test, [preview.test_in, project], [preview.test_out], preprocess=False)
