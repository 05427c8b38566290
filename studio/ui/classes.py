"""Class cards: one per class with its name, image count, on/off switch, capture buttons,
thumbnails (newest first, any one removable), a zip download and delete-with-confirmation.

The cards are drawn by ``gr.render`` from the disk each time ``cards_version`` changes, so
every action that adds or removes images bumps that number.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import gradio as gr

from studio.errors import StudioError
from studio.samples import transfer
from studio.samples.names import folder_for
from studio.samples.store import ClassInfo, Project, Sample

from . import colours, thumbs
from .common import Page, Studio, esc, guard

MAX_THUMBS = 60
UPLOAD_TYPES = ["image", ".zip"]


@dataclass(frozen=True)
class Classes:
    """The class cards' own widgets: the cards themselves are drawn, and wired, by ``gr.render``."""

    add: gr.Button


def render(st: Studio, page: Page) -> Classes:
    with gr.Column(elem_id="classes"):
        @gr.render(inputs=[page.project, page.cards_version])
        def cards(folder: str, _version: int) -> None:
            p = st.project_or_none(folder)
            if p is None:
                gr.Markdown("Choose or create a project to start.", elem_id="no-project")
                return
            if not p.kind.teachable_file:  # its samples are listed, played and recorded on its own page
                gr.Markdown(f"Classes: {esc(', '.join(f'{k.label} ({k.count})' for k in p.classes()))}. "
                            f"[Open the {p.kind} page]({p.kind.page}?project={quote(p.folder)}) to record, upload "
                            f"and play {p.kind.nouns}.", elem_id="sound-classes")
                return
            colours.render_bar_rules(p)
            for i, info in enumerate(p.classes()):
                _card(st, page, p, i, info)

        add = gr.Button("+ Add a class", elem_id="add-class")
    return Classes(add)


def listen(st: Studio, page: Page, classes: Classes) -> None:
    wire_add_class(st, page, classes.add)


def wire_add_class(st: Studio, page: Page, button: gr.Button) -> None:
    """"+ Add a class" (image and sound cards): "Class N" with the next free N, then redraw the cards."""
    @guard
    def add_class(folder: str, v: int) -> int:
        st.project(folder).add_next_class()
        return v + 1

    button.click(add_class, [page.project, page.cards_version], [page.cards_version])


def _card(st: Studio, page: Page, p: Project, i: int, info: ClassInfo) -> None:
    """One class card; its events name the class by folder, which renaming never changes."""
    project, version = page.project, page.cards_version
    folder = info.folder
    samples = p.samples(info.label)
    shown, note = tiles(p, info, samples[:MAX_THUMBS])
    with gr.Column(elem_id=f"card-{i}", elem_classes=colours.card_classes(i), variant="panel"):
        with gr.Row(equal_height=True):
            name = gr.Textbox(info.label, show_label=False, container=False, max_length=64, scale=3, interactive=True,
                              elem_id=f"name-{i}", elem_classes="class-name")
            noun = p.kind.noun if info.count == 1 else p.kind.nouns
            gr.Markdown(f"**{info.count}** {noun}", elem_id=f"count-{i}", elem_classes="class-count")
            enabled = use_checkbox(info, f"enabled-{i}")
        with gr.Row():
            if p.kind.camera:
                gr.Button("● Hold to record", size="sm", min_width=0, scale=2, elem_id=f"hold-{i}",
                          elem_classes=["hold-btn", f"cls-{folder}"])
                gr.Button("Snapshot", size="sm", min_width=0, elem_id=f"snap-{i}",
                          elem_classes=["snap-btn", f"cls-{folder}"])
            else:
                draw = gr.Button("✎ Draw", size="sm", min_width=0, scale=2, elem_id=f"draw-{i}")
                # Not link=: Gradio 6.31 keeps a button's link when a re-render puts another
                # button (e.g. another project's Hold to record) in its place.
                url = json.dumps(f"{p.kind.page}?{urlencode({'project': p.folder, 'class': folder})}")
                draw.click(None, None, None, js=f"() => {{ window.location.href = {url}; }}")
            upload = gr.UploadButton("Upload", size="sm", min_width=0, file_count="multiple",
                                     file_types=UPLOAD_TYPES, elem_id=f"upload-{i}")
        gallery = gr.Gallery(shown, show_label=False,
                             columns=8, fit_columns=False, height=128, object_fit="cover",
                             allow_preview=False, visible=bool(samples),
                             elem_id=f"gallery-{i}", elem_classes="thumbs")
        if note:
            gr.Markdown(note, elem_id=f"unreadable-{i}", elem_classes="small")
        if len(samples) > MAX_THUMBS:
            gr.Markdown(f"The newest {MAX_THUMBS} of {p.kind.count(len(samples))} are shown.", elem_classes="small")
        with gr.Row():
            remove = gr.Button("Remove selected", size="sm", min_width=0, interactive=False, elem_id=f"remove-{i}")
            buttons = action_buttons(p, info, i)
        actions = confirm_and_zip(p, info, i, buttons)

    def label_now(f: str) -> tuple[Project, str]:
        q = st.project(f)
        return q, q.class_in(folder, count=False).label

    wire_rename(st, page, name, folder)
    wire_enable(st, page, enabled, folder)
    wire_actions(st, page, actions, folder)

    @guard
    def do_upload(f: str, files: list[str] | None, v: int) -> int:
        q, label = label_now(f)
        report = transfer.add_files(q, label, [Path(x) for x in files or []])
        if report.skipped:
            gr.Warning(esc(report.summary()))  # it names the skipped files
        else:
            gr.Info(esc(report.summary()))
        return v + 1

    upload.upload(do_upload, [project, upload, version], [version])

    wire_remove(st, page, gallery, remove, folder)


