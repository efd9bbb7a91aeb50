"""``measurements:`` promises of monitor bundles, sampled by monitord.

The policy is read and each promise expanded in a child process
(:mod:`engine.daemons.monitord.policy`); monitord gets plain :class:`Measurement`
records and, at each sample, reads each one's stream and extracts its value here.

Streams (``stream_type``, default ``pipe``): ``file`` reads the promiser, a path;
``pipe`` runs it as a command (split as ``commands`` promises split, no shell) and
reads its standard output, killed after :data:`PIPE_TIMEOUT` seconds. A file with
``track_growing_file`` is read from where the last sample stopped (from the start
again once it is shorter than that). At most :data:`MAX_BYTES` are read per sample.

Lines: the ``match_value`` body selects them, by ``select_line_number`` (the n-th
line, counting from 1) or by ``select_line_matching`` (every line the regex matches
as a whole). ``extraction_regex`` lifts the value out of a selected line (its first
group, searched anywhere in the line); without it the whole line is the value.

Values, by ``data_type``:

- ``counter``: how many lines were selected;
- ``int``, ``real``: the number extracted. Several selected lines are reduced by
  ``select_multiline_policy``: ``first`` (the default, as the reference's
  ``data_type`` says), ``last``, ``sum`` or ``average``;
- ``string``: the first value; ``slist``: every value.

What becomes of them, by ``history_type``: a number with ``weekly`` is an
observable like the built-in ones (averages, deviations, ``<handle>_high``...
classes); with ``scalar`` or ``static`` (or none) it is a single value with an
average and deviation but no classes; a string or list is kept as it is and
reaches the agent as ``mon.<handle>`` (the reference's ``$(mon.handle)``); ``log``
appends ``<ctime>,<epoch>,<value>`` to ``state/<handle>_measure.log``.

Where cf-monitord 3.21 differs from its reference, vigil follows the reference:
cf-monitord takes the last of several matching lines of an ``int`` (and divides a
``real``'s by their count) without a ``select_multiline_policy``, ignores
``extraction_regex`` on a line chosen by number (its value is then 0), gives no
``mon.<handle>`` to the agent for strings and lists (an Enterprise feature), and
crashes without a ``data_type`` or ``history_type``. As in cf-monitord, a number
that cannot be measured (no stream, no matching line, no number in it) counts as 0.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

PIPE_TIMEOUT = 30.0  # seconds a pipe measurement's command may run
MAX_BYTES = 8 << 20  # read per stream and sample
DATA_TYPES = ("counter", "int", "real", "string", "slist")
HISTORY_TYPES = ("weekly", "scalar", "static", "log")
MULTILINE_POLICIES = ("average", "sum", "first", "last")
_NUMERIC = ("counter", "int", "real")
_BAD_HANDLE_CHARS = frozenset(" \t\r\n=@[]{}'\",")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One expanded ``measurements:`` promise (its attributes, resolved)."""

    handle: str
    promiser: str
    where: str = ""  # file:line of the promise
    stream_type: str = "pipe"
    data_type: str = ""
    history_type: str = "scalar"
    units: str = ""
    comment: str = ""
    argv: tuple[str, ...] = ()  # a pipe's command line, split
    select_line_matching: str | None = None
    select_line_number: int | None = None
    extraction_regex: str | None = None
    track_growing_file: bool = False
    multiline_policy: str = "first"
    ifelapsed: float = 0.0  # minutes: read the stream again only this long after

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k in self.__slots__ for v in (getattr(self, k),)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Measurement:
        """The inverse of :meth:`to_dict`; ValueError or TypeError on a malformed record."""
        def opt_str(k: str) -> str | None:
            v = d.get(k)
            return None if v is None else str(v)

        n = d.get("select_line_number")
        return cls(
            str(d["handle"]), str(d["promiser"]), str(d.get("where", "")),
            str(d.get("stream_type", "pipe")), str(d.get("data_type", "")),
            str(d.get("history_type", "scalar")), str(d.get("units", "")),
            str(d.get("comment", "")), tuple(str(a) for a in d.get("argv", ())),
            opt_str("select_line_matching"), None if n is None else int(n),
            opt_str("extraction_regex"), bool(d.get("track_growing_file", False)),
            str(d.get("multiline_policy", "first")), float(d.get("ifelapsed", 0.0)),
        )

    @property
    def kind(self) -> str:
        """``weekly``, ``scalar``, ``log``, ``string`` or ``slist``: what the value becomes."""
        if self.history_type == "log":
            return "log"
        if self.data_type in _NUMERIC:
            return "weekly" if self.history_type == "weekly" else "scalar"
        return self.data_type

    @property
    def description(self) -> str:
        return self.comment or "User defined measure"

    def problems(self) -> list[str]:
        """Why this promise cannot be kept (empty: it can)."""
        out: list[str] = []
        p = self.promiser
        if not self.handle:
            return ["The promised measurement has no handle to register it by"]
        bad = sorted(set(self.handle) & _BAD_HANDLE_CHARS)
        if bad:
            out.append(f"The handle '{self.handle}' of a measurement cannot name a variable "
                       f"(it contains {' '.join(repr(c) for c in bad)})")
        if not os.path.isabs(p):
            out.append(f"The promiser '{p}' of a measurement was not an absolute path")
        if self.stream_type not in ("file", "pipe"):
            out.append(f"The promiser '{p}' has an unknown stream_type '{self.stream_type}'")
        if not self.data_type:
            out.append(f"The promiser '{p}' did not specify a data type")
        elif self.data_type not in DATA_TYPES:
            out.append(f"The promiser '{p}' has an unknown data_type '{self.data_type}'")
        elif self.history_type == "weekly" and self.data_type == "slist":
            out.append(f"The promiser '{p}' cannot have history type weekly as it is not a number")
        if self.history_type not in HISTORY_TYPES:
            out.append(f"The promiser '{p}' has an unknown history_type '{self.history_type}'")
        if self.multiline_policy not in MULTILINE_POLICIES:
            out.append(f"The promiser '{p}' has an unknown select_multiline_policy "
                       f"'{self.multiline_policy}'")
        if self.select_line_matching is not None and self.select_line_number is not None:
            out.append(f"The promiser '{p}' cannot select both a line by pattern and by number")
        if self.select_line_number is not None and self.select_line_number < 1:
            out.append(f"The promiser '{p}' selects line {self.select_line_number}; "
                       "lines are counted from 1")
        out.extend(_regex_problems("select_line_matching", self.select_line_matching))
        rx = self.extraction_regex
        if rx is not None:
            if "(" not in rx and ")" not in rx:
                out.append("The extraction_regex must contain a single backreference "
                           "for the extraction")
            else:
                out.extend(_regex_problems("extraction_regex", rx))
        return out


