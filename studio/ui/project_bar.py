"""Project bar: choose, create, rename and delete (after confirmation) a project."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.kinds import KINDS

from .common import HOME, Page, Studio, esc, guard

KIND_CHOICES = [(k.title, k.name) for k in KINDS.values()]


@dataclass(frozen=True)
class ProjectBar:
    """The project choice and its buttons, and the rows (new, rename, delete) they open, one at a time."""

    choose: gr.Dropdown
    new: gr.Button
    rename: gr.Button
    delete: gr.Button
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


def render() -> ProjectBar:
    with gr.Row(elem_id="project-bar", equal_height=True):
        choose = gr.Dropdown(label="Project", choices=[], value=None, scale=4, elem_id="project-choice")
        new = gr.Button("New project", scale=0, min_width=160, elem_id="new-project")
        rename = gr.Button("Rename", scale=0, min_width=100, elem_id="rename-project")
        delete = gr.Button("Delete", scale=0, min_width=100, elem_id="delete-project")
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
    return ProjectBar(choose, new, rename, delete, new_row, name, kind, create, cancel_new, rename_row, new_name,
                      save, cancel_rename, delete_row, question, yes, no)


def listen(st: Studio, page: Page, bar: ProjectBar) -> None:
    project, remember = page.project, page.remember
    rows = [bar.new_row, bar.rename_row, bar.delete_row]
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
