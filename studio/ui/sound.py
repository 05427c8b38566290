"""The sound page (its own route, like the sketch page): one streaming microphone feeds both
hold-to-record (consecutive 1 s clips into the class whose button is held) and live prediction
over a sliding window; class cards with a spectrogram, upload (long files are split), each clip
playable and deletable, and the image cards' Use switch, Download and Delete class (shared with
``classes``); training; the "Under the hood" and export sections of the studio page.

Hold-to-record uses the studio page's HOLD_JS unchanged: while a ``.hold-btn`` is held, the
hidden ``#rec-target`` textbox holds the class's folder, and the stream sends it with each chunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from studio.errors import StudioError
from studio.samples import sounds, transfer
from studio.samples.store import ClassInfo, Project

from . import colours, compare, export, hood, train
from .classes import (
    action_buttons,
    confirm_and_zip,
    unreadable_note,
    use_checkbox,
    wire_actions,
    wire_add_class,
    wire_enable,
    wire_rename,
)
from .common import Page, Studio, esc, guard, wire_loader

ROUTE = "/sound"
STREAM_EVERY = 0.25  # s of audio per chunk: the live bars update 4 times per second
MAX_CLIPS = 200  # clips listed per card (newest first)
UPLOAD_TYPES = sorted(sounds.SOUND_SUFFIXES)
NO_MODEL = "Train a model to hear live predictions."
READY = "Press **Start** on the microphone to hear live predictions."  # once the project has a model
LISTENING = "listening..."
START = "Press **Start** on the microphone, then press and hold a class's **Hold to record** button."


@dataclass(frozen=True)
class SoundPage:
    """The sound page's widgets, with the export and hood sections it shares with the studio page."""

    choose: gr.Dropdown
    mic: gr.Audio
    rec_status: gr.Markdown
    hold: gr.Textbox  # the held class's folder, set by HOLD_JS
    add_class: gr.Button
    train: gr.Button
    train_status: gr.Markdown
    threshold: gr.Slider
    heard: gr.Markdown
    live: gr.Label
    export: export.ExportPanel
    hood: hood.Hood
    compare: compare.ComparePanel
    memory: gr.State  # this browser's microphone stream: the class held, its recorder, the listener


def render(st: Studio, page: Page) -> SoundPage:
    gr.Navbar(main_page_name="Studio")
    gr.Markdown("## Sound\nRecord or upload 1 s clips for each class, train, then listen live. "
                "[Back to the studio](/) to create a sound project (kind *Sounds*).")
    choose = gr.Dropdown(label="Sound project", choices=[], elem_id="sound-project")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=380):
            mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone",
                           elem_id="microphone")
            rec_status = gr.Markdown(START, elem_id="sound-rec-status")
            hold = gr.Textbox(elem_id="rec-target", elem_classes="offstage")

            @gr.render(inputs=[page.project, page.cards_version])
            def cards(folder: str, _version: int) -> None:
                p = _sound_project(st, folder)
                if p is None:
                    gr.Markdown("Choose or create a sound project to start.", elem_id="sound-no-project")
                    return
                colours.render_bar_rules(p)
                for i, info in enumerate(p.classes()):
                    _card(st, page, p, i, info)

            add_class = gr.Button("+ Add a class", elem_id="sound-add-class")
        with gr.Column(scale=4, min_width=320):
            gr.Markdown("### Training")
            button = gr.Button(train.TRAIN, variant="primary", elem_id="sound-train")
            train_status = gr.Markdown(elem_id="sound-train-status", min_height=48)
            gr.Markdown("### Live")
            threshold = gr.Slider(0.0, 1.0, value=0.75, step=0.05, label="Confidence threshold",
                                  info="Below it the page says “listening...” rather than a class.",
                                  elem_id="sound-threshold")
            heard = gr.Markdown(NO_MODEL, elem_id="sound-heard")
            live = gr.Label(label="Live prediction", elem_id="sound-live")
            exporting = export.render()
    under = hood.render()
    comparing = compare.render()
    return SoundPage(choose, mic, rec_status, hold, add_class, button, train_status, threshold, heard, live,
                     exporting, under, comparing, gr.State({}))


def _sound_project(st: Studio, folder: str | None) -> Project | None:
    p = st.project_or_none(folder)
    return p if p is not None and p.kind.page == ROUTE else None


