"""Project bar: choose, create, rename and delete (after confirmation) a project."""

from __future__ import annotations

import gradio as gr

from studio.kinds import KINDS

from .common import HOME, Studio, esc, guard

KIND_CHOICES = [(k.title, k.name) for k in KINDS.values()]


def render(st: Studio) -> None:
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
    st.c.update(choose=choose, new=new, rename=rename, delete=delete, new_row=new_row, name=name, kind=kind,
                create=create, cancel_new=cancel_new, rename_row=rename_row, new_name=new_name, save=save,
                cancel_rename=cancel_rename, delete_row=delete_row, question=question, yes=yes, no=no)


def listen(st: Studio) -> None:
    c = st.c
    project, remember = c["project"], c["remember"]
    rows = [c["new_row"], c["rename_row"], c["delete_row"]]

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
        return *selected(folder), gr.Row(visible=not folder)

    c["demo"].load(on_load, [remember], [c["choose"], project, remember, c["new_row"]])
    c["choose"].input(lambda f: (f or "", f or ""), [c["choose"]], [project, remember])

    @guard
    def create(name: str, kind: str) -> tuple:
        p = st.store.create(name, kind)
        gr.Info(f"Created {esc(p.name)} with two classes: record or add images to each.")
        return show(-1, *selected(p.folder), "")

    for trigger in (c["create"].click, c["name"].submit):
        trigger(create, [c["name"], c["kind"]], [*rows, c["choose"], project, remember, c["name"]])
    c["new"].click(lambda: show(0), None, rows)

    @guard
    def ask_rename(folder: str) -> tuple:
        return show(1, st.project(folder).name)

    @guard
    def do_rename(folder: str, new_name: str) -> tuple:
        p = st.project(folder)
        st.store.rename(p.name, new_name)
        return show(-1, *selected(folder))

    c["rename"].click(ask_rename, [project], [*rows, c["new_name"]])
    for trigger in (c["save"].click, c["new_name"].submit):
        trigger(do_rename, [project, c["new_name"]], [*rows, c["choose"], project, remember])

    @guard
    def ask_delete(folder: str) -> tuple:
        p = st.project(folder)
        n = sum(p.counts().values())
        return show(2, f"Delete **{esc(p.name)}**, its {len(p.classes())} classes, {n} images and its model? "
                       "This cannot be undone.")

    @guard
    def do_delete(folder: str) -> tuple:
        p = st.project(folder)
        st.store.delete(p.name)
        gr.Info(f"Deleted {esc(p.name)}.")
        return show(-1, *selected(next((q.folder for q in st.store.projects()), "")))

    c["delete"].click(ask_delete, [project], [*rows, c["question"]])
    c["yes"].click(do_delete, [project], [*rows, c["choose"], project, remember])
    for cancel in (c["cancel_new"], c["cancel_rename"], c["no"]):
        cancel.click(lambda: show(-1), None, rows)
