"""``vigil watchdog``: restart execd if it died, from cron.

``--install-cron`` writes the cron line that runs it (once; idempotent) to
the target from ``watchdog.cron_target`` or ``--target``: ``crontab``,
``cron.d`` (/etc/cron.d/vigil), a file path, or ``auto``.
"""

from __future__ import annotations

import argparse
import sys

from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system one)")
    parser.add_argument(
        "--install-cron", action="store_true", help="install the cron line that runs the watchdog"
    )
    parser.add_argument(
        "--target", help="with --install-cron: crontab, cron.d, auto, or a file path"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing (log only)")


def run(args: argparse.Namespace) -> int:
    from engine.daemons import config

    wd = Workdir.resolve(args.workdir).ensure()
    settings = config.load(wd.root)
    if args.install_cron:
        from engine.daemons.supervise import cron

        target = args.target or settings.cron_target
        try:
            where = cron.install(wd.root, target, settings.watchdog_interval_minutes)
        except (cron.CronError, OSError) as e:
            print(f"vigil watchdog: {e}", file=sys.stderr)
            return 1
        print(f"watchdog cron line installed in {where}")
        return 0
    from engine.daemons.supervise.watchdog import run_once

    report = run_once(wd.root, settings)
    if not args.quiet:
        for a in report.notes + report.actions:
            print(a)
    for err in report.errors:
        print(f"vigil watchdog: {err}", file=sys.stderr)
    return 0 if report.ok else 1
