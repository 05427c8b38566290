"""One browser's webcam stream, headless: un-mirrors frames, stores them while a class's "Hold
to record" button is held and one frame per "Snapshot" click, and measures frames per second.

The page calls ``Webcam.frame`` for every frame it receives; tests drive it without a browser,
as ``sounds.Recorder`` serves the microphone.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from studio.errors import StudioError
from studio.kinds import Kind
from studio.samples.store import Project, new_capture


@dataclass(frozen=True)
class Captured:
    """What one frame did. ``event``: None (nothing stored or finished), "recording" (stored
    while held; ``count`` so far this hold), "saved" (the hold ended after ``count`` frames),
    "snapshot" (one frame stored) or "failed" (``error`` says why nothing was stored)."""

    frame: np.ndarray  # as the user sees it (un-mirrored when Mirror is off)
    event: str | None = None
    label: str = ""
    count: int = 0
    error: str = ""

    @property
    def stored(self) -> bool:
        """Whether a class's samples changed for good (a card's count should be redrawn)."""
        return self.event in ("saved", "snapshot")


def snapshot_token(folder: str, click: int) -> str:
    """The value the page sends for a Snapshot click: a class folder and the click's time."""
    return json.dumps({"folder": folder, "click": click})


class Webcam:
    """The recording state of one browser's stream; holds no project, only what it recorded."""

    def __init__(self, window: int = 30):
        self._times: deque[float] = deque(maxlen=window)
        self._snap = ""  # the last Snapshot click served (one frame per click)
        self._hold: tuple[str, int] | None = None  # (label, frames stored) while a button is held
        self._capture = ""  # the capture (hold) the frames being recorded belong to

    @property
    def fps(self) -> float:
        """Frames per second over the last ``window`` frames."""
        t = self._times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def frame(self, project: Project | None, frame: np.ndarray, mirror: bool = True, hold: str = "",
              snap: str = "") -> Captured:
        """Take one frame: ``mirror`` False flips it back to the camera's own view; ``hold`` is the
        class folder whose button is held (or ""); ``snap`` the latest Snapshot token (or "")."""
        if not mirror:  # the browser sends the mirror image the preview shows
            frame = np.ascontiguousarray(frame[:, ::-1])
        self._times.append(time.time())
        own = project.kind if project is not None else None
        records = own is not None and own.camera
        if records and snap and snap != self._snap:
            self._snap = snap  # the first frame after the click
            folder = _folder_of(snap)
            return self._store(project, own, folder, frame, "snapshot") if folder else Captured(frame)
        if records and hold:
            if self._hold is None:  # a new hold: a new capture
                self._capture = new_capture()
            done = self._store(project, own, hold, frame, "recording", self._capture)
            if done.event == "recording":
                n = self._hold[1] + 1 if self._hold and self._hold[0] == done.label else 1
                self._hold = (done.label, n)
                return Captured(frame, "recording", done.label, n)
            return done
        if not hold and self._hold:  # the button was released
            label, n = self._hold
            self._hold = None
            return Captured(frame, "saved", label, n)
        return Captured(frame)

    @staticmethod
    def _store(project: Project, own: Kind, folder: str, frame: np.ndarray, event: str,
               capture: str = "") -> Captured:
        try:
            info = project.class_in(folder, count=False)
            project.add_file(info, *own.stored(frame), capture)
        except (StudioError, OSError) as e:  # the class was deleted, the disk is full
            return Captured(frame, "failed", error=str(e))
        return Captured(frame, event, info.label, 1)


def _folder_of(token: str) -> str:
    """The class folder of a Snapshot token ("" if it is not one)."""
    try:
        folder = json.loads(token).get("folder")
    except (ValueError, AttributeError):
        return ""
    return folder if isinstance(folder, str) else ""
