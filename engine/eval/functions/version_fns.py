"""Version checks against the CFEngine version vigil is compatible with:
cf_version_at, cf_version_after, cf_version_before, cf_version_between,
cf_version_maximum, cf_version_minimum.

The version compared is ``sys.cf_version`` (``engine.eval.hardclasses.CF_VERSION``).
A version argument is read as C's ``sscanf("%d.%d.%d")`` reads it: blanks before a
number and a sign are allowed, reading stops at the first part that does not fit,
and only the parts read are compared ("3" is every 3.x.y, "3.21-1" is 3.21). An
argument with no number at its start fails the call.
"""

from __future__ import annotations

import re

from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.hardclasses import CF_VERSION

_NUMBER = re.compile(r"\s*([-+]?\d+)")


def parse_version(text: str) -> tuple[int, ...]:
    """Up to three leading ``.``-separated integers; () when there is none."""
    parts: list[int] = []
    pos = 0
    while len(parts) < 3:
        if parts:
            if not text.startswith(".", pos):
                break
            pos += 1
        m = _NUMBER.match(text, pos)
        if m is None:
            break
        parts.append(int(m.group(1)))
        pos = m.end()
    return tuple(parts)


def _compare(fn: str, text: str, which: str = "") -> int:
    """-1, 0 or 1 as vigil's version is before, at or after ``text``'s parts."""
    wanted = parse_version(text)
    if not wanted:
        raise FunctionError(f"{fn}: Format of {which}version comparison string '{text}' is incorrect")
    mine = CF_VERSION[: len(wanted)]
    return (mine > wanted) - (mine < wanted)


@function("cf_version_at", "class", 1, 1)
def cf_version_at(env: FnEnv, version: str) -> bool:
    """cf_version_at(version): the running version matches every part given."""
    return _compare("cf_version_at", version) == 0


@function("cf_version_after", "class", 1, 1)
def cf_version_after(env: FnEnv, version: str) -> bool:
    """cf_version_after(version): the running version is newer than the parts given."""
    return _compare("cf_version_after", version) > 0


@function("cf_version_before", "class", 1, 1)
def cf_version_before(env: FnEnv, version: str) -> bool:
    """cf_version_before(version): the running version is older than the parts given."""
    return _compare("cf_version_before", version) < 0


@function("cf_version_maximum", "class", 1, 1)
def cf_version_maximum(env: FnEnv, version: str) -> bool:
    """cf_version_maximum(version): the running version is at most ``version``."""
    return _compare("cf_version_maximum", version) <= 0


@function("cf_version_minimum", "class", 1, 1)
def cf_version_minimum(env: FnEnv, version: str) -> bool:
    """cf_version_minimum(version): the running version is at least ``version``."""
    return _compare("cf_version_minimum", version) >= 0


@function("cf_version_between", "class", 2, 2)
def cf_version_between(env: FnEnv, lower: str, upper: str) -> bool:
    """cf_version_between(lower, upper): the running version is in the range, both
    ends included."""
    low = _compare("cf_version_between", lower, "lower ")
    high = _compare("cf_version_between", upper, "upper ")
    return low >= 0 and high <= 0
