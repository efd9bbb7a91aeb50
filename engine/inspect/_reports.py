"""Run reports by path, cached (a report never changes once written)."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

from engine.state.runs import RunReport, load_report

_CACHE: OrderedDict[tuple[str, int, int], RunReport] = OrderedDict()
_SIZE = 8


def cached_report(path: Path) -> RunReport | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = (os.fspath(path), st.st_mtime_ns, st.st_size)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    try:
        report = load_report(path)
    except (OSError, ValueError, TypeError):
        return None
    _CACHE[key] = report
    while len(_CACHE) > _SIZE:
        _CACHE.popitem(last=False)
    return report
