"""``vigil console`` — open the operations console (imports Textual only here)."""

from __future__ import annotations

import argparse

from engine.workdir import Workdir


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Open the operations console: daemons, classes, locks, runs, keys and monitor. "
        "Without -w it opens the default workdir, preparing it on a fresh machine."
    )
    p.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system default)")
    p.add_argument("--readonly", action="store_true",
                   help="look only: every action (start, stop, clear, accept, K) is disabled")
    p.add_argument("--cfengine", nargs="?", const="/var/lib/cfengine3", default=None,
                   metavar="WORKDIR",
                   help="attach to a CFEngine installation (default /var/lib/cfengine3); "
                   "K runs cf-agent -KI")
    p.add_argument("--refresh", type=float, default=None, metavar="SECONDS",
                   help="refresh interval (default: console.refresh_seconds, else 2)")


def run(args: argparse.Namespace) -> int:
    import sys

    from tui.data.bootstrap import choose_workdir

    wd = choose_workdir(args.workdir, args.cfengine)
    try:
        notes = prepare(wd, readonly=args.readonly)
    except OSError as exc:
        print(f"vigil console: cannot prepare {wd.root}: {exc}", file=sys.stderr)
        return 1
    if wd.cfengine or args.workdir:  # an explicit path must be a workdir (-w may be new)
        from engine.inspect import workdir_problem

        problem = workdir_problem(wd) if wd.cfengine or wd.root.exists() else None
        if problem:
            print(f"vigil console: error: {problem}", file=sys.stderr)
            return 2

    from tui.app import VigilConsole

    VigilConsole(wd, readonly=args.readonly, refresh_seconds=args.refresh, notes=notes).run()
    return 0


def prepare(wd: Workdir, readonly: bool = False) -> list[str]:
    """Create the layout and seed the policy; returns what was done, in words.

    A CFEngine workdir and a read-only console are never written to.
    """
    if wd.cfengine or readonly:
        return []
    done: list[str] = []
    if not wd.root.exists():
        done.append(f"created {wd.root}")
    wd.ensure()
    if not wd.promises_cf.exists():
        from engine.seed import seed_workdir

        written = seed_workdir(wd)
        if written:
            done.append(f"seeded {wd.inputs} with the shipped policy ({len(written)} files)")
    return done
