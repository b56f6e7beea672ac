"""A progress bar for the command lines, on stderr, where scripts do not read."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``label [#####.....]  45%  12.3 of 27.4 MB``, redrawn at most ten times a second.

    Off (draws nothing) unless ``enabled``: the command lines turn it on when stderr is a
    terminal, or on request, so that logs captured from a pipe do not fill with redraws."""

    WIDTH = 30

    def __init__(self, label: str, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._drawn_at = 0.0
        self._drawn: tuple[int, int] | None = None

    def update(self, done: int, total: int) -> None:
        if not self.enabled or self._drawn == (done, total):
            return
        now = time.monotonic()
        if done < total and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        share = done / total if total > 0 else 1.0
        filled = round(share * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        amounts = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB"
        self.stream.write(f"\r{self.label} [{bar}] {share:4.0%}  {amounts}")
        self.stream.flush()
        self._drawn = (done, total)

    def finish(self) -> None:
        if self._drawn is not None:
            self.stream.write("\n")
            self.stream.flush()
