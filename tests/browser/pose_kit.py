"""What pose browser tests need beyond browser_kit: a 640x480 fake webcam video of people
holding yoga poses (photos from ../shared/data/pose or tests/fixtures/pose/photos), and an
in-page probe telling which pose the video shows.

Pose runs at a few frames a second in software WebGL, so each pose should stay on screen for
several seconds. Each photo is letterboxed on grey (the whole body stays in view, as MediaPipe
needs), with a coloured strip down the left edge naming the pose (POSE_MARKERS, in order): pose
models ignore a thin strip at the frame's edge, while the probe reads it. Optional grey frames
between photos (``gap_s``) let the tracker lose the previous person, as a real hard cut would not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

WIDTH, HEIGHT, STRIP = 640, 480, 12
GREY = 128
# One colour per pose, far apart in RGB so that YUV 4:2:0 and scaling keep them apart.
POSE_MARKERS = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0), (255, 0, 255)]


def pose_frame(photo: Path | None, marker: tuple[int, int, int] | None) -> np.ndarray:
    """One 640x480 RGB frame: the photo scaled to fit (letterboxed on grey) right of the strip."""
    out = np.full((HEIGHT, WIDTH, 3), GREY, np.uint8)
    if photo is not None:
        img = ImageOps.exif_transpose(Image.open(photo)).convert("RGB")
        room_w = WIDTH - 2 * STRIP  # symmetric margins keep the photo centred
        scale = min(room_w / img.width, HEIGHT / img.height)
        w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
        img = img.resize((w, h), Image.Resampling.BILINEAR)
        left, top = (WIDTH - w) // 2, (HEIGHT - h) // 2
        out[top:top + h, left:left + w] = np.asarray(img)
    if marker is not None:
        out[:, :STRIP] = marker
    return out


def make_pose_y4m(dest: Path, poses: list[list[Path]], seconds_each: float, fps: int = 15,
                  gap_s: float = 0.0, markers: bool = True) -> Path:
    """A looping 640x480 .y4m for Chromium's ``--use-file-for-fake-video-capture``: pose 1's
    photos for ``seconds_each`` in all (split evenly among them), then pose 2's, and so on.
    With ``gap_s``, that long a plain grey frame (no strip) follows each photo: without it, at the
    0.4-2.5 frames a second pose runs at here, the tracker may keep the previous photo's skeleton
    on the next one (seen: a downward-dog skeleton on warrior II); 2 s of grey made the skeleton
    follow every photo under load (0.4 fps). At 640x480 a frame
    is 450 kB: keep ``fps`` low (Chromium repeats frames as needed; pose sees ~3 fps here anyway)."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{WIDTH}x{HEIGHT}", "-r", str(fps), "-i", "-", "-pix_fmt", "yuv420p", str(dest)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    gap = pose_frame(None, None).tobytes()
    for i, photos in enumerate(poses):
        marker = POSE_MARKERS[i % len(POSE_MARKERS)] if markers else None
        repeat = max(1, round(seconds_each / len(photos) * fps))
        for photo in photos:
            data = pose_frame(photo, marker).tobytes()
            for _ in range(repeat):
                proc.stdin.write(data)
            for _ in range(round(gap_s * fps)):
                proc.stdin.write(gap)
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("ffmpeg could not write the fake webcam video")
    return dest


# window.__poseShowing(video): index of the pose the <video> shows now (its strip's colour, read
# from the video itself, so the CSS mirror does not matter), or -1 for a gap / unknown colour.
POSE_PROBE_JS = r"""
(() => {
  // window.__poseLog: the last moments of the page's pose loop ([ms, what, value, pose on screen]):
  // each pose found ("frames") and kept while a button is held ("recording"), and what tests note
  window.__poseLog = [];
  window.__poseNote = (what, value) => {
    window.__poseLog.push([Date.now() %% 100000, what, value, window.__poseShowing()]);
    if (window.__poseLog.length > 80) window.__poseLog.shift();
  };
  let state;
  Object.defineProperty(window, '__studioPose', {configurable: true, get: () => state, set: (s) => {
    for (const key of ['frames', 'recording']) {
      let value = s[key];
      Object.defineProperty(s, key, {enumerable: true, get: () => value, set: (v) => {
        value = v;
        window.__poseNote(key, v);
        if (window.__onPose) window.__onPose(key, v);
      }});
    }
    state = s; }});
  // window.__grabbed, __grabbedAt: the pose on the last whole frame the page copied from the video to
  // find its pose (read off the copy's strip), and when: known the moment its landmarks arrive;
  // window.__grabs: every such [ms, pose] since the page opened
  window.__grabs = [];
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (source, ...rest) {
    draw.call(this, source, ...rest);
    if (source instanceof HTMLVideoElement && rest.length === 2 && this.canvas.width === source.videoWidth) {
      const d = this.getImageData(2, this.canvas.height >> 1, 1, 1).data;
      window.__grabbed = markerOf(d);
      window.__grabbedAt = Date.now();
      window.__grabs.push([window.__grabbedAt, window.__grabbed]);
    }
  };
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 48;
  const cx = canvas.getContext('2d', {willReadFrequently: true});
  const markers = %s;
  const markerOf = (d) => markers.findIndex(([r, g, b]) =>
    Math.abs(d[0] - r) < 80 && Math.abs(d[1] - g) < 80 && Math.abs(d[2] - b) < 80);
  window.__poseShowing = (video) => {
    const v = video || document.querySelector('video');
    if (!v || !v.videoWidth) return -1;
    cx.drawImage(v, 0, 0, 64, 48);
    return markerOf(cx.getImageData(0, 24, 1, 1).data);
  };
})();
""" % [list(m) for m in POSE_MARKERS]
