"""The page's CSS and JavaScript (Gradio has no press-and-hold event of its own). The webcam's
Stop button sits in the preview's top right corner, not over the lower centre where a mask is;
notices (Gradio's toasts) show at the bottom right, not over the project bar's buttons."""

# Press and hold a class's "Hold to record" button: while it is held, the hidden #rec-target
# textbox holds that class's folder, and the webcam stream (which sends every input's current
# value with each frame) records the frames into it. A "Snapshot" click puts a new token (the
# class's folder and the click's time, as ``samples.webcam.snapshot_token``) in #snap-target,
# and the server stores the first frame that carries it. Delegated on document, because the
# class cards are re-rendered. If the webcam is not streaming yet, it is started; and Gradio's
# "Click to Access Webcam" starts the stream too (one click, as in Teachable Machine).
HOLD_JS = r"""
() => {
  const streaming = () => !!document.querySelector('#camera [title="stop recording"]');
  const setBox = (id, value) => {
    const box = document.querySelector(`#${id} textarea, #${id} input`);
    if (!box || box.value === value) return;
    box.value = value;
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  let starting = false;
  const startCamera = (grantToo = true) => {
    const cam = document.querySelector('#camera');
    if (!cam || streaming() || starting) return;
    starting = true;
    const grant = grantToo && cam.querySelector('[title="grant webcam access"] button');
    if (grant) grant.click();
    let tries = 0;
    const go = () => {
      const video = cam.querySelector('video');
      const start = cam.querySelector('button[aria-label="capture photo"]');
      if (streaming()) { starting = false; return; }
      if (video && video.videoWidth > 0 && start) { start.click(); starting = false; return; }
      if (++tries < 100) setTimeout(go, 100); else starting = false;
    };
    go();
  };
  let held = null;
  const press = (button) => {
    const cls = [...button.classList].find((c) => c.startsWith('cls-'));
    if (!cls) return;
    held = button;
    button.classList.add('recording');
    startCamera();
    setBox('rec-target', cls.slice(4));
  };
  const release = () => {
    if (!held) return;
    held.classList.remove('recording');
    held = null;
    setBox('rec-target', '');
  };
  document.addEventListener('pointerdown', (e) => {
    const button = e.target.closest && e.target.closest('.hold-btn');
    if (button && e.button === 0) { e.preventDefault(); press(button); }
  });
  // Snapshot: the first frame the stream sends after the click goes to the class.
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('.snap-btn');
    const cls = button && [...button.classList].find((c) => c.startsWith('cls-'));
    if (!cls || held) return;
    startCamera();
    setBox('snap-target', JSON.stringify({folder: cls.slice(4), click: Date.now()}));
  });
  // One click starts the webcam: "Click to Access Webcam" also presses Gradio's start button.
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('#camera [title="grant webcam access"]')) startCamera(false);
  });
  document.addEventListener('pointerup', release);
  document.addEventListener('pointercancel', release);
  document.addEventListener('pointerout', (e) => {
    if (held && held.contains(e.target) && !held.contains(e.relatedTarget)) release();
  });
  document.addEventListener('keydown', (e) => {
    const button = e.target.closest && e.target.closest('.hold-btn');
    if (button && (e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); press(button); }
  });
  document.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') release(); });
  window.addEventListener('blur', release);
}
"""

CSS = """
.offstage { display: none !important; }
.hold-btn { touch-action: none; user-select: none; -webkit-user-select: none; }
.hold-btn.recording { background: #dc2626 !important; color: #fff !important; border-color: #dc2626 !important; }
.class-card:has(.use-class input:not(:checked)) > :not(:first-child) { opacity: 0.45; }
.thumbs .grid-container { grid-template-columns: repeat(auto-fill, minmax(54px, 1fr)) !important;
                          grid-auto-rows: min-content !important; align-content: start; gap: 4px !important; }
.thumbs .gallery-item { height: auto !important; }
.thumbs .thumbnail-item { min-width: 0 !important; height: auto !important; aspect-ratio: 1 / 1; }
.class-count p { margin: 0; white-space: nowrap; }
#capture:has(#mirror input:not(:checked)) #camera video.flip { transform: none !important; }
#camera .button-wrap { top: var(--size-2); bottom: auto !important; left: auto !important; right: var(--size-2);
                       transform: none !important; }
.small p { font-size: 0.85em; opacity: 0.8; margin: 0; }
table.cm { border-collapse: collapse; font-size: 0.9em; }
table.cm th, table.cm td { padding: 2px 4px; text-align: center; border: none; }
table.cm th.corner { font-weight: normal; font-size: 0.8em; opacity: 0.8; }
.cm-cell { min-width: 3.2em; height: 2.4em; border: 1px solid #d4d4d8; border-radius: 4px; cursor: pointer;
           font-weight: 600; }
.cm-cell:hover { outline: 2px solid #2563eb; }
.toast-wrap { top: auto !important; bottom: var(--size-4); }
"""
