"""Stick figures as MediaPipe Pose landmarks, for tests that need poses without a browser: a
standing body whose arms and legs are set by angle, placed anywhere in a frame of any shape."""

from __future__ import annotations

import math

import numpy as np

# (joint, parent, length in torso lengths) for the limbs; angles in degrees from straight down,
# positive towards the figure's left (the image's right, as MediaPipe's "left" is the person's)
LIMBS = {"upper_arm": 0.55, "forearm": 0.5, "thigh": 0.8, "shin": 0.75}


def figure(left_arm: float = 10, right_arm: float = 10, left_leg: float = 5, right_leg: float = 5,
           centre: tuple[float, float] = (0.5, 0.55), torso: float = 0.25, width: int = 640, height: int = 480,
           visibility: float = 0.99, lean: float = 0.0) -> dict:
    """A pose dict ({"landmarks", "width", "height"}) of a figure with its hips at ``centre``
    (normalised), a torso ``torso`` of the frame's height long, arms and legs at the given angles,
    the whole body turned by ``lean`` degrees."""
    px = np.zeros((33, 2))
    t = torso * height
    hips = np.array([0.0, 0.0])
    px[23], px[24] = hips + [0.18 * t, 0], hips - [0.18 * t, 0]  # left hip on the image's right
    px[11], px[12] = hips + [0.3 * t, -t], hips - [0.3 * t, t]
    px[0] = hips + [0, -1.35 * t]
    for i, (dx, dy) in zip(range(1, 11), [(.05, -.05), (.08, -.06), (.11, -.05), (-.05, -.05), (-.08, -.06),
                                           (-.11, -.05), (.16, 0), (-.16, 0), (.05, .1), (-.05, .1)]):
        px[i] = px[0] + np.array([dx, dy]) * t

    def limb(start: np.ndarray, degrees: float, length: float) -> np.ndarray:
        a = math.radians(degrees)
        return start + length * t * np.array([math.sin(a), math.cos(a)])

    for side, arm, leg in ((0, left_arm, left_leg), (1, -right_arm, -right_leg)):
        shoulder, hip = px[11 + side], px[23 + side]
        elbow = px[13 + side] = limb(shoulder, arm, LIMBS["upper_arm"])
        wrist = px[15 + side] = limb(elbow, arm, LIMBS["forearm"])
        for j in (17, 19, 21):
            px[j + side] = limb(wrist, arm, 0.1)
        knee = px[25 + side] = limb(hip, leg, LIMBS["thigh"])
        ankle = px[27 + side] = limb(knee, leg, LIMBS["shin"])
        px[29 + side] = ankle + [0, 0.05 * t]
        px[31 + side] = ankle + [(0.15 if side == 0 else -0.15) * t, 0.06 * t]
    a = math.radians(lean)
    px = px @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    lm = np.zeros((33, 4))
    lm[:, 0] = centre[0] + px[:, 0] / width
    lm[:, 1] = centre[1] + px[:, 1] / height
    lm[:, 2] = 0.3 * px[:, 1] / width  # depth on the scale of x, as MediaPipe gives it; the same both sides
    lm[:, 3] = visibility
    return {"landmarks": lm.round(6).tolist(), "width": width, "height": height}


def jitter(pose: dict, rng: np.random.Generator, sd: float = 0.004) -> dict:
    """``pose`` with every landmark moved a little, as one frame differs from the next."""
    lm = np.asarray(pose["landmarks"], dtype=float)
    lm[:, :2] += rng.normal(0, sd, (33, 2))
    return {**pose, "landmarks": lm.round(6).tolist()}


# poses a class can hold: arms down, arms up, a T, the left arm up only
POSES = {"down": {}, "up": {"left_arm": 170, "right_arm": 170}, "T": {"left_arm": 90, "right_arm": 90},
         "left up": {"left_arm": 170}}