def _card(st: Studio, page: Page, p: Project, i: int, info: ClassInfo) -> None:
    """One class card; its events name the class by folder, which renaming never changes."""
    project, version = page.project, page.cards_version
    folder = info.folder
    samples = p.samples(info.label)[:MAX_CLIPS]
    with gr.Column(elem_id=f"snd-card-{i}", elem_classes=colours.card_classes(i), variant="panel"):
        with gr.Row(equal_height=True):
            name = gr.Textbox(info.label, show_label=False, container=False, max_length=64, scale=3,
                              interactive=True, elem_id=f"snd-name-{i}")
            gr.Markdown(f"**{info.count}** {p.kind.noun if info.count == 1 else p.kind.nouns}",
                        elem_id=f"snd-count-{i}", elem_classes="class-count")
            enabled = use_checkbox(info, f"snd-enabled-{i}")
        picture, why = _picture(samples[0].path) if samples else (None, "")
        if picture is not None:
            gr.Image(picture, show_label=False, interactive=False, height=64, container=False,
                     buttons=[], elem_id=f"snd-picture-{i}")
        note = unreadable_note(p, info, [why] if why else [], "choose a clip in the list, then Delete clip")
        if note:
            gr.Markdown(note, elem_id=f"snd-unreadable-{i}", elem_classes="small")
        with gr.Row():
            gr.Button("● Hold to record", size="sm", min_width=0, scale=2, elem_id=f"snd-hold-{i}",
                      elem_classes=["hold-btn", f"cls-{folder}"])
            upload = gr.UploadButton("Upload sounds", size="sm", min_width=0, file_count="multiple",
                                     file_types=UPLOAD_TYPES, elem_id=f"snd-upload-{i}")
        if samples:
            with gr.Row(equal_height=True):
                clips = gr.Dropdown([(f"{n + 1}. {s.name}", s.name) for n, s in enumerate(samples)],
                                    value=samples[0].name, label="Clips (newest first)", scale=3, interactive=True,
                                    elem_id=f"snd-clips-{i}")
                delete = gr.Button("Delete clip", size="sm", min_width=0, scale=1, elem_id=f"snd-delete-{i}")
            player = gr.Audio(str(samples[0].path), type="filepath", interactive=False, show_label=False,
                              elem_id=f"snd-player-{i}")
            _clip_events(st, page, folder, clips, delete, player)
        with gr.Row():
            buttons = action_buttons(p, info, i, "snd-class-")
        actions = confirm_and_zip(p, info, i, buttons, "snd-class-")
    wire_rename(st, page, name, folder)
    wire_enable(st, page, enabled, folder)
    wire_actions(st, page, actions, folder)

    @guard
    def on_upload(f: str, files: list[str] | None, v: int) -> int:
        """Sound files (a long one is split into clips, as the core splits it for the class)."""
        q = st.project(f)
        label = q.class_in(folder, count=False).label
        report = transfer.add_files(q, label, [Path(x) for x in files or []])
        text = f"Added {q.kind.count(sum(report.added.values()))} to {label}."
        if report.skipped:
            why = "; ".join(reason for _, reason in report.skipped[:5])
            gr.Warning(esc(f"{text} Skipped {len(report.skipped)}: {why}"))
        else:
            gr.Info(esc(text))
        return v + 1

    upload.upload(on_upload, [project, upload, version], [version])


def _clip_events(st: Studio, page: Page, folder: str, clips: gr.Dropdown, delete: gr.Button,
                 player: gr.Audio) -> None:
    """Choosing a clip plays it; "Delete clip" deletes the chosen one."""
    @guard
    def on_clip(f: str, name: str):
        q = st.project(f)
        return str(q.sample_path(q.class_in(folder, count=False).label, name)) if name else None

    clips.input(on_clip, [page.project, clips], [player])

    @guard
    def on_delete(f: str, name: str, v: int) -> int:
        q = st.project(f)
        q.delete_sample(q.class_in(folder, count=False).label, name)
        return v + 1

    delete.click(on_delete, [page.project, clips, page.cards_version], [page.cards_version])


