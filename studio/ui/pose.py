"""The pose page (its own route, like the sound page): the webcam with the skeleton MediaPipe Pose
finds drawn over it, class cards with hold-to-record, snapshot and upload of photos, a live bar per
class, training, and the "Under the hood", compare and export sections of the other pages.

The pose model runs in the browser (``static/pose/studio-pose.js`` over npm's ``@mediapipe/pose``,
served by ``static_files``): the server never sees the video, only poses. ``POSE_JS`` runs the
camera loop. Hold-to-record and Snapshot use the studio page's HOLD_JS unchanged: while a
``.hold-btn`` is held, the hidden ``#rec-target`` box holds the class's folder, and a Snapshot
click puts a token in ``#snap-target``; ``POSE_JS`` watches both. While a button is held it keeps
about ten poses a second, each with a small JPEG of the frame it was found in, and on release
sends them in one ``submit`` event of the camera block (``trigger('submit', batch)``), stored as
one capture. Uploaded photos go through the pose model in the browser too and arrive the same
way. For the live bars it writes the latest pose into the hidden ``#pose-latest`` box, whose
``change`` event predicts it (``always_last``: while one pose is predicted, only the latest waits).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import gradio as gr

from studio.errors import BadSample, StudioError
from studio.samples.store import ClassInfo, Project, new_capture

from . import colours, compare, export, hood, train
from .classes import (
    MAX_THUMBS,
    action_buttons,
    confirm_and_zip,
    tiles,
    use_checkbox,
    wire_actions,
    wire_add_class,
    wire_enable,
    wire_remove,
    wire_rename,
)
from .common import Page, Studio, esc, guard, needs_project, wire_loader
from .predictors import ranked
from .static_files import MISSING, POSE_BASE, POSE_SCRIPT, pose_files_missing

ROUTE = "/pose"
MAX_BATCH = 1000  # poses one message may store (a 100 s hold at ten a second)
NO_PROJECT = "No pose project yet: [create one](/) (New project, kind *Poses*), then record it here."
NO_MODEL = "Train a model to see live predictions."
READY = "Start the webcam to see live predictions."
NO_POSE = "No pose in view: step back so that the camera sees your whole body."
START = "Start the webcam, then press and hold a class's **Hold to record** button while you hold the pose."
ACTIONS = {"record", "snapshot", "upload"}

CAMERA_HTML = """
<div class="pose-cam">
  <div class="pose-stage">
    <video playsinline muted></video>
    <canvas></canvas>
    <button type="button" class="pose-start">Click to start the webcam</button>
  </div>
  <div class="pose-bar">
    <span class="pose-note">Loading the pose model…</span>
    <button type="button" class="pose-stop" hidden>Stop the webcam</button>
  </div>
  <input type="file" class="pose-files" accept="image/*" multiple hidden>
</div>
"""
CAMERA_CSS = """
.pose-stage { position: relative; width: 100%; aspect-ratio: 4 / 3; max-height: 360px; background: #18181b;
              border-radius: 8px; overflow: hidden; }
.pose-stage video, .pose-stage canvas { position: absolute; inset: 0; width: 100%; height: 100%;
                                         object-fit: contain; transform: scaleX(-1); }
