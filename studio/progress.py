"""Progress for the command line: on a terminal one bar redrawn in place, as pip and tqdm draw
it; in a log or a pipe, where a redrawn line would arrive as control characters, a few plain lines."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

BAR = 24  # characters of the bar itself
STEP = 25  # percent between two plain lines: 0, 25, 50, 75, 100


class TextProgress:
    """A ``progress(i, n, message)`` callback that draws on ``stream`` (stderr by default); call
    ``close()`` when the work ends, done or not, so that what follows starts on a line of its own."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last: object = None  # what was drawn last: the line, or the plain lines' step
        self.width = 0  # characters on the terminal's line, to blank when a shorter line replaces it

    def __call__(self, i: int, n: int, message: str) -> None:
        pct = max(0, min(100, int(100 * i / max(n, 1))))
        if not self.tty:
            if pct // STEP != self.last:
                self.last = pct // STEP
                print(f"{pct:3d}% {message}", file=self.stream, flush=True)
            return
        filled = BAR * pct // 100
        line = f"[{'#' * filled}{'.' * (BAR - filled)}] {pct:3d}% {message}"
        line = line[:shutil.get_terminal_size().columns - 1]  # a wrapped line cannot be redrawn
        if line != self.last:
            self.last = line
            self.stream.write("\r" + line.ljust(self.width))
            self.stream.flush()
            self.width = len(line)

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0
