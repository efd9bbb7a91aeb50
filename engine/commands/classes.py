"""``vigil classes``: hard, soft, persistent and negated classes.

    vigil classes [-w WD] [--persistent] [--json] [REGEX]

Hard classes are discovered now; soft and negated ones come from the newest
run report; persistent ones from ``state/cf_state.lmdb``. ``REGEX`` must match
the whole class name, as in ``cf-promises --show-classes``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from engine.commands.common import (
    add_workdir_arguments,
    checked_workdir,
    format_table,
    raw_output,
)
from engine.text import duration

if TYPE_CHECKING:
    from engine.inspect import PersistentClassInfo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workdir_arguments(parser)
    parser.add_argument("--persistent", action="store_true", help="only persistent classes")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("regex", nargs="?", help="show only classes whose whole name matches")


def run(args: argparse.Namespace) -> int:
    from engine import inspect

    raw_output()

    try:
        rx = re.compile(args.regex) if args.regex else None
    except re.error as exc:
        print(f"bad regular expression {args.regex!r}: {exc}", file=sys.stderr)
        return 2

    def keep(name: str) -> bool:
        return rx is None or rx.fullmatch(name) is not None

    wd = checked_workdir(args)
    if wd is None:
        return 2
    now = time.time()
    problem = inspect.state_health(wd).get(wd.state_db.name)
    if problem:  # the persistent classes cannot be read: say so rather than show none
        print(f"warning: persistent classes unavailable: {problem}", file=sys.stderr)
    persistent = [p for p in inspect.persistent_classes(wd, now) if keep(p.name)]
    if args.persistent:
        if args.json:
            print(json.dumps([asdict(p) for p in persistent], indent=1))
        else:
            print(_persistent_table(persistent) if persistent else "no persistent classes")
        return 0
    snap = inspect.classes(wd, now)
    hard = [c for c in snap.hard if keep(c)]
    soft = [c for c in snap.soft if keep(c)]
    negated = [c for c in snap.negated if keep(c)]
    if args.json:
        print(json.dumps({
            "hard": hard, "soft": soft, "negated": negated,
            "persistent": [asdict(p) for p in persistent], "run_id": snap.run_id,
        }, indent=1))
        return 0
    rows: list[list[object]] = [[c, "hard", ""] for c in hard]
    source = f"run {snap.run_id}" if snap.run_id else ""
    rows += [[c, "soft", source] for c in soft]
    rows += [[p.name, "persistent", f"{duration(p.remaining_seconds)} left, {p.policy}"
              + (f", tags {','.join(p.tags)}" if p.tags else "")] for p in persistent]
    rows += [[c, "negated", "-N"] for c in negated]
    if not rows:
        print("no classes match" if rx else "no classes")
        return 0
    print(format_table(["CLASS", "KIND", "NOTE"], rows))
    return 0


def _persistent_table(items: Sequence[PersistentClassInfo]) -> str:
    rows = [
        [p.name, duration(p.remaining_seconds),
         time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p.expires)), p.policy,
         ",".join(p.tags)]
        for p in items
    ]
    return format_table(["CLASS", "LEFT", "EXPIRES", "POLICY", "TAGS"], rows, right=(1,))
