"""The layout: it only composes the sections, each of which builds and wires its own widgets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from studio.samples.store import Store

from . import (
    assets,
    camera,
    classes,
    colours,
    compare,
    export,
    hood,
    pose,
    project_bar,
    sketch,
    sound,
    static_files,
    train,
)
from .common import Page, Studio, needs_project

# Gradio's streaming webcam button says "Record"; here recording is the hold buttons' job.
I18N = gr.I18n(en={"audio.record": "Start", "audio.stop": "Stop"})


def build(store: Store, exports: Path) -> gr.Blocks:
    """The app: the studio page and, on their own routes, the sketch, sound and pose pages. The studio
    page is wired first: its handlers keep the plain API names (``on_load``, ``train``, ...)."""
    st = Studio(store, Path(exports))
    with gr.Blocks(title="studio", delete_cache=(3600, 86400)) as demo:
        gr.Navbar(main_page_name="Studio")
        page = Page.create(demo)
        bar = project_bar.render()
        with gr.Row(equal_height=False):
            with gr.Column(scale=5, min_width=380):
                webcam = camera.render_camera()
                cards = classes.render(st, page)
            with gr.Column(scale=3, min_width=260):
                training = train.render()
            with gr.Column(scale=4, min_width=320):
                preview = camera.render_preview()
                exporting = export.render()
        under = hood.render()
        comparing = compare.render()
        project_bar.listen(st, page, bar)
        classes.listen(st, page, cards)
        camera.listen(st, page, webcam, preview)
        train.listen(st, page, training)
        hood.listen(st, page, under)
        compare.listen(st, page, comparing, training.status, train.SEE_HOOD)
        export.listen(st, page, exporting)
        needs_project(page, [bar.rename, bar.delete, bar.save_file, cards.add, training.button, exporting.button])
    with demo.route("Sketch", sketch.ROUTE):
        page = Page.create(demo)
        sketch.listen(st, page, sketch.render())
    with demo.route("Sound", sound.ROUTE):
        page = Page.create(demo)
        sound.listen(st, page, sound.render(st, page))
    with demo.route("Pose", pose.ROUTE):
        page = Page.create(demo)
        pose.listen(st, page, pose.render(st, page))
    return demo


def launch_options() -> dict:
    """The page-wide options that Gradio 6 takes in ``launch()``."""
    return {"css": assets.CSS + colours.CARD_CSS, "js": assets.HOLD_JS, "i18n": I18N}


def guarded_app(wrap: Callable[[Any], Any]) -> Any:
    """Gradio's app with ``wrap`` (studio.server's WebGuard) outside all of its middleware, for
    ``launch(_app=...)``: middleware added the usual way would sit inside Gradio's CORS middleware.
    It also serves studio's browser files (``static_files``), behind the same guard and auth."""
    from gradio.routes import App, ORJSONResponse

    class GuardedApp(App):
        def build_middleware_stack(self) -> Any:
            return wrap(super().build_middleware_stack())

    app = GuardedApp(default_response_class=ORJSONResponse)
    static_files.mount(app)
    return app
