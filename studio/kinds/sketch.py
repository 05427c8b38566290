"""Sketch projects: drawings from the sketch pad, framed by their ink so size and place do not matter."""

from __future__ import annotations

from studio.features.pretrained import PretrainedSpec
from studio.kinds.photo import ImageKind

SKETCH = ImageKind("sketch", "Sketches: a drawing pad", "image", "images", "image", PretrainedSpec.kind,
                   page="/sketch", framing="sketch")
