"""The sound page (its own route, like the sketch page): one streaming microphone feeds both
hold-to-record (consecutive 1 s clips into the class whose button is held) and live prediction
over a sliding window; class cards with a spectrogram, upload (long files are split), each clip
playable and deletable; training; the "Under the hood" and export sections of the studio page.

Hold-to-record uses the studio page's HOLD_JS unchanged: while a ``.hold-btn`` is held, the
hidden ``#rec-target`` textbox holds the class's folder, and the stream sends it with each chunk.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.errors import StudioError
from studio.model import modelfile
from studio.samples import sounds
from studio.samples.store import ClassInfo, Project

from . import export, hood
from .classes import wire_rename
from .common import REMEMBER, Studio, class_by_folder, esc, guard
from .train import TRAIN, TRAINING, run, summary

ROUTE = "/sound"
STREAM_EVERY = 0.25  # s of audio per chunk: the live bars update 4 times per second
MAX_CLIPS = 200  # clips listed per card (newest first)
LONG = 1.5 * sounds.CLIP_SECONDS  # an uploaded file longer than this is split into clips
UPLOAD_TYPES = sorted(sounds.SOUND_SUFFIXES)
NO_MODEL = "Train a model to hear live predictions."
LISTENING = "listening..."
START = "Press **Start** on the microphone, then press and hold a class's **Hold to record** button."


def render(st: Studio) -> None:
    gr.Navbar(main_page_name="Studio")
    gr.Markdown("## Sound\nRecord or upload 1 s clips for each class, train, then listen live. "
                "[Back to the studio](/) to create a sound project (kind *Sounds*).")
    project, version = gr.State(""), gr.State(0)
    choose = gr.Dropdown(label="Sound project", choices=[], elem_id="sound-project")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=380):
            mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone",
                           elem_id="microphone")
            rec_status = gr.Markdown(START, elem_id="sound-rec-status")
            target = gr.Textbox(elem_id="rec-target", elem_classes="offstage")  # set by HOLD_JS

            @gr.render(inputs=[project, version])
            def cards(folder: str, _version: int) -> None:
                p = _sound_project(st, folder)
                if p is None:
                    gr.Markdown("Choose or create a sound project to start.", elem_id="sound-no-project")
                    return
                for i, info in enumerate(p.classes()):
                    _card(st, p, i, info, project, version)

            add_class = gr.Button("+ Add a class", elem_id="sound-add-class")
        with gr.Column(scale=4, min_width=320):
            gr.Markdown("### Training")
            train = gr.Button(TRAIN, variant="primary", elem_id="sound-train")
            train_status = gr.Markdown(elem_id="sound-train-status", min_height=48)
            gr.Markdown("### Live")
            threshold = gr.Slider(0.0, 1.0, value=0.75, step=0.05, label="Confidence threshold",
                                  info="Below it the page says “listening...” rather than a class.",
                                  elem_id="sound-threshold")
            heard = gr.Markdown(NO_MODEL, elem_id="sound-heard")
            live = gr.Label(label="Live prediction", elem_id="sound-live")
            sub = Studio(st.store, st.exports, st.predictors, {"project": project, "model_version": gr.State("")})
            export.render(sub)
    hood.render(sub)
    st.c.update(snd_project=project, snd_version=version, snd_choose=choose, snd_mic=mic,
                snd_rec_status=rec_status, snd_target=target, snd_add_class=add_class, snd_train=train,
                snd_train_status=train_status, snd_threshold=threshold, snd_heard=heard, snd_live=live,
                snd_sub=sub, snd_remember=gr.BrowserState("", **REMEMBER), snd_state=gr.State({}))


def _sound_project(st: Studio, folder: str | None) -> Project | None:
    p = st.project_or_none(folder)
    return p if p is not None and p.kind.page == ROUTE else None


def _card(st: Studio, p: Project, i: int, info: ClassInfo, project: gr.State, version: gr.State) -> None:
    """One class card; its events name the class by folder, which renaming never changes."""
    folder = info.folder
    samples = p.samples(info.label)[:MAX_CLIPS]
    with gr.Column(elem_id=f"snd-card-{i}", elem_classes="class-card", variant="panel"):
        with gr.Row(equal_height=True):
            name = gr.Textbox(info.label, show_label=False, container=False, max_length=64, scale=3,
                              interactive=True, elem_id=f"snd-name-{i}")
            gr.Markdown(f"**{info.count}** clip{'s' if info.count != 1 else ''}", elem_id=f"snd-count-{i}",
                        elem_classes="class-count")
        if samples:
            gr.Image(_picture(samples[0].path), show_label=False, interactive=False, height=64, container=False,
                     buttons=[], elem_id=f"snd-picture-{i}")
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
            _clip_events(st, folder, project, version, clips, delete, player)
    wire_rename(st, name, folder, project, version)

    @guard
    def on_upload(f: str, files: list[str] | None, v: int) -> int:
        q = st.project(f)
        label = class_by_folder(q, folder).label
        added, skipped = 0, []
        for path in files or []:
            fname = Path(path).name
            try:
                clip = sounds.load(path, fname)
                if clip.seconds > LONG:  # background noise keeps its quiet parts
                    keep_all = label.casefold().startswith("background")
                    added += len(q.add_recording(label, clip, fname, skip_silence=not keep_all))
                else:
                    q.add_sample(label, clip, name=fname)
                    added += 1
            except StudioError as e:
                skipped.append(str(e))
        text = f"Added {added} clip{'s' if added != 1 else ''} to {label}."
        if skipped:
            gr.Warning(esc(f"{text} Skipped {len(skipped)}: {'; '.join(skipped[:5])}"))
        else:
            gr.Info(esc(text))
        return v + 1

    upload.upload(on_upload, [project, upload, version], [version])


def _clip_events(st: Studio, folder: str, project: gr.State, version: gr.State, clips: gr.Dropdown,
                 delete: gr.Button, player: gr.Audio) -> None:
    """Choosing a clip plays it; "Delete clip" deletes the chosen one."""
    @guard
    def on_clip(f: str, name: str):
        q = st.project(f)
        return str(q.sample_path(class_by_folder(q, folder).label, name)) if name else None

    clips.input(on_clip, [project, clips], [player])

    @guard
    def on_delete(f: str, name: str, v: int) -> int:
        q = st.project(f)
        q.delete_sample(class_by_folder(q, folder).label, name)
        return v + 1

    delete.click(on_delete, [project, clips, version], [version])


def _picture(path: Path):
    """The newest clip's spectrogram, or a blank strip if it cannot be read."""
    try:
        return sounds.spectrogram_image(sounds.load(path), 320, 64)
    except StudioError:
        return None


