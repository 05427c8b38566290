// studio-pose.js: MediaPipe Pose (npm @mediapipe/pose, legacy "solutions" API) behind a small,
// promise-based API, shared by studio's pose page, the exported pose web page and the benches.
// No build step and nothing from the internet: every file comes from `base`, a folder that the
// caller serves itself (studio serves node_modules/@mediapipe/pose/).
//
//   const runner = await createPoseRunner({ base: '/studio-static/node_modules/@mediapipe/pose/' });
//   const { landmarks, width, height } = await runner.detect(videoOrImgOrCanvas, { fresh: true });
//   drawSkeleton(canvas.getContext('2d'), landmarks, canvas.width, canvas.height);
//
// landmarks: 33 rows [x, y, z, visibility]; x, y normalised to the image (0..1, may overshoot),
// z roughly on x's scale (smaller = nearer the camera), or null when no pose is found.
//
// Photos: use a runner made with { smooth: false } and detect(img, { fresh: true }): each photo
// then gets exactly the landmarks a freshly loaded page gives it. Two runners on one page work
// (checked), e.g. a smoothed one for the webcam and an unsmoothed one for uploaded photos.
// Video: the tracker follows the person from frame to frame; at the 1-3 frames a second of
// software WebGL a sudden change (a cut, a jump) can keep the previous skeleton on the new image
// until the person leaves the frame or detect(..., { fresh: true }) is called.

// MediaPipe's POSE_CONNECTIONS (the same 35 pairs pose.js exports), as [a, b] landmark indices.
export const CONNECTIONS = [
  [0, 1], [1, 2], [2, 3], [3, 7], [0, 4], [4, 5], [5, 6], [6, 8], [9, 10],
  [11, 12], [11, 13], [13, 15], [15, 17], [15, 19], [15, 21], [17, 19],
  [12, 14], [14, 16], [16, 18], [16, 20], [16, 22], [18, 20],
  [11, 23], [12, 24], [23, 24], [23, 25], [24, 26], [25, 27], [26, 28],
  [27, 29], [28, 30], [29, 31], [30, 32], [27, 31], [28, 32],
];

// pose.js is a classic script that defines window.Pose: insert its <script> tag once per page.
let scriptLoading = null;
function loadPoseScript(src) {
  if (window.Pose) return Promise.resolve();
  scriptLoading ??= new Promise((resolve, reject) => {
    const tag = document.createElement('script');
    tag.src = src;
    tag.onload = () => (window.Pose ? resolve() : reject(new Error(`${src} did not define window.Pose`)));
    tag.onerror = () => { scriptLoading = null; reject(new Error(`could not load ${src}`)); };
    document.head.appendChild(tag);
  });
  return scriptLoading;
}

// Pixel size of whatever can be sent to pose.send().
function sizeOf(source) {
  if (source instanceof HTMLVideoElement) return [source.videoWidth, source.videoHeight];
  if (source instanceof HTMLImageElement) return [source.naturalWidth, source.naturalHeight];
  return [source.width, source.height];
}

export async function createPoseRunner({ base, modelComplexity = 0, smooth = true } = {}) {
  if (!base) throw new Error('createPoseRunner needs { base }: the URL of @mediapipe/pose\'s folder');
  if (!base.endsWith('/')) base += '/';
  await loadPoseScript(base + 'pose.js');

  const pose = new window.Pose({ locateFile: (file) => base + file });
  pose.setOptions({
    modelComplexity,               // 0 lite (~0.4 s a frame in software WebGL), 1 full, 2 heavy
    // Smoothing steadies the skeleton on video. Its visibility filter (x = 0.1 new + 0.9 old, per
    // frame, not per second) survives `fresh`: for photos pass smooth: false, or each photo's
    // visibilities are mostly the previous one's. Changing it later would rebuild the graph.
    smoothLandmarks: smooth,
    enableSegmentation: false,
    selfieMode: false,             // landmarks in the camera's own view; pages mirror on screen
    minDetectionConfidence: 0.5,
    minTrackingConfidence: 0.5,
  });
  let latest = null;               // onResults fires inside send(), before its promise resolves
  pose.onResults((results) => {
    const lm = results.poseLandmarks;
    latest = lm ? lm.map((p) => [p.x, p.y, p.z, p.visibility ?? 0]) : null;
  });
  await pose.initialize();

  // The legacy API has no static-image mode: it keeps tracking the previous frame's person, so a
  // new photo would get the last one's skeleton. A frame with nobody in it drops the track as
  // pose.reset() does, in one frame's time (0.4-1 s here) instead of a graph rebuild's ~5 s.
  const grey = document.createElement('canvas');
  grey.width = grey.height = 64;
  const gctx = grey.getContext('2d');
  gctx.fillStyle = '#808080';
  gctx.fillRect(0, 0, 64, 64);

  async function run(source, fresh) {
    const [width, height] = sizeOf(source);
    if (!width || !height) return { landmarks: null, width, height };  // video not playing yet
    if (fresh) await pose.send({ image: grey });
    latest = null;
    await pose.send({ image: source });
    return { landmarks: latest, width, height };
  }

  // One frame in the graph at a time: each call waits for the previous one (failed or not).
  let queue = Promise.resolve();
  return {
    detect(source, { fresh = false } = {}) {
      const result = queue.then(() => run(source, fresh));
      queue = result.catch(() => {});
      return result;
    },
    close: () => queue.then(() => pose.close()),
  };
}

// Lines, then joints, for landmarks whose visibility reaches minVisibility; coordinates are
// scaled to width x height (the canvas drawn over the image). Mirror with CSS, as the video is.
export function drawSkeleton(ctx, landmarks, width, height, { color = '#00e676', minVisibility = 0.5 } = {}) {
  if (!landmarks) return;
  const seen = (p) => p && (p[3] ?? 1) >= minVisibility;
  const size = Math.max(2, Math.min(width, height) / 120);
  ctx.save();
  ctx.strokeStyle = ctx.fillStyle = color;
  ctx.lineWidth = size;
  ctx.lineCap = 'round';
  ctx.beginPath();
  for (const [a, b] of CONNECTIONS) {
    const p = landmarks[a], q = landmarks[b];
    if (!seen(p) || !seen(q)) continue;
    ctx.moveTo(p[0] * width, p[1] * height);
    ctx.lineTo(q[0] * width, q[1] * height);
  }
  ctx.stroke();
  for (const p of landmarks) {
    if (!seen(p)) continue;
    ctx.beginPath();
    ctx.arc(p[0] * width, p[1] * height, size * 1.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}
