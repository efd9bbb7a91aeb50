"""``vigil up|down|restart [DAEMON...]`` (``vigil status`` is engine.commands.status).

``up`` starts each daemon detached (all of execd, serverd and monitord by
default) and reports the ones that failed, with the tail of their log, while
still starting the others. ``down`` stops them and waits; any process left
behind is reported and the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys

from engine.workdir import DAEMONS, Workdir

MULTI = True


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system one)")
    parser.add_argument(
        "daemons", nargs="*", metavar="DAEMON", help=f"any of {', '.join(DAEMONS)} (default: all)"
    )


def run(args: argparse.Namespace) -> int:
    wd = Workdir.resolve(args.workdir)
    from engine.daemons.supervise import supervisor

    try:
        names = supervisor.names(args.daemons)
    except ValueError as e:
        print(f"vigil {args.command}: {e}", file=sys.stderr)
        return 2
    wd.ensure()
    rc = 0
    if args.command in ("down", "restart"):
        rc |= _down(wd, names)
    if args.command in ("up", "restart"):
        rc |= _up(wd, names)
    return rc


def _prepare(wd: Workdir, names: list[str]) -> None:
    """First start: seed the shipped policy and make the host key serverd needs."""
    from engine.seed import seed_workdir

    for path in seed_workdir(wd):
        print(f"seeded {path} from the shipped policy")
    if "serverd" in names:
        from engine.trust import keys

        if not keys.local_key_exists(wd.ppkeys):
            print(f"created host key {keys.generate(wd.ppkeys)}")


def _up(wd: Workdir, names: list[str]) -> int:
    from engine.daemons.supervise import supervisor

    _prepare(wd, names)
    rc = 0
    for d in names:
        r = supervisor.start(wd.root, d)
        if r.ok:
            print(f"{d}: {r.message}")
        else:
            print(f"{d}: failed: {r.message}", file=sys.stderr)
            rc = 1
    return rc


def _down(wd: Workdir, names: list[str]) -> int:
    from engine.daemons import config
    from engine.daemons.supervise import supervisor

    grace = config.load(wd.root).grace_seconds
    rc = 0
    for d in names:
        r = supervisor.stop(wd.root, d, supervisor.stop_timeout(d, grace))
        if r.ok:
            print(f"{d}: {r.message}")
        else:
            print(f"{d}: {r.message}", file=sys.stderr)
            rc = 1
    return rc
