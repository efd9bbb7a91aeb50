"""Small text helpers every layer may import: CFEngine's canonify.

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