def wire_remove(st: Studio, page: Page, gallery: gr.Gallery, remove: gr.Button, folder: str) -> None:
    """A click on a thumbnail chooses its sample; "Remove selected" deletes it from the class in
    ``folder`` (image and pose cards)."""
    chosen = gr.State("")

    def do_select(evt: gr.SelectData):
        image = evt.value.get("image", {}) if isinstance(evt.value, dict) else {}
        name = thumbs.sample_name(image.get("orig_name") or image.get("path") or "")
        return name, gr.Button(interactive=bool(name))

    gallery.select(do_select, None, [chosen, remove])

    @guard
    def do_remove(f: str, sample: str, v: int) -> int:
        q = st.project(f)
        q.delete_sample(q.class_in(folder, count=False).label, sample)
        return v + 1

    remove.click(do_remove, [page.project, chosen, page.cards_version], [page.cards_version])


def tiles(p: Project, info: ClassInfo, samples: list[Sample], skeleton: bool = False) -> tuple[list[str], str]:
    """The thumbnails of ``samples`` (with ``skeleton``, poses drawn on their frames; a crossed-out
    tile for each that cannot be read) and a note naming every file of the class that could not be
    read, or "" if there is none."""
    shown, bad = [], []
    for s in samples:
        path, why = thumbs.tile(s.path, skeleton)
        shown.append(path)
        if why:
            bad.append(why)
    return shown, unreadable_note(p, info, bad)


def unreadable_note(p: Project, info: ClassInfo, bad: list[str],
                    remove: str = "a crossed-out thumbnail can be selected and removed") -> str:
    """What the card says about files of class ``info`` that studio cannot read: ``bad`` (why each
    sample that failed to decode failed) and the class folder's links and other non-files;
    ``remove`` says how the card removes a sample that fails to decode."""
    bad = bad + [f"{s.name} is {s.reason}" for s in p.strays(info.label)]
    if not bad:
        return ""
    return (f"**Could not read {len(bad)} file{'s' if len(bad) != 1 else ''}** in `{esc(p.path / info.folder)}`: "
            + "; ".join(esc(b) for b in bad[:10]) + (" ..." if len(bad) > 10 else "")
            + f". Training leaves {'it' if len(bad) == 1 else 'them'} out: delete or replace "
            f"{'it' if len(bad) == 1 else 'them'} ({remove}).")


# ---- what image and sound cards share: the Use switch, Download, Delete class ------------------

@dataclass(frozen=True)
class CardActions:
    """A card's Download and Delete class buttons, the delete confirmation and the zip's download."""

    download: gr.Button
    delete: gr.Button
    confirm: gr.Row
    yes: gr.Button
    no: gr.Button
    zipped: gr.File