.pose-start { position: absolute; inset: 0; margin: auto; width: max-content; height: max-content;
              padding: 10px 16px; border-radius: 8px; background: #f97316; color: #fff; font-weight: 600; }
.pose-start:disabled { opacity: 0.6; }
.pose-bar { display: flex; gap: 8px; align-items: center; justify-content: space-between; margin-top: 4px;
            min-height: 2em; font-size: 0.9em; }
.pose-stop { padding: 2px 10px; border: 1px solid #a1a1aa; border-radius: 6px; }
"""
# The camera loop. ``window.__studioPose`` tells tests (and the curious) what the loop has seen.
POSE_JS = r"""
(async () => {
  const SCRIPT = __SCRIPT__, BASE = __BASE__, MISSING = __MISSING__;
  const KEEP_EVERY_MS = 100, LIVE_EVERY_MS = 100, FRAME_SIDE = 480, PHOTO_SIDE = 1280;
  // Finding a pose blocks the page (WebGL read-backs). When it is slow (software WebGL on a busy
  // machine: seconds a frame), the page then rests as long, so clicks, answers and redraws go on.
  const SLOW_MS = 200;
  const CUT_LEVEL = 30;  // mean change of a 16x12 copy's colours (0-255) that counts as a cut
  const $ = (s) => element.querySelector(s);
  const video = $('video'), overlay = $('canvas'), note = $('.pose-note');
  const startBtn = $('.pose-start'), stopBtn = $('.pose-stop'), picker = $('.pose-files');
  const S = window.__studioPose = {state: 'loading', error: '', frames: 0, found: 0, landmarks: null,
                                   fps: 0, recording: 0, sent: []};
  const say = (text) => { note.textContent = text; };
  const setBox = (id, value) => {
    const box = document.querySelector(`#${id} textarea, #${id} input`);
    if (!box || box.value === value) return;
    box.value = value;
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  const classOf = (button) => ([...button.classList].find((c) => c.startsWith('cls-')) || '').slice(4);
  const pause = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const rest = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // A copy of `source` no larger than `side`, as a canvas.
  const scaled = (source, width, height, side) => {
    const k = Math.min(1, side / Math.max(width, height));
    const c = document.createElement('canvas');
    c.width = Math.max(1, Math.round(width * k));
    c.height = Math.max(1, Math.round(height * k));
    c.getContext('2d').drawImage(source, 0, 0, c.width, c.height);
    return c;
  };
  const poseOf = (result, source, name) => ({
    landmarks: result.landmarks.map((p) => p.map((v) => Math.round(v * 1e5) / 1e5)),
    width: result.width, height: result.height, name,
    frame: scaled(source, result.width, result.height, FRAME_SIDE).toDataURL('image/jpeg', 0.85),
  });
  const send = (batch) => {
    S.sent.push({action: batch.action, folder: batch.folder, poses: batch.poses.length});
    trigger('submit', batch);
  };

  let stream = null, fresh = true, burst = null, snap = null, kept = 0, lastLive = 0;
  const ready = (async () => {
    try {
      const mod = await import(SCRIPT);
      // no smoothing: its visibility filter (0.9 of the previous frame's, per frame) would carry one
      // pose's visibilities into the next for many frames at software WebGL's rate, and into photos
      const runner = await mod.createPoseRunner({base: BASE, smooth: false});
      S.state = 'ready';
      if (!stream) say('Pose model ready: start the webcam, or upload photos to a class.');
      return {runner, draw: mod.drawSkeleton};
    } catch (e) {
      S.state = 'failed';
      S.error = String(e && e.message || e);
      say(`${MISSING} (${S.error})`);
      return null;
    }
  })();

  // ---- the webcam: grab a frame, find its pose, draw it, record it, predict it --------------------
  const grab = document.createElement('canvas');
  // A cut (the scene changes at once: a new video segment, the camera turned) drops tracking, or the
  // tracker would keep the last person's skeleton over the new picture for several frames.
  const tiny = document.createElement('canvas');
  tiny.width = 16;
  tiny.height = 12;
  const tinyCtx = tiny.getContext('2d', {willReadFrequently: true});
  let before = null;
  const cut = () => {
    tinyCtx.drawImage(grab, 0, 0, tiny.width, tiny.height);
    const now = tinyCtx.getImageData(0, 0, tiny.width, tiny.height).data;
    let diff = 0;
    if (before) for (let i = 0; i < now.length; i++) if (i % 4 !== 3) diff += Math.abs(now[i] - before[i]);
    const changed = before !== null && diff / (tiny.width * tiny.height * 3) > CUT_LEVEL;
    before = now;
    return changed;
  };
  const startCamera = async () => {
    if (stream || startBtn.disabled) return;
    startBtn.disabled = true;
    say('Starting the webcam…');
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        {video: {width: {ideal: 640}, height: {ideal: 480}}, audio: false});
    } catch (e) {
      startBtn.disabled = false;
      say(`The webcam could not be started (${e.message}): allow this page to use the camera, then try again.`);
      return;
    }
    video.srcObject = stream;
    await video.play();
    startBtn.hidden = true;
    stopBtn.hidden = false;
    fresh = true;
    loop();
  };
  const stopCamera = () => {
    if (!stream) return;
    stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    startBtn.hidden = false;
    startBtn.disabled = false;
    stopBtn.hidden = true;
    overlay.getContext('2d').clearRect(0, 0, overlay.width, overlay.height);
    setBox('pose-latest', '');
    say('Webcam stopped.');
  };
  const record = (result, grabbedAt) => {
    if (burst && grabbedAt >= burst.since) {
      if (result.landmarks && grabbedAt - kept >= KEEP_EVERY_MS) {
        burst.poses.push(poseOf(result, grab));
        kept = grabbedAt;
      }
      S.recording = burst.poses.length;
      say(`● Recording: ${burst.poses.length} pose${burst.poses.length === 1 ? '' : 's'}`);
    }
    if (snap && grabbedAt >= snap.since) {
      if (result.landmarks) send({action: 'snapshot', folder: snap.folder, poses: [poseOf(result, grab)]});
      else say('Snapshot: no pose in that frame. Step into view and try again.');
      snap = null;
    }
  };
  const live = (result, now) => {
    if (result.landmarks && now - lastLive < LIVE_EVERY_MS) return;
    lastLive = now;
    setBox('pose-latest', result.landmarks ? JSON.stringify(
      {landmarks: result.landmarks, width: result.width, height: result.height}) : '');
  };
  const loop = async () => {
    const model = await ready;
    if (!model) return;
    let since = performance.now(), counted = 0;
    while (stream) {
      if (!video.videoWidth) { await pause(); continue; }
      grab.width = video.videoWidth;
      grab.height = video.videoHeight;
      grab.getContext('2d').drawImage(video, 0, 0);
      const grabbedAt = Date.now(), first = fresh || cut();
      fresh = false;
      let result;
      const started = performance.now();
      try {
        result = await model.runner.detect(grab, {fresh: first});
      } catch (e) {
        say(`The pose model failed: ${e.message}`);
        break;
      }
      if (!stream) break;
      overlay.width = result.width;
      overlay.height = result.height;
      model.draw(overlay.getContext('2d'), result.landmarks, result.width, result.height);
      S.frames += 1;
      if (result.landmarks) { S.found += 1; S.landmarks = result.landmarks; }
      record(result, grabbedAt);
      live(result, Date.now());
      counted += 1;
      const spent = performance.now() - since;
      if (spent > 2000) {
        S.fps = counted * 1000 / spent;
        since = performance.now();
        counted = 0;
      }
      if (!burst) say(result.landmarks ? `Pose model: ${S.fps.toFixed(1)} frames/s` : 'No pose in view.');
      const took = performance.now() - started;
      await pause();
      if (took > SLOW_MS) await rest(took);
    }
  };

  // Hold to record and Snapshot: HOLD_JS fills #rec-target while a button is held, #snap-target on a click.
  const onHold = (folder) => {
    if (burst && burst.folder === folder) return;
    if (burst) send(burst);
    burst = folder ? {action: 'record', folder, since: Date.now(), poses: []} : null;
    S.recording = 0;
    if (folder) { fresh = true; kept = 0; startCamera(); }  // a new recording drops the old track
  };
  const onSnap = (token) => {
    let folder = '';
    try { folder = JSON.parse(token).folder || ''; } catch (e) { return; }
    if (!folder) return;
    snap = {folder, since: Date.now()};
    startCamera();
  };
  document.addEventListener('input', (e) => {
    if (!e.target.closest) return;
    if (e.target.closest('#rec-target')) onHold(e.target.value);
    else if (e.target.closest('#snap-target')) onSnap(e.target.value);
  });

  // Upload photos: each goes through the pose model here (tracking dropped), then all are sent at once.
  let uploadTo = '';
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('.pose-upload-btn');
    if (!button) return;
    uploadTo = classOf(button);
    picker.value = '';
    picker.click();
  });
  picker.addEventListener('change', async () => {
    const files = [...picker.files], folder = uploadTo;
    if (!files.length || !folder) return;
    const model = await ready;
    if (!model) return;
    const batch = {action: 'upload', folder, poses: [], missed: []};
    for (const [i, file] of files.entries()) {
      say(`Finding the pose in ${file.name} (${i + 1} of ${files.length})…`);
      let bitmap;
      try { bitmap = await createImageBitmap(file); } catch (e) { batch.missed.push(file.name); continue; }
      const photo = scaled(bitmap, bitmap.width, bitmap.height, PHOTO_SIDE);
      bitmap.close();
      const result = await model.runner.detect(photo, {fresh: true});
      if (result.landmarks) batch.poses.push(poseOf(result, photo, file.name));
      else batch.missed.push(file.name);
    }
    fresh = true;  // the webcam's next frame must not track the last photo's person
    say(`Sending ${batch.poses.length} pose${batch.poses.length === 1 ? '' : 's'}…`);
    send(batch);
  });

  startBtn.addEventListener('click', startCamera);
  stopBtn.addEventListener('click', stopCamera);
})();
"""


@dataclass(frozen=True)
class PosePage:
    """The pose page's widgets, with the export, hood and compare sections it shares with the others."""

    choose: gr.Dropdown
    hint: gr.Markdown  # what to do without a pose project, or without the pose model's files
    camera: gr.HTML  # the webcam, the skeleton and the pose model (POSE_JS); its submit event carries poses
    rec_status: gr.Markdown
    hold: gr.Textbox  # the held class's folder, set by HOLD_JS
    snap: gr.Textbox  # the latest Snapshot click, set by HOLD_JS
    latest: gr.Textbox  # the latest pose seen, as JSON ("" when none), set by POSE_JS
    add_class: gr.Button
    train: gr.Button
    train_status: gr.Markdown
    live_note: gr.Markdown
    live: gr.Label
    export: export.ExportPanel
    hood: hood.Hood
    compare: compare.ComparePanel