def _regex_problems(lval: str, pattern: str | None) -> list[str]:
    if pattern is None:
        return []
    from engine.cfregex import RegexError, compile

    try:
        compile(pattern)
    except RegexError as e:
        return [f"{lval}: {e}"]
    return []


@dataclass
class Results:
    """What one sample of the measurements gave, by what it becomes."""

    weekly: dict[str, float] = field(default_factory=dict)
    scalars: dict[str, tuple[float, str, str]] = field(default_factory=dict)  # value, units, desc
    symbols: dict[str, str | list[str]] = field(default_factory=dict)


class Positions(Protocol):
    """Where growing files were read up to (``MonitorStore`` provides it)."""

    def position(self, handle: str, path: str) -> int: ...

    def set_position(self, handle: str, path: str, offset: int) -> None: ...


class Failed(Exception):
    """A measurement that could not be taken this time (the message says why)."""


class Measurer:
    """Takes the policy's measurements, sample after sample.

    Keeps what ``ifelapsed`` needs: the last time each stream was read and its
    lines, reused (as cf-monitord does) until the promise's ``ifelapsed`` minutes
    have passed; a ``log`` measurement logs nothing meanwhile."""

    def __init__(self, state: Path, error: Callable[[str], None],
                 info: Callable[[str], None] | None = None) -> None:
        self.state = state
        self.error = error
        self.info = info or (lambda _m: None)
        self._read: dict[tuple[str, str], tuple[float, list[str]]] = {}

    def forget(self, keep: set[tuple[str, str]]) -> None:
        for k in [k for k in self._read if k not in keep]:
            del self._read[k]

    def run(self, ms: list[Measurement], positions: Positions, now: float | None = None,
            taken: Mapping[str, float] | None = None) -> Results:
        """Measure each of ``ms`` (already checked); ``taken`` are the names the
        built-in observables use, which a weekly measurement cannot take."""
        now = time.time() if now is None else now
        out = Results()
        seen: set[str] = set()
        for m in ms:
            if m.handle in seen:
                self.error(f"{m.where}: a second measurement is named '{m.handle}'; "
                           "only the first is taken")
                continue
            seen.add(m.handle)
            if taken and m.kind == "weekly" and m.handle in taken:
                self.error(f"{m.where}: measurement '{m.handle}' has the name of a built-in "
                           "observable; it is not taken")
                continue
            try:
                self._one(m, positions, now, out)
            except Exception as e:  # noqa: BLE001 - one measurement must not stop the others
                self.error(f"{m.where}: measurement '{m.handle}' failed: "
                           f"{type(e).__name__}: {e}")
        self.forget({(m.handle, m.promiser) for m in ms})
        return out

    def _one(self, m: Measurement, positions: Positions, now: float, out: Results) -> None:
        kind = m.kind
        try:
            lines = self._lines(m, positions, now)
            if lines is None:  # not due again (ifelapsed): a log logs nothing meanwhile
                return
            if kind in ("weekly", "scalar"):
                value = numeric_value(m, lines)
            else:
                symbolic = symbolic_value(m, lines)
        except Failed as e:
            self.error(f"{m.where}: measurement '{m.handle}': {e}")
            if kind == "weekly":
                out.weekly[m.handle] = 0.0
            elif kind == "scalar":
                out.scalars[m.handle] = (0.0, m.units, m.description)
            return
        if kind == "weekly":
            out.weekly[m.handle] = value
        elif kind == "scalar":
            out.scalars[m.handle] = (value, m.units, m.description)
        elif kind == "log":
            self._log(m, symbolic, now)
        else:
            out.symbols[m.handle] = symbolic

    def _lines(self, m: Measurement, positions: Positions, now: float) -> list[str] | None:
        key = (m.handle, m.promiser)
        last = self._read.get(key)
        if last is not None and m.ifelapsed > 0 and now - last[0] < m.ifelapsed * 60:
            return None if m.kind == "log" else last[1]
        try:
            lines = read_file(m, positions) if m.stream_type == "file" else read_pipe(m)
        except Failed:
            if m.ifelapsed > 0:
                self._read[key] = (now, [])
            raise
        if m.ifelapsed > 0:
            self._read[key] = (now, lines)
        return lines

    def _log(self, m: Measurement, value: str | list[str], now: float) -> None:
        text = ",".join(value) if isinstance(value, list) else value
        path = self.state / f"{m.handle}_measure.log"
        line = f"{time.ctime(now)},{int(now)},{text}\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                         | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
        except OSError as e:
            self.error(f"{m.where}: Unable to open the output log '{path}': {e.strerror}")
            return
        try:
            os.write(fd, line.encode("utf-8", "surrogateescape"))
        except OSError as e:
            self.error(f"{m.where}: Unable to write the output log '{path}': {e.strerror}")
        finally:
            os.close(fd)


