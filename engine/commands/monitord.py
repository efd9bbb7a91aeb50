"""``vigil monitord``: sample the system for the agent (cf-monitord).

Without ``-F`` the daemon is started detached and this command returns once
it is up. ``--interval`` overrides ``monitord.interval_seconds`` (tests use 1).
``-f`` names the policy whose monitor bundles are measured (default
``WORKDIR/inputs/promises.cf``); ``--once`` (with ``-F``) takes one sample and exits.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system one)")
    parser.add_argument(
        "-F", "--no-fork", action="store_true", help="stay in the foreground (do not detach)"
    )
    parser.add_argument("--interval", type=float, help="seconds between samples (default 150)")
    parser.add_argument("-f", "--file", help="policy entry file (default: WORKDIR/inputs/promises.cf)")
    parser.add_argument("--once", action="store_true",
                        help="with -F: take one sample, write state/env_data and exit")


def run(args: argparse.Namespace) -> int:
    from engine.daemons import config

    wd = Workdir.resolve(args.workdir).ensure()
    if not args.no_fork:
        from engine.daemons.supervise import supervisor

        extra = ["--interval", str(args.interval)] if args.interval else []
        if args.file:
            extra += ["-f", os.path.abspath(args.file)]
        r = supervisor.start(wd.root, "monitord", extra)
        print(f"monitord: {r.message}", file=sys.stdout if r.ok else sys.stderr)
        return 0 if r.ok else 1
    from engine.daemons.lifecycle import daemon_logger
    from engine.daemons.monitord.daemon import Monitord

    interval = args.interval or config.load(wd.root).monitord_interval_seconds
    policy = Path(os.path.abspath(args.file)) if args.file else None
    return Monitord(wd.root, interval, daemon_logger(), policy_file=policy, once=args.once).serve()
