"""Writing run report files, without the record classes of :mod:`engine.state.runs`.

The agent writes its report at the end of every run, so this module imports
nothing but ``json``, ``os`` and :mod:`engine.atomicwrite`: it takes the report as plain values (a header
dict and one list per promise, in :data:`RECORD_FIELDS` order) and writes the
same bytes :meth:`engine.state.runs.RunReport.to_json` gives. Files are written
to a temporary name, fsynced and renamed, so a reader never sees half a report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from engine.atomicwrite import write_atomic

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

SCHEMA = 1
# PromiseRecord's fields, in order (engine.state.runs checks that they agree)
RECORD_FIELDS = (
    "bundle", "promise_type", "promiser", "file", "line", "col", "outcome", "skip_reason",
    "detail", "lock_id", "ifelapsed", "expireafter", "handle",
)
# RunReport's scalar fields, in order: the header of the file
HEADER_FIELDS = (
    "id", "start", "end", "pid", "policy_file", "policy_hash", "flags", "started_by",
    "exit_code", "interrupted", "policy_error", "counts", "output_file",
)


def report_name(start: float, pid: int) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(start)) + f"-{pid}"


def report_json(header: dict[str, Any], classes: list[str], negated: list[str],
                rows: Sequence[Sequence[Any]]) -> str:
    """The report as compact JSON: ``schema``, the header fields (in
    :data:`HEADER_FIELDS` order), ``promise_fields`` and then the long lists, so
    a reader can stop at ``promise_fields``."""
    d: dict[str, Any] = {"schema": SCHEMA}
    for k in HEADER_FIELDS:
        d[k] = header[k]
    d["promise_fields"] = list(RECORD_FIELDS)
    d["classes"] = classes
    d["negated"] = negated
    d["promises"] = rows
    return escape_surrogates(json.dumps(d, separators=(",", ":"), ensure_ascii=False))


def escape_surrogates(text: str) -> str:
    """JSON text with every lone surrogate written as a ``\\uXXXX`` escape.

    Bytes that are not UTF-8 (a Latin-1 ``\\xe9`` in a command's output) reach
    the agent as the surrogates ``surrogateescape`` decodes them to (U+DCE9);
    those cannot be encoded as UTF-8. Escaped, the file stays valid UTF-8 JSON
    and ``json.loads`` gives back the very same string, so no byte is lost.
    Surrogates only ever stand inside JSON strings, where an escape is valid."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def write_report_file(runs_dir: str | os.PathLike[str], report_id: str, text: str) -> Path:
    """Write ``<runs_dir>/<report_id>.json`` atomically."""
    d = Path(runs_dir)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = d / f"{report_id}.json"
    # a leftover temp file, or a FIFO someone put there, is never opened (O_EXCL)
    write_atomic(dest, text.encode("utf-8"), 0o600)
    return dest


def list_reports(runs_dir: str | os.PathLike[str], limit: int | None = None) -> list[Path]:
    """Report files, newest first (names sort by start time, then pid). Only
    regular files count: a directory or FIFO named like a report is left out
    (see :func:`odd_entries`)."""
    try:
        names = [e.name for e in os.scandir(runs_dir)
                 if e.name.endswith(".json") and not e.name.startswith(".")
                 and e.is_file(follow_symlinks=False)]
    except OSError:  # missing, not a directory, not ours to read: no reports to show
        return []
    names.sort(reverse=True)
    if limit is not None:
        names = names[:limit]
    return [Path(runs_dir) / n for n in names]


def odd_entries(runs_dir: str | os.PathLike[str]) -> list[str]:
    """Why each ``*.json`` entry that is not a regular file is left out, e.g.
    ``".../runs/x.json is a FIFO, not a regular file"``, or why the directory
    cannot be listed."""
    from engine.state._filetype import WrongFileType, kind

    out = []
    try:
        for e in os.scandir(runs_dir):
            if (e.name.endswith(".json") and not e.name.startswith(".")
                    and not e.is_file(follow_symlinks=False)):
                with contextlib.suppress(OSError):
                    out.append(str(WrongFileType(e.path, kind(e.stat(follow_symlinks=False).st_mode))))
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"{os.fspath(runs_dir)}: {exc.strerror}"]
    return sorted(out)


def open_report(path: str | os.PathLike[str]) -> int:
    """A descriptor on a report file; a FIFO, directory or symbolic link in its
    place raises ``OSError`` (``WrongFileType``) instead of blocking or being followed."""
    from engine.state._filetype import open_regular

    return open_regular(path, follow=False)


def prune(runs_dir: str | os.PathLike[str], keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest reports; returns the deleted paths."""
    doomed = list_reports(runs_dir)[max(0, keep):]
    for p in doomed:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return doomed
