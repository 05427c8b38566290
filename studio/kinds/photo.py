"""Photo projects: webcam pictures and image files, stored as PNG, framed as a centred square."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.features.pretrained import PretrainedSpec
from studio.kinds.base import Kind
from studio.samples import images


@dataclass(frozen=True)
class ImageKind(Kind):
    """A kind whose samples are pictures (photos, sketches)."""

    teachable_file: bool = True

    def is_sample(self, name: str) -> bool:
        return not name.startswith(".") and images.is_image_name(name)

    def is_input(self, name: str) -> bool:
        return images.is_image_name(name)

    def stored(self, source: Any, name: str | None = None) -> tuple[bytes, str]:
        return images.to_png(images.bounded(images.load(source, name))), ".png"

    def variants(self, augment: bool) -> tuple[str, ...]:
        return ("plain", "mirror") if augment else ("plain",)

    def input_word(self) -> tuple[str, str]:
        return "IMAGE", "my_image.jpg"


PHOTO = ImageKind("photo", "Photos: webcam and image files", "image", "images", "image", PretrainedSpec.kind,
                  camera=True)