# -- streams --------------------------------------------------------------------------


def _split(data: bytes) -> list[str]:
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_file(m: Measurement, positions: Positions) -> list[str]:
    """The lines of a file stream (from the saved position when it is growing).
    Only a regular file is read: a FIFO or a device never blocks monitord."""
    import stat

    try:
        fd = os.open(m.promiser, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise Failed(f"Unable to find stream '{m.promiser}' ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Failed(f"Stream '{m.promiser}' is not a regular file")
        start = 0
        if m.track_growing_file:
            start = positions.position(m.handle, m.promiser)
            if start > st.st_size:  # truncated or replaced since: from the start again
                start = 0
        os.lseek(fd, start, os.SEEK_SET)
        chunks: list[bytes] = []
        size = 0
        while size < MAX_BYTES:
            b = os.read(fd, min(1 << 16, MAX_BYTES - size))
            if not b:
                break
            chunks.append(b)
            size += len(b)
        data = b"".join(chunks)
        if size >= MAX_BYTES and m.track_growing_file:
            # stop at a line's end: the rest is read by the next sample
            cut = data.rfind(b"\n") + 1
            if cut:
                data = data[:cut]
        if m.track_growing_file:
            positions.set_position(m.handle, m.promiser, start + len(data))
        return _split(data)
    except OSError as e:
        raise Failed(f"Unable to read stream '{m.promiser}' ({e.strerror})") from None
    finally:
        os.close(fd)


def read_pipe(m: Measurement) -> list[str]:
    """The output lines of a pipe stream's command (its standard output only)."""
    argv = list(m.argv)
    if not argv or not os.path.isabs(argv[0]) or not os.access(argv[0], os.X_OK) \
            or os.path.isdir(argv[0]):
        raise Failed(f"'{m.promiser}' promises to be executable but isn't")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                close_fds=True)
    except OSError as e:
        raise Failed(f"Couldn't run command '{m.promiser}' ({e.strerror})") from None
    try:
        data, _ = proc.communicate(timeout=PIPE_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise Failed(f"Command '{m.promiser}' ran longer than {PIPE_TIMEOUT:g} s; "
                     "it was killed") from None
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    return _split(data[:MAX_BYTES])


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.communicate(timeout=5)
    except (subprocess.TimeoutExpired, OSError, ValueError):
        pass


# -- values ---------------------------------------------------------------------------


def selected_lines(m: Measurement, lines: list[str]) -> list[str]:
    if m.select_line_number is not None:
        n = m.select_line_number
        return [lines[n - 1]] if 0 < n <= len(lines) else []
    if m.select_line_matching is None:
        return []
    from engine.cfregex import compile

    rx = compile(m.select_line_matching)
    out = []
    for line in lines:
        hit = rx.match(line)
        if hit is not None and hit.end() == len(line):
            out.append(line)
    return out


def extracted(m: Measurement, line: str) -> str | None:
    """The value in a selected line: ``extraction_regex``'s first group (the whole
    match when it has no group), or the line itself without one; None: no match."""
    if m.extraction_regex is None:
        return line
    from engine.cfregex import compile

    rx = compile(m.extraction_regex)
    hit = rx.search(line)
    if hit is None:
        return None
    value = hit.group(1) if rx.groups else hit.group(0)
    return None if value is None else str(value)


def _no_line(m: Measurement) -> Failed:
    how = (f"line {m.select_line_number}" if m.select_line_number is not None
           else f"a line matching '{m.select_line_matching}'" if m.select_line_matching
           is not None else "a line (no select_line_matching or select_line_number)")
    return Failed(f"could not locate {how} in '{m.promiser}'")


def numeric_value(m: Measurement, lines: list[str]) -> float:
    chosen = selected_lines(m, lines)
    if not chosen:
        raise _no_line(m)
    if m.data_type == "counter":
        return float(len(chosen))
    policy = m.multiline_policy
    if policy == "first":
        chosen = chosen[:1]
    elif policy == "last":
        chosen = chosen[-1:]
    values = [_number(m, line) for line in chosen]
    total = sum(values)
    return total / len(values) if policy == "average" else total


def _number(m: Measurement, line: str) -> float:
    text = extracted(m, line)
    try:
        x = float(text.strip()) if text is not None else math.nan
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise Failed(f"unable to extract a number from the matched line '{line}'")
    return x


def symbolic_value(m: Measurement, lines: list[str]) -> str | list[str]:
    """A string, list or log measurement's value (a log's number as text)."""
    chosen = selected_lines(m, lines)
    if not chosen:
        raise _no_line(m)
    if m.data_type == "counter":
        return str(len(chosen))
    values = [v for v in (extracted(m, line) for line in chosen) if v is not None]
    if not values:
        raise Failed(f"extraction_regex '{m.extraction_regex}' found nothing in the "
                     "matched lines")
    if m.data_type == "slist":
        return values
    return values[0]