def use_checkbox(info: ClassInfo, elem_id: str) -> gr.Checkbox:
    """The card's "Use" switch (in its first row): unticked, training leaves the class out, and the
    page's CSS (``assets.CSS``, ``.use-class``) dims the rest of the card."""
    return gr.Checkbox(info.enabled, label="Use", container=False, scale=0, min_width=70, interactive=True,
                       elem_id=elem_id, elem_classes="use-class")


def action_buttons(p: Project, info: ClassInfo, i: int, prefix: str = "") -> tuple[gr.Button, gr.Button]:
    """"Download <nouns>" (a zip of the class; disabled while it is empty) and "Delete class", in the
    caller's row; ``prefix`` tells one page's element ids from another's."""
    download = gr.Button(f"Download {p.kind.nouns}", size="sm", min_width=0, interactive=info.count > 0,
                         elem_id=f"{prefix}download-{i}")
    delete = gr.Button("Delete class", size="sm", min_width=0, elem_id=f"{prefix}delete-{i}")
    return download, delete


def confirm_and_zip(p: Project, info: ClassInfo, i: int, buttons: tuple[gr.Button, gr.Button],
                    prefix: str = "") -> CardActions:
    """The hidden "Delete this class?" row and the zip's download, below ``action_buttons``."""
    with gr.Row(visible=False, elem_id=f"{prefix}confirm-{i}") as confirm:
        gr.Markdown(f"Delete this class and its {p.kind.count(info.count)}?")
        yes = gr.Button("Delete for good", size="sm", min_width=0, variant="stop", elem_id=f"{prefix}delete-yes-{i}")
        no = gr.Button("Keep it", size="sm", min_width=0, elem_id=f"{prefix}delete-no-{i}")
    zipped = gr.File(visible=False, show_label=False, elem_id=f"{prefix}zip-{i}")
    return CardActions(*buttons, confirm, yes, no, zipped)


def wire_enable(st: Studio, page: Page, enabled: gr.Checkbox, folder: str) -> None:
    """The Use switch stores whether training uses the class in ``folder``."""
    @guard
    def do_enable(f: str, on: bool) -> None:
        q = st.project(f)
        q.set_enabled(q.class_in(folder, count=False).label, on)

    enabled.input(do_enable, [page.project, enabled], None)


def wire_actions(st: Studio, page: Page, actions: CardActions, folder: str) -> None:
    """Download zips the class in ``folder``; Delete class asks, then deletes it and redraws the cards."""
    def label_now(f: str) -> tuple[Project, str]:
        q = st.project(f)
        return q, q.class_in(folder, count=False).label

    @guard
    def do_download(f: str):
        q, label = label_now(f)
        zips = thumbs.pruned(thumbs.scratch("zips"))
        dest = Path(tempfile.mkdtemp(dir=zips)) / f"{folder_for(q.name)}-{folder_for(label)}.zip"
        return gr.File(str(transfer.save_zip(q, dest, [label])), visible=True)

    actions.download.click(do_download, [page.project], [actions.zipped])
    actions.delete.click(lambda: gr.Row(visible=True), None, [actions.confirm])
    actions.no.click(lambda: gr.Row(visible=False), None, [actions.confirm])

    @guard
    def do_delete(f: str, v: int) -> int:
        q, label = label_now(f)
        q.delete_class(label)
        return v + 1

    actions.yes.click(do_delete, [page.project, page.cards_version], [page.cards_version])


def wire_rename(st: Studio, page: Page, name: gr.Textbox, folder: str) -> None:
    """Rename the class in ``folder`` when its name box is submitted or left (image and sound cards)."""
    @guard
    def do_rename(f: str, new: str, v: int):
        q = st.project(f)
        old = q.class_in(folder, count=False).label
        if new.strip() == old:
            return gr.skip()
        try:
            q.rename_class(old, new)
        except StudioError as e:
            if q.class_in(folder, count=False).label == new.strip():
                return gr.skip()  # Enter and leaving the box both asked for it; one did it
            gr.Warning(f"{esc(e)} The class keeps the name {esc(old)}.")
            return v + 1  # redraw the card with its old name
        return gr.skip()  # the box shows the new name already; redrawing could eat typing elsewhere

    for trigger in (name.submit, name.blur):
        trigger(do_rename, [page.project, name, page.cards_version], [page.cards_version])