def render(st: Studio, page: Page) -> PosePage:
    gr.Navbar(main_page_name="Studio")
    gr.Markdown("## Pose\nRecord body poses for each class from the webcam (or upload photos), train, then watch "
                "the live prediction. The pose model runs in this browser: only the poses reach the server.")
    hint = gr.Markdown(visible=False, elem_id="pose-hint")  # filled as the page loads (``hint_for``)
    choose = gr.Dropdown(label="Pose project", choices=[], elem_id="pose-project")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=380):
            camera = render_camera()
            rec_status = gr.Markdown(START, elem_id="pose-rec-status")
            hold = gr.Textbox(elem_id="rec-target", elem_classes="offstage")
            snap = gr.Textbox(elem_id="snap-target", elem_classes="offstage")
            latest = gr.Textbox(elem_id="pose-latest", elem_classes="offstage")
            render_cards(st, page)
            add_class = gr.Button("+ Add a class", elem_id="pose-add-class")
        with gr.Column(scale=4, min_width=320):
            gr.Markdown("### Training")
            button = gr.Button(train.TRAIN, variant="primary", elem_id="pose-train")
            train_status = gr.Markdown(elem_id="pose-train-status", min_height=48)
            gr.Markdown("### Live")
            live_note = gr.Markdown(NO_MODEL, elem_id="pose-live-note")
            live = gr.Label(label="Live prediction", elem_id="pose-live")
            exporting = export.render()
    under = hood.render()
    comparing = compare.render()
    return PosePage(choose, hint, camera, rec_status, hold, snap, latest, add_class, button, train_status,
                    live_note, live, exporting, under, comparing)


