"""cf-agent style log lines: level names right-aligned to 8 characters plus ``: ``.

``R: text`` report lines go to stdout unprefixed by level. The agent never
prints directly; it writes through a :class:`LineLogger`, which the CLI points
at stdout and the console at its log pane.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from enum import IntEnum

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import TextIO


class Level(IntEnum):
    ERROR = 0
    WARNING = 1
    NOTICE = 2
    INFO = 3
    VERBOSE = 4
    DEBUG = 5


_NAMES = {
    Level.ERROR: "error",
    Level.WARNING: "warning",
    Level.NOTICE: "notice",
    Level.INFO: "info",
    Level.VERBOSE: "verbose",
    Level.DEBUG: "debug",
}


_INFO = Level.INFO
_VERBOSE = Level.VERBOSE


def format_line(level: Level, msg: str) -> str:
    """``format_line(Level.INFO, "x")`` -> ``"    info: x"``."""
    return f"{_NAMES[level]:>8}: {msg}"


class LineLogger:
    """Writes lines at or below ``threshold``; errors and warnings always pass."""

    def __init__(
        self,
        threshold: Level = Level.NOTICE,
        stream: TextIO | None = None,
        timestamps: bool = False,
        sink: Callable[[str], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.stream = stream if stream is not None else sys.stdout
        self.timestamps = timestamps
        self.sink = sink
        self.lines_written = 0

    def _emit(self, line: str) -> None:
        if self.timestamps:
            line = time.strftime("%Y-%m-%dT%H:%M:%S%z ") + line
        self.lines_written += 1
        if self.sink is not None:
            self.sink(line)
            return
        self.stream.write(line + "\n")

    def log(self, level: Level, msg: str) -> None:
        if level <= self.threshold:
            self._emit(format_line(level, msg))

    def enabled(self, level: Level) -> bool:
        return level <= self.threshold

    def critical(self, msg: str) -> None:
        """``CRITICAL: msg``, always shown (cf-agent's level above error)."""
        self._emit(f"CRITICAL: {msg}")

    def error(self, msg: str) -> None:
        self.log(Level.ERROR, msg)

    def warning(self, msg: str) -> None:
        self.log(Level.WARNING, msg)

    def notice(self, msg: str) -> None:
        self.log(Level.NOTICE, msg)

    def info(self, msg: str) -> None:
        if self.threshold >= _INFO:  # self.log(), without a call for lines not shown
            self._emit(format_line(_INFO, msg))

    def verbose(self, msg: str) -> None:
        if self.threshold >= _VERBOSE:
            self._emit(format_line(_VERBOSE, msg))

    def debug(self, msg: str) -> None:
        self.log(Level.DEBUG, msg)

    def report(self, text: str) -> None:
        self._emit(f"R: {text}")

    def output(self, text: str) -> None:
        """Lines written as they are, without a level or a time stamp (what cf-agent
        prints itself, such as ``--simulate``'s manifest)."""
        if self.sink is None:
            self.stream.write(text)
            return
        for line in text.splitlines():
            self.sink(line)

    def flush(self) -> None:
        if self.sink is None:
            self.stream.flush()
