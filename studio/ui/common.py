"""What every section shares: the app context, error translation and project look-up."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from studio.errors import NotFound, StudioError
from studio.samples.store import ClassInfo, Project, Store

from .predictors import Predictors

log = logging.getLogger("studio.ui")
HOME = "/"  # the studio page's route: photo projects record here, other kinds on their own pages
# The browser remembers its last project (in localStorage), so a reload reopens it.
REMEMBER = {"storage_key": "studio-project", "secret": "studio-project"}


@dataclass
class Studio:
    """One app: the store, where exports go, the loaded models, and the components that
    sections share by name (so each section can wire events to the others' widgets)."""

    store: Store
    exports: Path
    predictors: Predictors = field(default_factory=Predictors)
    c: dict[str, Any] = field(default_factory=dict)

    def project(self, folder: str | None) -> Project:
        """The project in ``folder`` (a per-browser selection), re-read from disk."""
        if not folder:
            raise NotFound("Choose a project first, or create one with “New project”.")
        if not isinstance(folder, str) or Path(folder).name != folder or folder.startswith("."):
            raise NotFound(f"{folder!r} is not a project.")
        project = Project(self.store, folder)
        try:
            project.meta()
        except NotFound:
            raise NotFound("This project no longer exists (deleted in another window?); choose another.") from None
        return project

    def project_or_none(self, folder: str | None) -> Project | None:
        try:
            return self.project(folder)
        except StudioError:
            return None


def class_by_folder(project: Project, folder: str) -> ClassInfo:
    """A class found by its folder, which (unlike its label) never changes."""
    for c in project.classes():
        if c.folder == folder:
            return c
    raise NotFound("This class no longer exists (deleted in another window?).")


def guard(fn: Callable) -> Callable:
    """Show domain errors as a message in the page; log anything unexpected and show a short
    message instead of a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except StudioError as e:
            raise gr.Error(html.escape(str(e)), print_exception=False) from None
        except OSError as e:  # a full disk, a folder that cannot be written: the user's to fix
            where = f": {e.filename}" if e.filename else ""
            raise gr.Error(html.escape(f"{e.strerror or e}{where}"), print_exception=False) from None
        except Exception as e:
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({html.escape(type(e).__name__)}); the details are in "
                           "the server's log.", print_exception=False) from None

    return wrapper


def esc(text: object) -> str:
    """Text made safe for Markdown/HTML output (labels and names are user input)."""
    return html.escape(str(text))
