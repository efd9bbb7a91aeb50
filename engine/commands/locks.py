"""``vigil locks``: list promise locks, or clear them.

    vigil locks [-w WD] [--json] [--watch] [--cfengine [WD]]
    vigil locks clear ID | --older-than DURATION | --all [--yes]

A lock keeps a promise from running again before its ``ifelapsed`` has passed
(``last.<id>``) or while another agent runs it (``lock.<id>``). Clearing one
lets the next run verify that promise at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from engine.commands.common import (
    add_workdir_arguments,
    checked_workdir,
    clock,
    confirm,
    format_table,
    parse_duration,
    raw_output,
)
from engine.text import duration

if TYPE_CHECKING:
    from engine.inspect import LockSnapshot

# -- the command ----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workdir_arguments(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--watch", action="store_true", help="refresh every 2 seconds until Ctrl-C")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    clear = sub.add_parser("clear", help="forget locks so their promises run at the next run",
                           description="Delete last.*/lock.* entries of the lock database.")
    add_workdir_arguments(clear, suppress=True)
    what = clear.add_mutually_exclusive_group(required=True)
    what.add_argument("id", nargs="?", help="a lock id (or a unique prefix of one)")
    what.add_argument("--older-than", type=parse_duration, metavar="DURATION",
                      help="entries whose time is older than DURATION (90m, 2h, 7d, 4w)")
    what.add_argument("--all", action="store_true", help="every lock entry")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    clear.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print the deleted keys as JSON")


def run(args: argparse.Namespace) -> int:
    raw_output()
    if getattr(args, "action", None) == "clear":
        return _clear(args)
    from engine import inspect

    wd = checked_workdir(args)
    if wd is None:
        return 2
    if args.watch:
        try:
            while True:
                snap = inspect.locks(wd)
                sys.stdout.write("\x1b[H\x1b[2J" + _render(snap) + "\n")
                sys.stdout.flush()
                time.sleep(2)
        except KeyboardInterrupt:
            return 0
    snap = inspect.locks(wd)
    if args.json:
        print(json.dumps(asdict(snap), indent=1))
    else:
        print(_render(snap))
    return 0 if snap.healthy else 1


def _render(snap: LockSnapshot) -> str:
    now = time.time()
    head = f"{snap.db_path}: {len(snap.locks)} locks, {snap.db_size_bytes} bytes"
    if not snap.healthy:
        return f"{head}\nerror: the lock database cannot be read: {snap.error}"
    if not snap.locks:
        return f"{head}\nno locks"
    if snap.rules_note:
        head += f"\nnote: ifelapsed is unknown for every lock: {snap.rules_note}"
    rows = []
    for lk in snap.locks:
        if lk.kind == "lock" and lk.holder_gone:
            state = f"stale (PID {lk.holder_pid} is gone)"
            when = "released by the next run"
        elif lk.kind == "lock":
            state = f"running (PID {lk.holder_pid})"
            when = f"expires in {duration(lk.expires_in_seconds)}"
        elif lk.ready_in_seconds is None:
            state = "unknown"
            when = lk.note
        elif lk.ready_in_seconds > 0:
            state = "locked"
            when = f"ready in {duration(lk.ready_in_seconds)}"
        else:
            state = "ready"
            when = ""
        where = f"{lk.file}:{lk.line}" if lk.file else ""
        rows.append([_short(lk.bundle, 30), lk.promise_type, _short(lk.promiser, 40), state,
                     clock(lk.last_done, now),
                     f"{lk.ifelapsed_min}m" if lk.ifelapsed_min is not None else "unknown",
                     when, where, lk.id])
    table = format_table(
        ["BUNDLE", "TYPE", "PROMISER", "STATE", "LAST DONE", "IFELAPSED", "NEXT", "WHERE", "ID"],
        rows,
    )
    return f"{head}\n{table}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _clear(args: argparse.Namespace) -> int:
    from engine import inspect
    from engine.log import LineLogger
    from engine.state.locks import LockDB, split_lock_key

    wd = checked_workdir(args)
    if wd is None:
        return 2
    if not wd.lock_db.exists():
        print(f"no lock database at {wd.lock_db}", file=sys.stderr)
        return 1
    if args.all:
        what = "every lock entry"
        ids = None
    elif args.older_than is not None:
        what = f"lock entries older than {duration(args.older_than)}"
        ids = None
    else:
        wanted = split_lock_key(args.id)[1] if split_lock_key(args.id)[0] else args.id
        known = [lk.id for lk in inspect.locks(wd).locks]
        ids = [i for i in known if i == wanted] or [i for i in known if i.startswith(wanted)]
        if not ids:
            print(f"no lock with id {wanted!r} in {wd.lock_db}", file=sys.stderr)
            return 1
        if len(ids) > 1:
            print(f"{len(ids)} locks start with {wanted!r}; give more of the id:", file=sys.stderr)
            for i in ids[:10]:
                print(f"  {i}", file=sys.stderr)
            return 1
        what = f"the lock {ids[0]}"
    ok = confirm(f"Clear {what} in {wd.lock_db}?", args.yes)
    if ok is None:
        print("refusing to clear locks without confirmation: stdin is not a terminal; "
              "add --yes to clear them", file=sys.stderr)
        return 2
    if not ok:
        print("nothing cleared")
        return 1
    import lmdb

    log = LineLogger(stream=sys.stderr)
    try:
        db = LockDB.open(wd.lock_db, log=log, purge=False)
        try:
            if args.all:
                deleted = db.clear_all()
            elif args.older_than is not None:
                deleted = db.clear_older_than(args.older_than)
            else:
                assert ids is not None
                deleted = db.clear(ids[0])
            db.sync()
        finally:
            db.close()
    except (lmdb.Error, OSError) as exc:  # a full disk, a file of the wrong type
        print(f"error: could not clear locks in {wd.lock_db}: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps({"deleted": deleted}))
    else:
        print(f"cleared {len(deleted)} entr{'y' if len(deleted) == 1 else 'ies'}")
    return 0