def render_camera() -> gr.HTML:
    """The webcam and its skeleton; POSE_JS loads the pose model as the page opens."""
    js = (POSE_JS.replace("__SCRIPT__", json.dumps(POSE_SCRIPT)).replace("__BASE__", json.dumps(POSE_BASE))
          .replace("__MISSING__", json.dumps(MISSING.replace("`", ""))))
    return gr.HTML(CAMERA_HTML, css_template=CAMERA_CSS, js_on_load=js, elem_id="pose-camera")


def render_cards(st: Studio, page: Page) -> None:
    @gr.render(inputs=[page.project, page.cards_version])
    def cards(folder: str, _version: int) -> None:
        p = pose_project(st, folder)
        if p is None:
            gr.Markdown("Choose or create a pose project to start.", elem_id="pose-no-project")
            return
        colours.render_bar_rules(p)
        for i, info in enumerate(p.classes()):
            _card(st, page, p, i, info)


def pose_project(st: Studio, folder: str | None) -> Project | None:
    """The project in ``folder`` if it is one this page records, else None."""
    p = st.project_or_none(folder)
    return p if p is not None and p.kind.page == ROUTE else None


def _card(st: Studio, page: Page, p: Project, i: int, info: ClassInfo) -> None:
    """One class card; its buttons name the class by folder (``cls-<folder>``), which renaming never changes."""
    folder = info.folder
    samples = p.samples(info.label)
    shown, note = tiles(p, info, samples[:MAX_THUMBS], skeleton=True)
    with gr.Column(elem_id=f"pose-card-{i}", elem_classes=colours.card_classes(i), variant="panel"):
        with gr.Row(equal_height=True):
            name = gr.Textbox(info.label, show_label=False, container=False, max_length=64, scale=3,
                              interactive=True, elem_id=f"pose-name-{i}", elem_classes="class-name")
            gr.Markdown(f"**{info.count}** {p.kind.noun if info.count == 1 else p.kind.nouns}",
                        elem_id=f"pose-count-{i}", elem_classes="class-count")
            enabled = use_checkbox(info, f"pose-enabled-{i}")
        with gr.Row():
            gr.Button("● Hold to record", size="sm", min_width=0, scale=2, elem_id=f"pose-hold-{i}",
                      elem_classes=["hold-btn", f"cls-{folder}"])
            gr.Button("Snapshot", size="sm", min_width=0, elem_id=f"pose-snap-{i}",
                      elem_classes=["snap-btn", f"cls-{folder}"])
            gr.Button("Upload photos", size="sm", min_width=0, elem_id=f"pose-upload-{i}",
                      elem_classes=["pose-upload-btn", f"cls-{folder}"])
        gallery = gr.Gallery(shown, show_label=False, columns=8, fit_columns=False, height=128, object_fit="cover",
                             allow_preview=False, visible=bool(samples), elem_id=f"pose-gallery-{i}",
                             elem_classes="thumbs")
        if note:
            gr.Markdown(note, elem_id=f"pose-unreadable-{i}", elem_classes="small")
        if len(samples) > MAX_THUMBS:
            gr.Markdown(f"The newest {MAX_THUMBS} of {p.kind.count(len(samples))} are shown.", elem_classes="small")
        with gr.Row():
            remove = gr.Button("Remove selected", size="sm", min_width=0, interactive=False,
                               elem_id=f"pose-remove-{i}")
            buttons = action_buttons(p, info, i, "pose-class-")
        actions = confirm_and_zip(p, info, i, buttons, "pose-class-")
    wire_rename(st, page, name, folder)
    wire_enable(st, page, enabled, folder)
    wire_actions(st, page, actions, folder)
    wire_remove(st, page, gallery, remove, folder)


