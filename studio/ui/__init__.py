"""The web app, in Gradio: the only package of studio that imports gradio."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .app import build, guarded_app, launch_options  # noqa: E402

__all__ = ["build", "guarded_app", "launch_options"]
