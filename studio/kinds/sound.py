"""Sound projects: 1 s clips from the microphone or sound files, stored as 16 kHz WAV; long
recordings are split into clips, and a background-noise class keeps its quiet parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.errors import BadSound
from studio.features.speech import SpeechSpec
from studio.kinds.base import DEFAULT_CLASSES, Kind
from studio.samples import sounds

BACKGROUND = "Background noise"  # a sound project's first class, as in Teachable Machine
LONG = 1.5 * sounds.CLIP_SECONDS  # an uploaded file longer than this is split into clips


@dataclass(frozen=True)
class SoundKind(Kind):
    def is_sample(self, name: str) -> bool:
        return not name.startswith(".") and name.lower().endswith(sounds.SAMPLE_SUFFIX)

    def is_input(self, name: str) -> bool:
        return sounds.is_sound_name(name)

    def stored(self, source: Any, name: str | None = None) -> tuple[bytes, str]:
        clip = sounds.checked_clip(sounds.load(source, name), name or "the clip")
        return sounds.to_wav(clip), sounds.SAMPLE_SUFFIX

    def uploaded(self, source: Any, name: str, label: str) -> list[tuple[bytes, str]]:
        clip = sounds.load(source, name)
        if clip.seconds > LONG:
            return self.recording(clip, name, label, sounds.CLIP_SECONDS, None)
        return [self.stored(clip, name)]

    def recording(self, source: Any, name: str | None, label: str, seconds: float,
                  skip_silence: bool | None) -> list[tuple[bytes, str]]:
        """Clips of ``seconds``: one around each sound, or (``skip_silence`` False, and by default
        for a background-noise class) consecutive ones, quiet parts included."""
        keep_all = self.keeps_silence(label) if skip_silence is None else not skip_silence
        clips = sounds.split(sounds.load(source, name), seconds, not keep_all)
        if not clips:
            raise BadSound(f"{name or 'The recording'} holds no sound louder than its background; to keep all "
                           "of it (e.g. for background noise), split it without skipping silence.")
        return [(sounds.to_wav(c), sounds.SAMPLE_SUFFIX) for c in clips]

    def variants(self, augment: bool) -> tuple[str, ...]:
        return ("plain", *sounds.SPEEDS) if augment else ("plain",)

    def input_word(self) -> tuple[str, str]:
        return "SOUND.wav", "my_sound.wav"

    def node_packages(self, pinned: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in pinned.items() if k != "sharp"}  # predict.mjs reads WAV files itself

    def export_names(self, labels: list[str]) -> dict[str, Any]:
        return {"wordLabels": labels}

    @staticmethod
    def keeps_silence(label: str) -> bool:
        """Whether a long recording for class ``label`` is cut into consecutive clips, quiet parts
        included (background noise), rather than one clip around each sound."""
        return label.casefold().startswith("background")


SOUND = SoundKind("sound", "Sounds: microphone and audio files", "clip", "clips", "sound", SpeechSpec.kind,
                  page="/sound", default_classes=(BACKGROUND, DEFAULT_CLASSES[1]),
                  copies="a slower and a faster copy of each clip")