def store_batch(p: Project, data: Mapping) -> tuple[str, bool]:
    """Store the poses of one message from POSE_JS (a hold's burst, a snapshot, an upload) in the
    class it names, all of a burst or upload as one capture; the status line to show, and whether
    something went amiss (a photo without a pose, nothing seen). StudioError for a message that is
    not one POSE_JS sends, or a class that is gone."""
    action, folder, batch = data.get("action"), data.get("folder"), data.get("poses")
    missed = [str(m) for m in data.get("missed") or []]
    if action not in ACTIONS or not isinstance(folder, str) or not isinstance(batch, list):
        raise StudioError("The page sent poses the server cannot read; reload the page.")
    if len(batch) > MAX_BATCH:
        raise StudioError(f"Too many poses at once ({len(batch)}; at most {MAX_BATCH}): record shorter bursts.")
    label = p.class_in(folder, count=False).label
    capture = new_capture() if len(batch) > 1 else ""
    stored, bad = 0, []
    for n, pose in enumerate(batch):
        name = pose.get("name") if isinstance(pose, dict) and isinstance(pose.get("name"), str) else None
        try:
            p.add_sample(label, pose, name or f"pose {n + 1}", capture=capture)
            stored += 1
        except BadSample as e:
            bad.append(str(e))
    into = f"**{esc(label)}**"
    if action == "record":
        text = (f"Saved {p.kind.count(stored)} to {into}." if stored else
                f"Nothing saved to {into}: no pose was seen while the button was held. {NO_POSE}")
    elif action == "snapshot":
        text = f"Snapshot saved to {into}." if stored else f"No snapshot: {NO_POSE}"
    else:
        text = f"Added {p.kind.count(stored)} from photos to {into}."
    if missed:
        text += (f" No pose was found in {len(missed)} photo{'s' if len(missed) != 1 else ''}: "
                 f"{esc(', '.join(missed[:10]))}{' ...' if len(missed) > 10 else ''}.")
    if bad:
        text += f" Not stored ({len(bad)}): {esc('; '.join(bad[:3]))}."
    return text, bool(missed or bad or not stored)


