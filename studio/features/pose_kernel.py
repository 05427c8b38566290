"""Pose features from MediaPipe's 33 body landmarks: pure numpy, copied verbatim into the exported
scripts, so studio, predict.py and predict_skops.py compute the same numbers (predict.mjs and the
exported web page compute them in JavaScript, ``export/templates/pose_kernel.mjs``, to match).

A pose is 33 rows of (x, y, z, visibility): x and y are MediaPipe's coordinates normalised to the
frame's width and height, z its depth on about the scale of x, visibility in [0, 1]. The features
describe the body, not where it stands or how large it is in the frame: points centred on the hips
and divided by the torso's length, joint angles, and how visible each point is.
"""

from __future__ import annotations

import json

import numpy as np

N_LANDMARKS = 33
BODY = (0, *range(11, 33))  # the nose and the body; eyes, ears and mouth add noise, not pose
# MediaPipe's left/right landmark pairs: a mirrored pose swaps them
PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), *((i, i + 1) for i in range(11, 33, 2)))
MIRROR = list(range(N_LANDMARKS))
for _a, _b in PAIRS:
    MIRROR[_a], MIRROR[_b] = _b, _a
L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 11, 12, 23, 24
# joint angles (a, b, c): the angle at b between the limbs to a and to c
JOINTS = (
    (11, 13, 15), (12, 14, 16),  # elbows
    (13, 11, 23), (14, 12, 24),  # shoulders (arm against torso)
    (11, 23, 25), (12, 24, 26),  # hips (torso against thigh)
    (23, 25, 27), (24, 26, 28),  # knees
    (25, 27, 31), (26, 28, 32),  # ankles
    (25, 23, 26), (13, 11, 14),  # legs apart; arms apart (as a triangle at the left hip / shoulder)
)


def read_pose(data):
    """(landmarks (33, 4) float64, width, height) from a pose dict ({"landmarks": 33 rows of
    [x, y, z, visibility], "width": W, "height": H}; width and height optional: a square frame), or
    from a bare list of 33 rows; ValueError saying what is wrong."""
    if isinstance(data, (bytes, str)):
        data = json.loads(data)
    if isinstance(data, dict):
        rows, width, height = data.get("landmarks"), data.get("width", 1), data.get("height", 1)
    else:
        rows, width, height = data, 1, 1
    if rows is None:
        raise ValueError('no "landmarks": expected 33 rows of [x, y, z, visibility]')
    try:
        lm = np.asarray(rows, dtype=np.float64)
        width, height = float(width), float(height)
    except (TypeError, ValueError):
        raise ValueError("landmarks must be 33 rows of 4 numbers [x, y, z, visibility]") from None
    if lm.ndim == 2 and lm.shape[1] == 3:  # no visibility given: every point counts as seen
        lm = np.hstack([lm, np.ones((len(lm), 1))])
    if lm.shape != (N_LANDMARKS, 4):
        raise ValueError(f"landmarks must be 33 rows of [x, y, z, visibility]; got shape {lm.shape}")
    if not (np.isfinite(lm).all() and np.isfinite([width, height]).all() and width > 0 and height > 0):
        raise ValueError("landmarks, width and height must be finite numbers, width and height above 0")
    return lm, width, height


def mirrored(landmarks):
    """The pose seen in a mirror: left and right swapped, x flipped."""
    out = np.asarray(landmarks, dtype=np.float64)[MIRROR].copy()
    out[:, 0] = 1.0 - out[:, 0]
    return out


def _angle(u, v):
    """cos and sin of the signed angle from u to v (2-D)."""
    nu, nv = np.hypot(*u), np.hypot(*v)
    if nu < 1e-9 or nv < 1e-9:
        return 1.0, 0.0
    return float((u[0] * v[0] + u[1] * v[1]) / (nu * nv)), float((u[0] * v[1] - u[1] * v[0]) / (nu * nv))


def extract_pose(landmarks, width, height, spec):
    """The float32 feature vector of one pose; ValueError if the torso cannot be measured."""
    lm = np.asarray(landmarks, dtype=np.float64)
    xy = lm[:, :2] * np.array([width, height])  # pixels: x and y on one scale whatever the frame's shape
    z = lm[:, 2] * width
    seen = np.clip(lm[:, 3], 0.0, 1.0)
    hips = (xy[L_HIP] + xy[R_HIP]) / 2
    shoulders = (xy[L_SHOULDER] + xy[R_SHOULDER]) / 2
    torso = float(np.hypot(*(shoulders - hips)))
    if torso < 1e-4 * max(width, height):
        raise ValueError("the pose has no torso to measure (shoulders and hips at one point)")
    rel = (xy - hips) / torso
    depth = (z - (z[L_HIP] + z[R_HIP]) / 2) / torso
    body = list(BODY)
    w = seen[body]
    parts = [(rel[body] * w[:, None]).ravel(), spec["depth_weight"] * depth[body] * w, w]
    for a, b, c in JOINTS:
        cos, sin = _angle(xy[a] - xy[b], xy[c] - xy[b])
        conf = min(seen[a], seen[b], seen[c])
        parts.append(np.array([cos * conf, sin * conf]))
    up = (shoulders - hips) / torso  # which way the torso leans: upright, bent over, lying
    parts.append(up)
    return np.concatenate(parts).astype(np.float32)


def extract_pose_json(data, spec):
    """The feature vector of a pose dict or list (see ``read_pose``)."""
    lm, width, height = read_pose(data)
    return extract_pose(lm, width, height, spec)