def _store(p: Project | None, folder: str, clips: list[sounds.Clip]) -> str:
    """Store recorded clips in the class ``folder``; returns its label ('' if it is gone)."""
    if p is None:
        return ""
    try:
        label = class_by_folder(p, folder).label
        for clip in clips:
            p.add_sample(label, clip)
    except StudioError:
        return ""
    return label


def listen(st: Studio, demo: gr.Blocks) -> None:
    c = st.c
    project, version, choose = c["snd_project"], c["snd_version"], c["snd_choose"]
    sub = c["snd_sub"]
    remember, state = c["snd_remember"], c["snd_state"]

    def state_of(folder: str) -> tuple:
        """Dropdown, project and training status for the sound project ``folder`` (or the first)."""
        ours = [p for p in st.store.projects() if p.kind.page == ROUTE]
        p = next((q for q in ours if q.folder == folder), ours[0] if ours else None)
        if p is None:
            return gr.Dropdown(choices=[], value=None), "", "No sound project yet: [create one](/) (kind *Sounds*)."
        info = modelfile.info(p.model_dir) if modelfile.exists(p.model_dir) else None
        return gr.Dropdown(choices=[(q.name, q.folder) for q in ours], value=p.folder), p.folder, summary(info)

    outs = [choose, project, c["snd_train_status"]]

    @guard
    def on_load(remembered: str, request: gr.Request) -> tuple:
        return state_of(request.query_params.get("project") or remembered)

    demo.load(on_load, [remember], outs)

    @guard
    def on_choose(folder: str) -> tuple:
        return *state_of(folder), folder

    choose.input(on_choose, [choose], [*outs, remember])
    project.change(lambda f: f, [project], [sub.c["project"]])

    @guard
    def add_class(folder: str, v: int) -> int:
        p = st.project(folder)
        taken = {lb.casefold() for lb in p.labels()}
        n = len(taken) + 1
        while f"class {n}" in taken:
            n += 1
        p.add_class(f"Class {n}")
        return v + 1

    c["snd_add_class"].click(add_class, [project, version], [version])

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
            status = f"● Recording into **{esc(label)}**: {mem['n']} clip{'s' if mem['n'] != 1 else ''}"
        conf, text = _hear(st, p, chunk, threshold, mem)
        return conf, text, status, bump

    c["snd_mic"].stream(on_chunk, [c["snd_mic"], project, c["snd_target"], c["snd_threshold"], version, state],
                        [c["snd_live"], c["snd_heard"], c["snd_rec_status"], version], stream_every=STREAM_EVERY,
                        time_limit=600, concurrency_limit=None, show_progress="hidden")

    @guard
    def do_train(folder: str, progress=gr.Progress()) -> tuple[str, str]:
        record = run(st, folder, None, progress)
        return summary(record.info()) + " See *Under the hood* below.", record.id

    train = c["snd_train"]
    busy = train.click(lambda: gr.Button(TRAINING, interactive=False), None, train, queue=False)
    done = busy.then(do_train, [project], [c["snd_train_status"], sub.c["model_version"]], concurrency_limit=2)
    for after in (done.then, done.failure):  # Gradio 6.31 skips .then after a failure
        after(lambda: gr.Button(TRAIN, interactive=True), None, train, queue=False)
    export.listen(sub)
    hood.listen(sub)


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