def listen(st: Studio, page: Page, ui: PosePage) -> None:
    project, version = page.project, page.cards_version

    def opened(p: Project | None, _query: Mapping[str, str]) -> tuple:
        hint = hint_for(p)
        shown = gr.Markdown(hint, visible=bool(hint))
        return (shown, "", NO_MODEL) if p is None else (shown, train.status(p), live_hint(p))

    wire_loader(st, page, ROUTE, ui.choose, opened, [ui.hint, ui.train_status, ui.live_note])
    needs_project(page, [ui.add_class, ui.train, ui.export.button])
    page.model_version.change(lambda f: live_hint(pose_project(st, f)), [project], [ui.live_note],
                              show_progress="hidden")
    wire_add_class(st, page, ui.add_class)

    @guard
    def on_poses(folder: str, v: int, evt: gr.EventData) -> tuple[str, int]:
        """A batch of poses from POSE_JS: stored, then the cards redrawn."""
        data = {key: getattr(evt, key, None) for key in ("action", "folder", "poses", "missed")}
        text, amiss = store_batch(st.project(folder), data)
        if amiss:  # also in the status line, which stays: a toast goes after a while
            gr.Warning(text.replace("**", ""))
        return text, v + 1

    ui.camera.submit(on_poses, [project, version], [ui.rec_status, version], trigger_mode="multiple",
                     concurrency_limit=None, show_progress="hidden")

    def on_latest(folder: str, text: str) -> tuple:
        """The live bars for the latest pose (none while no pose is in view)."""
        p = pose_project(st, folder)
        if p is None:
            return None, ""
        try:
            predictor = st.predictors.get(p)
            if predictor is None:
                return None, NO_MODEL
            if not text:
                return None, NO_POSE
            return ranked(predictor, json.loads(text)), ""
        except (StudioError, ValueError) as e:
            return None, esc(e)

    # .change: a Textbox's .input event does not fire for a value set by script. Gradio 6 shows a
    # "processing | 3.7s" timer on the outputs despite show_progress="hidden": it goes to the
    # offstage box instead (show_progress_on), so the live bars never blink.
    ui.latest.change(on_latest, [project, ui.latest], [ui.live, ui.live_note], trigger_mode="always_last",
                     show_progress="hidden", show_progress_on=[ui.latest], concurrency_limit=None)

    train.wire_button(st, page, ui.train, ui.train_status, hint=train.SEE_HOOD)
    export.listen(st, page, ui.export)
    hood.listen(st, page, ui.hood)
    compare.listen(st, page, ui.compare, ui.train_status, train.SEE_HOOD)


def hint_for(p: Project | None) -> str:
    """What the top of the page says: that the pose model's files are missing, that there is no pose
    project yet, both, or "" when all is there."""
    return " ".join(([MISSING] if pose_files_missing() else []) + ([NO_PROJECT] if p is None else []))


def live_hint(p: Project | None) -> str:
    """The live line before the first pose arrives: what to do next, with or without a model."""
    return READY if p is not None and train.made_here(train.model_info(p)) else NO_MODEL