def _picture(path: Path) -> tuple[object, str]:
    """The newest clip's spectrogram and "", or None and why the clip cannot be read."""
    try:
        return sounds.spectrogram_image(sounds.load(path), 320, 64), ""
    except StudioError as e:
        return None, str(e)


def _store(p: Project | None, folder: str, clips: list[sounds.Clip]) -> str:
    """Store recorded clips in the class ``folder``; returns its label ('' if it is gone)."""
    if p is None:
        return ""
    try:
        info = p.class_in(folder, count=False)
        for clip in clips:
            p.add_file(info, *p.kind.stored(clip))
    except StudioError:
        return ""
    return info.label


def listen(st: Studio, page: Page, ui: SoundPage) -> None:
    project, version = page.project, page.cards_version

    def opened(p: Project | None, _query: Mapping[str, str]) -> tuple[str, str]:
        if p is None:
            return "No sound project yet: [create one](/) (kind *Sounds*).", NO_MODEL
        return train.status(p), live_hint(p)

    wire_loader(st, page, ROUTE, ui.choose, opened, [ui.train_status, ui.heard])
    page.model_version.change(lambda f: live_hint(_sound_project(st, f)), [project], [ui.heard],
                              show_progress="hidden")
    wire_add_class(st, page, ui.add_class)

    def on_chunk(chunk, folder: str, target: str, threshold: float, v: int, mem: dict):
        """Record the chunk while a hold button is down; predict the last second 4 times a second."""
        skip = gr.skip()
        if chunk is None:
            return skip, skip, skip, skip
        p = _sound_project(st, folder)
        status, bump = skip, skip
        if mem.get("target") and mem["target"] != target:  # released (or moved to another class)
            last = mem.pop("rec").finish()
            label = _store(p, mem.pop("target"), last)
            n = mem.pop("n", 0) + len(last)
            status, bump = (f"Saved clips to **{esc(label)}** ({n} so far this hold)." if label else START), v + 1
        if target and p is not None:
            if mem.get("target") != target:
                mem.update(target=target, rec=sounds.Recorder(sounds.CLIP_SECONDS), n=0)
            try:
                clips = mem["rec"].record(chunk)
            except StudioError as e:
                return skip, skip, f"Not recorded: {esc(e)}", bump
            label = _store(p, target, clips)
            mem["n"] = mem.get("n", 0) + len(clips)
            status = f"● Recording into **{esc(label)}**: {p.kind.count(mem['n'])}"
        conf, text = _hear(st, p, chunk, threshold, mem)
        return conf, text, status, bump

    ui.mic.stream(on_chunk, [ui.mic, project, ui.hold, ui.threshold, version, ui.memory],
                  [ui.live, ui.heard, ui.rec_status, version], stream_every=STREAM_EVERY,
                  time_limit=600, concurrency_limit=None, show_progress="hidden")

    train.wire_button(st, page, ui.train, ui.train_status, hint=train.SEE_HOOD)
    export.listen(st, page, ui.export)
    hood.listen(st, page, ui.hood)
    compare.listen(st, page, ui.compare, ui.train_status, train.SEE_HOOD)


def live_hint(p: Project | None) -> str:
    """The live line before the microphone streams: what to do next, with or without a model."""
    return READY if p is not None and train.made_here(train.model_info(p)) else NO_MODEL


def _hear(st: Studio, p: Project | None, chunk, threshold: float, mem: dict) -> tuple:
    """(confidences, text) for the live display, or skips between updates."""
    skip = gr.skip()
    if p is None:
        return None, "Choose a sound project."
    try:
        predictor = st.predictors.get(p)
    except StudioError as e:
        return None, esc(e)
    if predictor is None:
        return None, NO_MODEL
    listener = mem.get("listener")
    if listener is None or listener.predictor is not predictor:
        listener = mem["listener"] = sounds.Listener(predictor, threshold, STREAM_EVERY)
    listener.threshold = float(threshold)
    try:
        heard = listener.hear(chunk)
    except StudioError as e:
        return None, esc(e)
    if heard is None:
        return skip, skip
    top = max(heard.confidences, key=heard.confidences.__getitem__)
    conf = {top: heard.confidences[top], **{k: v for k, v in heard.confidences.items() if k != top}}
    return conf, f"**{esc(heard.label)}**" if heard.label else LISTENING
