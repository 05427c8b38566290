"""Project bar: choose, create, rename and delete (after confirmation) a project; open a project
file (a Teachable Machine .tm, or a zip of class folders) as a new project, and save one to a file."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from studio.errors import StudioError
from studio.kinds import KINDS
from studio.samples import transfer
from studio.samples.names import MAX_NAME, folder_for
from studio.samples.store import Store

from . import thumbs
from .common import HOME, Page, Studio, esc, guard

KIND_CHOICES = [(k.title, k.name) for k in KINDS.values()]
OPEN_TYPES = [".tm", ".zip"]
UNSAFE_IN_FILE_NAME = '/\\:*?"<>|'


def free_name(store: Store, file_name: str) -> str:
    """A project name for an opened file: its name without the suffix, with " (2)", " (3)", ...
    added when a project of that name (compared case-insensitively) exists."""
    base = " ".join(Path(file_name).stem.lstrip(".").split())[:MAX_NAME].strip() or "Opened project"
    taken = {n.casefold() for n in store.names()}
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        suffix = f" ({n})"
        name = base[: MAX_NAME - len(suffix)].rstrip() + suffix
    return name


def file_name(project_name: str, suffix: str) -> str:
    """The saved file's name: the project's name where it makes a safe file name (so opening
    the file again gives the same name), else its folder-safe form."""
    safe = (project_name.isprintable() and not project_name.startswith(".")
            and not any(c in project_name for c in UNSAFE_IN_FILE_NAME))
    return (project_name if safe else folder_for(project_name)) + suffix


@dataclass(frozen=True)
class ProjectBar:
    """The project choice and its buttons, and the rows (new, rename, delete) they open, one at a time."""

    choose: gr.Dropdown
    new: gr.Button
    rename: gr.Button
    delete: gr.Button
    open: gr.UploadButton
    save_file: gr.Button
    new_row: gr.Row
    name: gr.Textbox
    kind: gr.Radio
    create: gr.Button
    cancel_new: gr.Button
    rename_row: gr.Row
    new_name: gr.Textbox
    save: gr.Button
    cancel_rename: gr.Button
    delete_row: gr.Row
    question: gr.Markdown
    yes: gr.Button
    no: gr.Button
    file_row: gr.Row
    file: gr.File
    close_file: gr.Button


def render() -> ProjectBar:
    with gr.Row(elem_id="project-bar", equal_height=True):
        choose = gr.Dropdown(label="Project", choices=[], value=None, scale=4, elem_id="project-choice")
        new = gr.Button("New project", scale=0, min_width=160, elem_id="new-project")
        rename = gr.Button("Rename", scale=0, min_width=100, elem_id="rename-project")
        delete = gr.Button("Delete", scale=0, min_width=100, elem_id="delete-project")
        open_ = gr.UploadButton("Open file", scale=0, min_width=130, file_count="single",
                                file_types=OPEN_TYPES, elem_id="open-project-file")
        save_file = gr.Button("Save file", scale=0, min_width=130, elem_id="save-project-file")
    with gr.Row(visible=False, elem_id="new-row", equal_height=True) as new_row:
        name = gr.Textbox(label="New project name", placeholder="e.g. Rock paper scissors", scale=3,
                          max_length=64, elem_id="new-name")
        kind = gr.Radio(KIND_CHOICES, value=KIND_CHOICES[0][1], label="Kind", scale=3, elem_id="new-kind")
        create = gr.Button("Create", variant="primary", scale=1, elem_id="create-project")
        cancel_new = gr.Button("Cancel", scale=1)
    with gr.Row(visible=False, elem_id="rename-row", equal_height=True) as rename_row:
        new_name = gr.Textbox(label="New name", scale=3, max_length=64, elem_id="rename-name")
        save = gr.Button("Save", variant="primary", scale=1, elem_id="rename-save")
        cancel_rename = gr.Button("Cancel", scale=1)
    with gr.Row(visible=False, elem_id="delete-row", equal_height=True) as delete_row:
        question = gr.Markdown(elem_id="delete-question")
        yes = gr.Button("Delete for good", variant="stop", scale=1, elem_id="delete-confirm")
        no = gr.Button("Keep it", scale=1, elem_id="delete-cancel")
    with gr.Row(visible=False, elem_id="file-row", equal_height=True) as file_row:
        file = gr.File(label="Project file (click its name to download)", interactive=False, scale=4,
                       elem_id="project-file")
        close_file = gr.Button("Close", scale=0, min_width=100, elem_id="close-project-file")
    return ProjectBar(choose, new, rename, delete, open_, save_file, new_row, name, kind, create, cancel_new,
                      rename_row, new_name, save, cancel_rename, delete_row, question, yes, no, file_row, file,
                      close_file)


def listen(st: Studio, page: Page, bar: ProjectBar) -> None:
    project, remember = page.project, page.remember
    rows = [bar.new_row, bar.rename_row, bar.delete_row]  # the forms, one open at a time
    chosen = [bar.choose, project, remember]

    def choices() -> list[tuple[str, str]]:
        return [(p.name + (f" ({p.kind})" if p.kind.page != HOME else ""), p.folder) for p in st.store.projects()]

    def selected(folder: str) -> tuple:
        """Dropdown, selection and the browser's memory of it, all pointing at ``folder``."""
        return gr.Dropdown(choices=choices(), value=folder or None), folder, folder

    def show(row: int, *updates) -> tuple:
        return (*[gr.Row(visible=i == row) for i in range(len(rows))], *updates)

    @guard
    def on_load(remembered: str) -> tuple:
        folder = remembered if st.project_or_none(remembered) else ""
        if not folder:
            folder = next((p.folder for p in st.store.projects()), "")
        # with no project, the new-project form shows; never hide it: the user may have opened it
        return *selected(folder), gr.Row(visible=True) if not folder else gr.skip()

    page.demo.load(on_load, [remember], [*chosen, bar.new_row])
    bar.choose.input(lambda f: (f or "", f or ""), [bar.choose], [project, remember])

    @guard
    def create(name: str, kind: str) -> tuple:
        p = st.store.create(name, kind)  # its cards show at once: no notice over the buttons
        return show(-1, *selected(p.folder), "")

    for trigger in (bar.create.click, bar.name.submit):
        trigger(create, [bar.name, bar.kind], [*rows, *chosen, bar.name])
    bar.new.click(lambda: show(0), None, rows)

    @guard
    def ask_rename(folder: str) -> tuple:
        return show(1, st.project(folder).name)

    @guard
    def do_rename(folder: str, new_name: str) -> tuple:
        p = st.project(folder)
        st.store.rename(p.name, new_name)
        return show(-1, *selected(folder))

    bar.rename.click(ask_rename, [project], [*rows, bar.new_name])
    for trigger in (bar.save.click, bar.new_name.submit):
        trigger(do_rename, [project, bar.new_name], [*rows, *chosen])

    @guard
    def ask_delete(folder: str) -> tuple:
        p = st.project(folder)
        n = sum(p.counts().values())
        return show(2, f"Delete **{esc(p.name)}**, its {len(p.classes())} classes, {p.kind.count(n)} and its "
                       "model? This cannot be undone.")

    @guard
    def do_delete(folder: str) -> tuple:
        p = st.project(folder)
        st.store.delete(p.name)
        gr.Info(f"Deleted {esc(p.name)}.")
        return show(-1, *selected(next((q.folder for q in st.store.projects()), "")))

    bar.delete.click(ask_delete, [project], [*rows, bar.question])
    bar.yes.click(do_delete, [project], [*rows, *chosen])
    for cancel in (bar.cancel_new, bar.cancel_rename, bar.no):
        cancel.click(lambda: show(-1), None, rows)

    @guard
    def do_open(path: str | None) -> tuple:
        if not path:
            raise StudioError("No file arrived; choose a .tm or .zip file again.")
        name = free_name(st.store, Path(path).name)  # Gradio keeps the uploaded file's name
        try:
            report = transfer.import_into(st.store, name, path)
        except (StudioError, OSError):
            _drop_if_empty(st.store, name)  # a file with nothing to import leaves no empty project behind
            raise
        p = st.store.project(name)
        text = f"Opened {Path(path).name} as project “{p.name}”. {report.summary()}"
        (gr.Warning if report.skipped else gr.Info)(esc(text))  # the summary names the skipped files
        return show(-1, *selected(p.folder))

    bar.open.upload(do_open, [bar.open], [*rows, *chosen])

    @guard
    def do_save(folder: str) -> tuple:
        p = st.project(folder)
        suffix = ".tm" if p.kind.teachable_file else ".zip"
        dest = Path(tempfile.mkdtemp(dir=thumbs.pruned(thumbs.scratch("projects")))) / file_name(p.name, suffix)
        saved = transfer.save_tm(p, dest) if p.kind.teachable_file else transfer.save_zip(p, dest)
        return gr.Row(visible=True), str(saved)

    bar.save_file.click(do_save, [project], [bar.file_row, bar.file])
    # the file shown belongs to the project it was saved from: it goes when another is chosen
    for hide in (bar.close_file.click, project.change):
        hide(lambda: gr.Row(visible=False), None, [bar.file_row], show_progress="hidden")


def _drop_if_empty(store: Store, name: str) -> None:
    """Delete the project ``name`` if a failed import created it and left it without samples."""
    try:
        p = store.project(name)
        if not sum(p.counts().values()):
            store.delete(p.name)
    except StudioError:
        pass
