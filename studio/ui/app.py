"""The layout: it only composes the sections, each of which builds and wires its own widgets."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.samples.store import Store

from . import assets, camera, classes, export, hood, project_bar, sketch, sound, train
from .common import REMEMBER, Studio

# Gradio's streaming webcam button says "Record"; here recording is the hold buttons' job.
I18N = gr.I18n(en={"audio.record": "Start", "audio.stop": "Stop"})


def build(store: Store, exports: Path) -> gr.Blocks:
    """The app: the studio page and, on their own routes, the sketch and sound pages."""
    st = Studio(store, Path(exports))
    with gr.Blocks(title="studio", delete_cache=(3600, 86400)) as demo:
        gr.Navbar(main_page_name="Studio")
        st.c.update(demo=demo, project=gr.State(""), remember=gr.BrowserState("", **REMEMBER),
                    cards_version=gr.State(0), model_version=gr.State(""), cam=gr.State({}))
        project_bar.render(st)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=380):
                camera.render_camera(st)
                classes.render(st)
            with gr.Column(scale=3, min_width=260):
                train.render(st)
            with gr.Column(scale=4, min_width=320):
                camera.render_preview(st)
                export.render(st)
        hood.render(st)
        for section in (project_bar, classes, camera, train, hood, export):
            section.listen(st)
    with demo.route("Sketch", "/sketch"):
        sketch.render(st)
        sketch.listen(st, demo)
    with demo.route("Sound", "/sound"):
        sound.render(st)
        sound.listen(st, demo)
    return demo


def launch_options() -> dict:
    """The page-wide options that Gradio 6 takes in ``launch()``."""
    return {"css": assets.CSS, "js": assets.HOLD_JS, "i18n": I18N}
