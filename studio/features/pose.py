"""The pose feature kind: body landmarks, centred and scaled, with joint angles (``pose_kernel``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.errors import BadPose, StudioError
from studio.features import pose_kernel
from studio.features.spec import FeatureSpec
from studio.samples import poses

TEMPLATES = Path(__file__).resolve().parent.parent / "export" / "templates"
KERNEL_JS = "pose_kernel.mjs"  # the JavaScript twin of pose_kernel.py, for predict.mjs and the web page


@dataclass(frozen=True)
class LandmarksSpec(FeatureSpec):
    """What a pose project trains on: MediaPipe Pose's landmarks, as ``pose_kernel`` describes them."""

    kind = "landmarks"
    title = "Body landmarks: joint positions and angles"
    medium = "pose"
    kernel = pose_kernel
    head = "mlp"  # Teachable Machine's dense layer; measured 0.969 / 0.980 against logistic regression's 0.942 / 0.959
    depth_weight: float = 0.5  # MediaPipe's depth guesses are rougher than x and y: they count for less

    @classmethod
    def from_settings(cls, size: int, color: bool, framing: str) -> LandmarksSpec:
        """Landmarks take no image size or colour."""
        return cls()

    @classmethod
    def from_fields(cls, data):
        spec = super().from_fields(data)
        return cls(depth_weight=float(spec.depth_weight))

    def checked(self):
        if not 0 <= self.depth_weight <= 1:
            raise ValueError("Landmark features need a depth weight from 0 to 1.")
        return self

    def decode(self, source: Any, name: str | None = None) -> poses.Pose:
        return poses.load(source, name)

    def vector(self, decoded: poses.Pose, variant: str = "plain") -> np.ndarray:
        lm = pose_kernel.mirrored(decoded.landmarks) if variant == "mirror" else decoded.landmarks
        return pose_kernel.extract_pose(lm, decoded.width, decoded.height, self.json)

    def blank(self) -> poses.Pose:
        lm = np.zeros((pose_kernel.N_LANDMARKS, 4), np.float32)
        lm[[pose_kernel.L_SHOULDER, pose_kernel.R_SHOULDER], 1] = 0.3
        lm[[pose_kernel.L_HIP, pose_kernel.R_HIP], 1] = 0.6
        return poses.Pose(lm, 1, 1)

    def unreadable(self, message: str) -> StudioError:
        return BadPose(message)

    def needs(self) -> list[str]:
        return ["numpy"]

    def describe(self) -> list[str]:
        return [
            "read the pose: 33 MediaPipe Pose landmarks [x, y, z, visibility], x and y normalised to the "
            "frame's width W and height H (JSON: {\"landmarks\": [...], \"width\": W, \"height\": H})",
            "to pixels: x*W, y*H, z*W; visibility clipped to [0, 1]",
            "centre on the hips (the mean of landmarks 23 and 24) and divide by the torso's length (from that "
            "centre to the mean of the shoulders, 11 and 12)",
            f"for the nose and landmarks 11-32: x and y times visibility, then z (relative to the hips) times "
            f"visibility times {self.depth_weight:g}, then the visibilities",
            "for each joint of pose_kernel.JOINTS: cos and sin of the signed angle between its two limbs, "
            "times the smallest visibility of its three points",
            "append the torso's direction (shoulder centre minus hip centre, divided by its length); float32",
        ]

    def node_files(self) -> dict[str, bytes]:
        return {KERNEL_JS: (TEMPLATES / KERNEL_JS).read_bytes()}

    def metadata(self) -> dict[str, Any]:
        return {"input": "MediaPipe Pose landmarks (33 x [x, y, z, visibility]) as JSON",
                "landmark_model": "@mediapipe/pose 0.5.1675469404, pose_landmark_lite"}
