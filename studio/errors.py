"""Domain errors, raised in the core and translated at the edges (CLI, UI)."""

import errno

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # a full disk, or the user's quota on it


class StudioError(Exception):
    """A mistake the user can fix; the message says what was wrong and what to do."""


class NotFound(StudioError):
    """A project, class, sample or model that does not exist."""


class InvalidName(StudioError):
    """A project or class name that cannot be used."""


class Conflict(StudioError):
    """A name already taken, or an action that would overwrite something."""


class BadSample(StudioError):
    """Input that cannot be decoded as a sample of its kind, or is unsafe to decode: every
    handler of unreadable samples (import, training, prediction, the CLI) catches this."""


class BadImage(BadSample):
    """Input that cannot be decoded as an image, or is unsafe to decode."""


class TooLarge(BadImage):
    """An image with more pixels than studio decodes (a decompression bomb, say)."""


class BadSound(BadSample):
    """Input that cannot be decoded as a sound clip."""


class BadPose(BadSample):
    """Pose landmarks that cannot be read or measured."""


class PhotoWithoutPose(BadPose):
    """A picture given where a pose is expected: studio finds poses only in the browser."""

    reason = "a picture without pose landmarks (photos go through the pose page, which finds the pose in them)"

    def __init__(self, name: str):
        super().__init__(f"{name} is {self.reason}.")


class TrainingError(StudioError):
    """Training data that cannot produce a model."""


class UnsafeFile(StudioError):
    """A model or archive studio refuses to open without explicit trust."""


class UntrustedModel(UnsafeFile):
    """A project model this installation did not sign (copied from elsewhere, or trained before studio
    signed its models): loading it would run whatever code its pickle holds."""


class DiskFull(StudioError):
    """A write that found no space left on its disk: what was being written was removed, so the
    folder holds what it held before (or, for a batch, the samples stored before the disk filled)."""

    def __init__(self, where: object, done: str = ""):
        super().__init__(
            f"The disk holding {where} is full (No space left on device){done}; nothing half-written was left "
            "there. Free some space on that disk (old exports, projects you no longer need) or move the folder "
            "to a disk with room (--captures / STUDIO_CAPTURES, --out / STUDIO_EXPORTS), then try again.")


def disk_full(e: BaseException) -> bool:
    """Whether ``e`` is the operating system's "No space left on device" (or "Disk quota exceeded")."""
    return isinstance(e, OSError) and e.errno in NO_SPACE
