"""Turning numbers and times into the short words the console shows.

Every state is spelled out (a glyph *and* a word), never conveyed by colour alone.
"""

from __future__ import annotations

import re
import time

# durations are written the engine's way (engine.text), the same in the CLI
from engine.inspect import DASH as DASH
from engine.inspect import duration as duration
from engine.inspect import run_time as run_time

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"

# Daemon state -> (glyph, word). The word is what matters; the glyph is a hint.
STATE_GLYPHS: dict[str, tuple[str, str]] = {
    "running": ("●", "running"),
    "stopped": ("✗", "stopped"),
    "stale": ("!", "stale pid"),
    "stale_pidfile": ("!", "stale pid"),
    "starting": ("◐", "starting"),
    "unknown": ("?", "unknown"),
}

SKIP_WORDS: dict[str, str] = {
    "guard_false": "class guard false",
    "if_false": "if is false",
    "unless_true": "unless is true",
    "unresolved": "unresolved variable",
    "locked": "locked",
    "already_running": "already running",
    "dry_run": "dry run",
    "depends_on": "depends_on not met",
}

OUTCOME_WORDS: dict[str, str] = {
    "kept": "kept",
    "repaired": "repaired",
    "notkept": "not kept",
    "denied": "denied",
    "timeout": "timed out",
    "skipped": "skipped",
}


def state_label(state: str) -> str:
    """``"running"`` -> ``"● running"``."""
    glyph, word = STATE_GLYPHS.get(state, ("?", state or "unknown"))
    return f"{glyph} {word}"


def size(n: float | None) -> str:
    """Bytes in decimal units, as ``ps`` users read them: ``21.4 MB``."""
    if n is None:
        return DASH
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop always returns


def percent(p: float | None) -> str:
    return DASH if p is None else f"{p:.1f} %"


def clock_time(t: float | None, now: float | None = None) -> str:
    """``12:05:07`` for today, ``Nov 20 12:05`` for another day (local time)."""
    if t is None:
        return DASH
    lt = time.localtime(t)
    if now is not None and time.localtime(now)[:3] != lt[:3]:
        return time.strftime("%b %d %H:%M", lt)
    return time.strftime("%H:%M:%S", lt)


def day_time(t: float | None) -> str:
    """``2026-11-20 12:05`` (always with the date)."""
    if t is None:
        return DASH
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def sparkline(values: list[float], width: int) -> str:
    """The last ``width`` values as block characters, scaled between their min and max."""
    if not values or width <= 0:
        return ""
    tail = values[-width:]
    hi = max(tail)
    if hi == min(tail):
        return SPARK_BLOCKS[3] * len(tail)  # steady: a flat line in the middle
    # at least 20 % of the peak: a 100 kB wobble on 20 MB stays a flat line
    span = max(hi - min(tail), abs(hi) * 0.2)
    lo = hi - span
    if span <= 0:
        return SPARK_BLOCKS[0] * len(tail)
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - lo) / span * top)] for v in tail)


_ELAPSED = re.compile(r"^(\d+)/(\d+) minutes elapsed$")


def skip_words(reason: str | None, detail: str = "") -> str:
    """A skip reason in words, with its detail.

    The agent's lock detail ``0/60 minutes elapsed`` reads as
    ``locked: ran 0 min before, ifelapsed 60 min``.
    """
    if not reason:
        return detail
    m = _ELAPSED.match(detail.strip()) if reason == "locked" else None
    if m:
        return f"locked: ran {m.group(1)} min before, ifelapsed {m.group(2)} min"
    words = SKIP_WORDS.get(reason, reason.replace("_", " "))
    return f"{words}: {detail}" if detail else words


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome)


def countdown(seconds: float | None) -> str:
    """What the locks table shows under "may run in": ``ready`` or ``59m 41s``."""
    if seconds is None:
        return DASH
    if seconds <= 0:
        return "ready"
    return duration(seconds, precise=True)
