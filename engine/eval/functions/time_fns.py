"""Time functions: now, ago, accumulated, on, laterthan, strftime.

cf-agent hands ``on()``'s month and day straight to ``mktime`` as ``tm_mon`` and
``tm_mday - 1``: ``on(2020, 2, 29, ...)`` is 2020-03-30. We do the same.
"""

from __future__ import annotations

import time

from engine.eval.functions._util import need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function

_YEAR, _MONTH, _DAY, _HOUR, _MIN = 365 * 86400, 30 * 86400, 86400, 3600, 60


def _six(fn: str, args: tuple[str, ...]) -> list[int]:
    return [need_int(fn, a) for a in args]


def _mktime(y: int, mon0: int, mday: int, h: int, mi: int, s: int) -> int:
    """``mktime`` with C's normalisation: ``mon0`` counts from 0 and may overflow."""
    y += mon0 // 12
    mon0 %= 12
    return int(time.mktime((y, mon0 + 1, mday, h, mi, s, 0, 0, -1)))


@function("now", "int", 0, 0)
def now(env: FnEnv) -> str:
    """now(): the current time in seconds since the epoch."""
    return str(int(time.time()))


@function("accumulated", "int", 6, 6)
def accumulated(env: FnEnv, *args: str) -> str:
    """accumulated(years, months, days, hours, minutes, seconds): a duration in
    seconds (a year is 365 days, a month 30)."""
    y, mo, d, h, mi, s = _six("accumulated", args)
    return str(y * _YEAR + mo * _MONTH + d * _DAY + h * _HOUR + mi * _MIN + s)


@function("ago", "int", 6, 6)
def ago(env: FnEnv, *args: str) -> str:
    """ago(years, months, days, hours, minutes, seconds): that long before now, in
    epoch seconds (calendar arithmetic in local time)."""
    y, mo, d, h, mi, s = _six("ago", args)
    t = time.localtime()
    r = _mktime(t.tm_year - y, t.tm_mon - 1 - mo, t.tm_mday - d, t.tm_hour - h, t.tm_min - mi, t.tm_sec - s)
    return str(max(r, 0))


def _on(fn: str, args: tuple[str, ...]) -> int:
    y, mo, d, h, mi, s = _six(fn, args)
    return _mktime(y, mo, d + 1, h, mi, s)


@function("on", "int", 6, 6)
def on(env: FnEnv, *args: str) -> str:
    """on(year, month, day, hour, minute, second): that local time in epoch seconds."""
    return str(_on("on", args))


@function("laterthan", "class", 6, 6)
def laterthan(env: FnEnv, *args: str) -> bool:
    """laterthan(year, month, day, hour, minute, second): true when now is after that time."""
    return time.time() > _on("laterthan", args)


@function("strftime", "string", 3, 3)
def strftime(env: FnEnv, mode: str, template: str, when: str) -> str:
    """strftime(mode, template, time): ``time`` formatted by C's strftime in
    ``localtime`` or ``gmtime``."""
    t = need_int("strftime", when)
    if mode == "gmtime":
        tm = time.gmtime(t)
    elif mode == "localtime":
        tm = time.localtime(t)
    else:
        raise FunctionError(f"Function 'strftime': mode must be 'localtime' or 'gmtime', not '{mode}'")
    return time.strftime(template, tm)
