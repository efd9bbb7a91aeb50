"""Small text helpers every layer may import: CFEngine's canonify, durations.

This module imports nothing of the project, so ``engine.state``, ``engine.eval``,
``engine.promises``, the daemons and the console can all use the one definition.
"""

from __future__ import annotations

# byte -> itself for [A-Za-z0-9_], else "_"
_CANON = bytes(
    c if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 95) else 95
    for c in range(256)
)


def canonify(text: str) -> str:
    """CFEngine's canonify: every byte of the UTF-8 encoding of ``text`` that is not
    ``[A-Za-z0-9_]`` becomes ``_``, so ``"é-x"`` (``c3 a9 2d 78``) is ``"___x"``.

    cf-agent 3.21 names classes (``classes:`` promisers, module ``+name`` lines,
    hard classes), module contexts and promise locks this way, and its
    ``canonify()`` function returns the same (``tests/engine/test_text.py``).
    Undecodable bytes kept as surrogates (``surrogateescape``) count as the bytes
    they stand for.
    """
    return text.encode("utf-8", "surrogateescape").translate(_CANON).decode("ascii")


DASH = "—"  # what a duration that is not known reads as


def duration(seconds: float | None, *, precise: bool = False) -> str:
    """The one way vigil writes a span of time, in the CLI, the console and messages.

    ``3d 2h``, ``4h 5m``, ``4m 10s``, ``42s``; with ``precise`` one unit more,
    zero-padded: ``3d 02h 05m``, ``22h 57m 03s``, ``4m 10s``. Negative values count
    as 0, fractions of a second are dropped, None is ``—``.
    """
    if seconds is None:
        return DASH
    s = max(0, int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if precise:
        if d:
            return f"{d}d {h:02d}h {m:02d}m"
        if h:
            return f"{h}h {m:02d}m {sec:02d}s"
        if m:
            return f"{m}m {sec:02d}s"
        return f"{sec}s"
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    if m:
        return f"{m}m {sec}s"
    return f"{sec}s"


def run_time(seconds: float | None) -> str:
    """How long a run took: ``0.41 s`` and ``12.3 s`` under a minute (runs are
    short, the fraction matters), then :func:`duration` with ``precise``."""
    if seconds is None:
        return DASH
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return duration(seconds, precise=True)
