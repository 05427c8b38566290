"""Pose projects: body poses found by MediaPipe Pose in the browser (webcam or photos on the pose
page), or imported as landmark JSON; stored as the frame with its landmarks (``samples.poses``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.features.pose import LandmarksSpec
from studio.kinds.base import EXPORT_FORMATS, Kind
from studio.samples import images, poses


@dataclass(frozen=True)
class PoseKind(Kind):
    def is_sample(self, name: str) -> bool:
        return not name.startswith(".") and name.lower().endswith(poses.SUFFIX)

    def is_input(self, name: str) -> bool:
        # photos too, so that each is named with why it is not taken (their poses are found on the page)
        return poses.is_input(name) or images.is_image_name(name)

    def claims(self, head: bytes) -> bool:
        return poses.marked(head)

    def stored(self, source: Any, name: str | None = None) -> tuple[bytes, str]:
        label = name or "the pose"
        return poses.to_png(poses.check(poses.load(source, label), label)), poses.SUFFIX

    def variants(self, augment: bool) -> tuple[str, ...]:
        return ("plain", "mirror") if augment else ("plain",)

    def input_word(self) -> tuple[str, str]:
        return "POSE.json", "my_pose.json"

    def node_packages(self, pinned: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in pinned.items() if k != "sharp"}  # predict.mjs reads landmark JSON itself


POSE = PoseKind("pose", "Poses: body poses from the webcam", "pose", "poses", "pose", LandmarksSpec.kind,
                page="/pose", copies="a mirrored copy of each pose (left and right swapped)",
                export_formats=(*EXPORT_FORMATS, "web"))
