"""``vigil execd``: run the agent on the policy's schedule (cf-execd).

Without ``-F`` the daemon is started detached and this command returns once
it is up. ``--once`` validates the policy, runs one agent and exits with its
exit code. :func:`request_run` asks a running execd for an unscheduled run
(``vigil runagent --local`` and the console use it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system one)")
    parser.add_argument(
        "-F", "--no-fork", action="store_true", help="stay in the foreground (do not detach)"
    )
    parser.add_argument("-O", "--once", action="store_true", help="run the agent once and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log verbose lines")


def request_run(
    workdir: str | Path | Workdir | None,
    classes: Sequence[str] = (),
    started_by: str = "forced",
) -> bool:
    """Ask the execd of ``workdir`` to run the agent now (after any run in progress).

    ``started_by`` is ``forced`` (console, ``runagent --local``) or ``remote``.
    False when execd is not running or refused (its queue is full).
    """
    from engine.daemons.execd import control

    root = workdir.root if isinstance(workdir, Workdir) else Workdir.resolve(workdir).root
    reply = control.request(root, {"op": "run", "classes": list(classes), "started_by": started_by})
    return bool(reply and reply.get("ok"))


def run(args: argparse.Namespace) -> int:
    from engine.daemons import config
    from engine.log import Level
    from engine.seed import seed_workdir

    wd = Workdir.resolve(args.workdir).ensure()
    settings = config.load(wd.root)
    seed_workdir(wd)  # a fresh workdir runs the shipped policy, as the agent does
    if not args.no_fork and not args.once:
        from engine.daemons.supervise import supervisor

        r = supervisor.start(wd.root, "execd")
        print(f"execd: {r.message}", file=sys.stdout if r.ok else sys.stderr)
        return 0 if r.ok else 1
    from engine.daemons.execd.daemon import Execd
    from engine.daemons.lifecycle import daemon_logger

    level = Level.VERBOSE if args.verbose else Level.INFO
    execd = Execd(wd.root, settings, daemon_logger(level, timestamps=not args.once))
    return execd.once() if args.once else execd.serve()
