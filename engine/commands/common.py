"""What the state commands (locks, classes, runs, status, key) share: the workdir
options, tables and the confirmation prompt (durations: :mod:`engine.text`)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from engine.workdir import Workdir

CFENGINE_WORKDIR = "/var/lib/cfengine3"


def add_workdir_arguments(p: argparse.ArgumentParser, suppress: bool = False) -> None:
    default = argparse.SUPPRESS if suppress else None
    p.add_argument("-w", "--workdir", default=default,
                   help="workdir (default: $VIGIL_WORKDIR or the system one)")
    p.add_argument("--cfengine", nargs="?", const=CFENGINE_WORKDIR, default=default,
                   metavar="WD", help=f"read a CFEngine workdir instead (default {CFENGINE_WORKDIR})")


def raw_output() -> None:
    """Print bytes that are not UTF-8 (kept as surrogates in promisers and outputs)
    as the bytes they were, as cf-agent does, instead of failing on them."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "") == "strict":
            reconfigure(errors="surrogateescape")


def workdir_from(args: argparse.Namespace) -> Workdir:
    cf = getattr(args, "cfengine", None)
    if cf:
        return Workdir(Path(cf).absolute(), cfengine=True)
    return Workdir.resolve(getattr(args, "workdir", None))


def checked_workdir(args: argparse.Namespace) -> Workdir | None:
    """The workdir to read; None (after an error naming the path) when a ``-w`` or
    ``--cfengine`` given explicitly is not a workdir. The default one may be new."""
    from engine.inspect import workdir_problem

    wd = workdir_from(args)
    explicit = bool(getattr(args, "cfengine", None) or getattr(args, "workdir", None))
    problem = workdir_problem(wd) if explicit else None
    if problem:
        print(f"vigil {getattr(args, 'command', '')}: error: {problem}".replace("vigil : ", "vigil: "),
              file=sys.stderr)
        return None
    return wd


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                 right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; ``right`` lists right-aligned columns."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            row[i].rjust(widths[i]) if i in right else row[i].ljust(widths[i])
            for i in range(len(headers))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def clock(t: float | None, now: float | None = None) -> str:
    """Local time of day, with the date when it is not today."""
    if t is None:
        return "-"
    lt = time.localtime(t)
    today = time.localtime(time.time() if now is None else now)
    if (lt.tm_year, lt.tm_yday) == (today.tm_year, today.tm_yday):
        return time.strftime("%H:%M:%S", lt)
    return time.strftime("%Y-%m-%d %H:%M:%S", lt)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"10m"``, ``"2h30m"``, ``"7d"``, ``"4w"``; a bare number is seconds."""
    text = text.strip().lower()
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise argparse.ArgumentTypeError(
            f"bad duration {text!r}: use a number with s, m, h, d or w, e.g. 90m or 2h30m"
        )
    return total


def confirm(question: str, assume_yes: bool) -> bool | None:
    """True/False from the user; None when stdin is not a terminal and --yes
    was not given (the caller refuses)."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
