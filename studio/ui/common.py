"""What every section shares: the app, the page's shared state, error translation and project look-up."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
from gradio.components import Component

from studio.errors import DiskFull, NotFound, StudioError, disk_full
from studio.samples.store import Project, Store

from .predictors import Predictors

log = logging.getLogger("studio.ui")
HOME = "/"  # the studio page's route: photo projects record here, other kinds on their own pages
# The browser remembers its last project (in localStorage), so a reload reopens it.
REMEMBER = {"storage_key": "studio-project", "secret": "studio-project"}


@dataclass
class Studio:
    """One app: the store, where exports go, and the models loaded for every page."""

    store: Store
    exports: Path
    predictors: Predictors = field(default_factory=Predictors)

    def project(self, folder: str | None) -> Project:
        """The project in ``folder`` (a per-browser selection), re-read from disk."""
        if not folder:
            raise NotFound("Choose a project first, or create one with “New project”.")
        if not isinstance(folder, str) or Path(folder).name != folder or folder.startswith("."):
            raise NotFound(f"{folder!r} is not a project.")
        project = Project(self.store, folder)
        try:
            _ = project.kind  # read once: the project exists, and frames then ask its kind for free
        except NotFound:
            raise NotFound("This project no longer exists (deleted in another window?); choose another.") from None
        return project

    def project_or_none(self, folder: str | None) -> Project | None:
        try:
            return self.project(folder)
        except StudioError:
            return None


@dataclass(frozen=True)
class Page:
    """What the sections of one page share, so each can be wired on any page: the project chosen
    in this browser (and remembered by it), and what is bumped when the model or a class changes."""

    demo: gr.Blocks  # the app: its load event, registered inside a page, runs when that page loads
    project: gr.State  # the chosen project's folder
    remember: gr.BrowserState  # the same, kept by the browser for the next visit
    model_version: gr.State  # the id of the model trained last
    cards_version: gr.State  # bumped whenever the class cards must be redrawn

    @classmethod
    def create(cls, demo: gr.Blocks) -> Page:
        """A page's state; call it inside the page's layout."""
        return cls(demo, gr.State(""), gr.BrowserState("", **REMEMBER), gr.State(""), gr.State(0))


def needs_project(page: Page, buttons: list[gr.Button]) -> None:
    """``buttons`` act on the chosen project: disabled while there is none (a first visit, or
    after the last project was deleted), so that nothing looks clickable that cannot work."""
    def enabled(folder: str) -> list:
        return [gr.Button(interactive=bool(folder))] * len(buttons)

    gr.on([page.demo.load, page.project.change], enabled, [page.project], buttons, show_progress="hidden")


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
            text = DiskFull(e.filename or "this folder") if disk_full(e) else f"{e.strerror or e}{where}"
            raise gr.Error(html.escape(str(text)), print_exception=False) from None
        except Exception as e:
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({html.escape(type(e).__name__)}); the details are in "
                           "the server's log.", print_exception=False) from None

    return wrapper


def esc(text: object) -> str:
    """Text made safe for Markdown/HTML output (labels and names are user input)."""
    return html.escape(str(text))


def wire_loader(st: Studio, page: Page, route: str, choose: gr.Dropdown,
                opened: Callable[[Project | None, Mapping[str, str]], tuple], outputs: list[Component]) -> None:
    """The project dropdown of a page that records one kind of project (the sketch and sound
    pages): it lists the projects recorded on ``route``, opens the one named by ``?project=`` in
    the URL or else the one this browser remembers (else the first), and remembers a choice.
    ``opened(project, query)`` gives the values of the page's ``outputs`` for the project opened
    (None when there is none)."""

    def state_of(folder: str, query: Mapping[str, str]) -> tuple:
        ours = [p for p in st.store.projects() if p.kind.page == route]
        p = next((q for q in ours if q.folder == folder), ours[0] if ours else None)
        shown = gr.Dropdown(choices=[(q.name, q.folder) for q in ours], value=p.folder if p else None)
        return shown, p.folder if p else "", *opened(p, query)

    @guard
    def on_load(remembered: str, request: gr.Request) -> tuple:
        query = request.query_params
        return state_of(query.get("project") or remembered, query)

    page.demo.load(on_load, [page.remember], [choose, page.project, *outputs])

    @guard
    def on_choose(folder: str) -> tuple:
        return *state_of(folder, {}), folder

    choose.input(on_choose, [choose], [choose, page.project, *outputs, page.remember])
