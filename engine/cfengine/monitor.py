"""cf-monitord's observables: ``state/env_data`` now, ``cf_observations.lmdb`` over the week.

``env_data`` holds the classes cf-monitord defined (one name a line) and
``value_X=``, ``av_X=``, ``dev_X=`` lines per observable. ``ts_key`` names the slots
(``index,name,description,unit,…``). ``cf_observations.lmdb`` keeps one record per
five-minute slot of the week (``Thu:Hr09:Min30_35``): an 8-byte time, then per slot
index four doubles (last value, expected value, variance, rate).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from engine.state.lmdbstore import Unreadable, reading

SLOTS = 100  # CF_OBSERVABLES
_QPOINT = 4 * 8


@dataclass(frozen=True, slots=True)
class Reading:
    name: str
    value: float | None
    average: float | None
    deviation: float | None
    classes: tuple[str, ...]
    description: str
    unit: str
    history: tuple[float, ...]  # expected value per recorded slot, oldest first


def read_env_data(path: Path) -> tuple[list[str], dict[str, dict[str, float]]]:
    """(classes, observable -> {"value", "av", "dev"}) in the file's order."""
    classes: list[str] = []
    values: dict[str, dict[str, float]] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return classes, values
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if "=" not in line:
            classes.append(line)
            continue
        key, _, val = line.partition("=")
        for prefix in ("value_", "av_", "dev_"):
            if key.startswith(prefix):
                try:
                    values.setdefault(key[len(prefix):], {})[prefix[:-1]] = float(val)
                except ValueError:
                    pass
                break
    return classes, values


def read_ts_key(path: Path) -> dict[int, tuple[str, str, str]]:
    """Slot index -> (name, description, unit)."""
    out: dict[int, tuple[str, str, str]] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(",")
        if len(parts) >= 4 and parts[0].strip().isdigit():
            out[int(parts[0])] = (parts[1].strip(), parts[2].strip(), parts[3].strip())
    return out


def read_history(path: Path) -> dict[int, list[float]]:
    """Slot index -> the expected value of each recorded five-minute slot, oldest first."""
    rows: list[tuple[float, bytes]] = []
    try:
        with reading(path) as txn:
            if txn is None:
                return {}
            for k, v in txn.cursor():
                val = bytes(v)
                if bytes(k).startswith(b"DATABASE_AGE") or len(val) < 8 + _QPOINT:
                    continue
                (when,) = struct.unpack_from("<q", val)
                rows.append((float(when), val))
    except (Unreadable, OSError):
        return {}
    rows.sort(key=lambda r: r[0])
    out: dict[int, list[float]] = {}
    for _t, val in rows:
        n = min(SLOTS, (len(val) - 8) // _QPOINT)
        for i in range(n):
            _q, expect, _var, _dq = struct.unpack_from("<4d", val, 8 + i * _QPOINT)
            out.setdefault(i, []).append(expect)
    return out


def readings(state: Path) -> list[Reading]:
    """Every observable cf-monitord wrote, with its classes and week history."""
    classes, values = read_env_data(state / "env_data")
    names = read_ts_key(state / "ts_key")
    index = {name: i for i, (name, _d, _u) in names.items()}
    history = read_history(state / "cf_observations.lmdb")
    out = []
    for name, v in values.items():
        i = index.get(name)
        desc, unit = (names[i][1], names[i][2]) if i is not None else ("", "")
        mine = tuple(c for c in classes if c.startswith(name + "_"))
        hist = tuple(history.get(i, ())) if i is not None else ()
        out.append(Reading(name, v.get("value"), v.get("av"), v.get("dev"), mine, desc, unit, hist))
    return out
