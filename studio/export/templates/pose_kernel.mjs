// Pose features from MediaPipe Pose's 33 landmarks, as studio's pose_kernel.py computes them (in
// float64, rounded to float32 at the end): the hips-centred, torso-scaled points times their
// visibility, their depth, the visibilities, joint angles and the torso's direction. Runs in
// Node.js (predict.mjs) and in the browser (the exported pose web page); no dependencies.

export const N_LANDMARKS = 33;
const BODY = [0, ...Array.from({ length: 22 }, (_, i) => 11 + i)];
const PAIRS = [[1, 4], [2, 5], [3, 6], [7, 8], [9, 10],
  ...Array.from({ length: 11 }, (_, i) => [11 + 2 * i, 12 + 2 * i])];
const MIRROR = Array.from({ length: N_LANDMARKS }, (_, i) => i);
for (const [a, b] of PAIRS) [MIRROR[a], MIRROR[b]] = [b, a];
const [L_SHOULDER, R_SHOULDER, L_HIP, R_HIP] = [11, 12, 23, 24];
const JOINTS = [
  [11, 13, 15], [12, 14, 16], [13, 11, 23], [14, 12, 24], [11, 23, 25], [12, 24, 26],
  [23, 25, 27], [24, 26, 28], [25, 27, 31], [26, 28, 32], [25, 23, 26], [13, 11, 14],
];

/** {landmarks (33 rows of [x, y, z, visibility]), width, height} from a pose object or a bare list of rows. */
export function readPose(data) {
  const rows = Array.isArray(data) ? data : data?.landmarks;
  const width = Array.isArray(data) ? 1 : Number(data.width ?? 1);
  const height = Array.isArray(data) ? 1 : Number(data.height ?? 1);
  if (!Array.isArray(rows)) throw new Error('no "landmarks": expected 33 rows of [x, y, z, visibility]');
  const landmarks = rows.map((r) => (Array.isArray(r) && r.length === 3 ? [...r, 1] : r));
  if (landmarks.length !== N_LANDMARKS || !landmarks.every((r) => Array.isArray(r) && r.length === 4)) {
    throw new Error('landmarks must be 33 rows of [x, y, z, visibility]');
  }
  const numbers = [...landmarks.flat(), width, height].map(Number);
  if (!numbers.every(Number.isFinite) || !(width > 0 && height > 0)) {
    throw new Error('landmarks, width and height must be finite numbers, width and height above 0');
  }
  return { landmarks: landmarks.map((r) => r.map(Number)), width, height };
}

/** The pose seen in a mirror: left and right swapped, x flipped. */
export function mirrored(landmarks) {
  return MIRROR.map((i) => [1 - landmarks[i][0], landmarks[i][1], landmarks[i][2], landmarks[i][3]]);
}

function angle(u, v) {
  const nu = Math.hypot(u[0], u[1]), nv = Math.hypot(v[0], v[1]);
  if (nu < 1e-9 || nv < 1e-9) return [1, 0];
  return [(u[0] * v[0] + u[1] * v[1]) / (nu * nv), (u[0] * v[1] - u[1] * v[0]) / (nu * nv)];
}

/** The Float32Array feature vector of one pose (metadata.json's feature_spec as ``spec``). */
export function extractPose({ landmarks, width, height }, spec) {
  const xy = landmarks.map(([x, y]) => [x * width, y * height]);
  const z = landmarks.map((r) => r[2] * width);
  const seen = landmarks.map((r) => Math.min(1, Math.max(0, r[3])));
  const mid = (a, b) => [(xy[a][0] + xy[b][0]) / 2, (xy[a][1] + xy[b][1]) / 2];
  const hips = mid(L_HIP, R_HIP), shoulders = mid(L_SHOULDER, R_SHOULDER);
  const torso = Math.hypot(shoulders[0] - hips[0], shoulders[1] - hips[1]);
  if (torso < 1e-4 * Math.max(width, height)) {
    throw new Error('the pose has no torso to measure (shoulders and hips at one point)');
  }
  const zHips = (z[L_HIP] + z[R_HIP]) / 2;
  const out = [];
  for (const i of BODY) out.push(((xy[i][0] - hips[0]) / torso) * seen[i], ((xy[i][1] - hips[1]) / torso) * seen[i]);
  for (const i of BODY) out.push(spec.depth_weight * ((z[i] - zHips) / torso) * seen[i]);
  for (const i of BODY) out.push(seen[i]);
  for (const [a, b, c] of JOINTS) {
    const [cos, sin] = angle([xy[a][0] - xy[b][0], xy[a][1] - xy[b][1]], [xy[c][0] - xy[b][0], xy[c][1] - xy[b][1]]);
    const conf = Math.min(seen[a], seen[b], seen[c]);
    out.push(cos * conf, sin * conf);
  }
  out.push((shoulders[0] - hips[0]) / torso, (shoulders[1] - hips[1]) / torso);
  return Float32Array.from(out);
}
