"""``vigil agent`` — evaluate policy and converge this host, with cf-agent's flags."""

from __future__ import annotations

import argparse
import sys

from engine.log import Level, LineLogger


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Evaluate CFEngine 3 policy and converge this host. Without -f it runs "
        "WORKDIR/inputs/promises.cf. The policy is validated first: if it does not "
        "parse or validate, nothing is run and the exit code is 1."
    )
    p.add_argument("-f", "--file", dest="file", help="policy file to run")
    p.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system default)")
    p.add_argument("-K", "--no-lock", action="store_true",
                   help="ignore locks (ifelapsed/expireafter) and leave the lock database untouched")
    p.add_argument("-I", "--inform", action="store_true", help="print changes made (info level)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every decision, skips with reasons")
    p.add_argument("-n", "--dry-run", action="store_true", help="change nothing; report what would change")
    p.add_argument("-D", "--define", action="append", metavar="CLASS[,CLASS]", help="define classes")
    p.add_argument("-N", "--negate", action="append", metavar="CLASS[,CLASS]", help="keep these persistent classes from being loaded this run (cf-agent 3.21 semantics)")
    p.add_argument("-b", "--bundlesequence", metavar="B[,B]", help="bundles to run instead of the policy's")
    p.add_argument("-l", "--timestamp", action="store_true", help="prefix log lines with a timestamp")
    p.add_argument("--show-evaluated-classes", nargs="?", const="", default=None, metavar="REGEX",
                   help="after the run, list the classes (matching REGEX)")
    p.add_argument("--show-evaluated-vars", nargs="?", const="", default=None, metavar="REGEX",
                   help="after the run, list the variables (matching REGEX)")
    p.add_argument("--started-by", default="manual", choices=["manual", "schedule", "forced", "remote"],
                   help=argparse.SUPPRESS)
    p.add_argument("--output-file", default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from engine.eval.agent import AgentOptions
    from engine.eval.run import run as run_agent
    from engine.workdir import Workdir

    level = Level.VERBOSE if args.verbose else Level.INFO if args.inform else Level.NOTICE
    log = LineLogger(level, sys.stdout, timestamps=args.timestamp)
    wd = Workdir.resolve(args.workdir)
    if not args.file and not wd.promises_cf.exists():
        from engine.seed import seed_workdir

        for path in seed_workdir(wd):
            log.info(f"Seeded '{path}' from the shipped policy")
    flags = [f for f, on in (("-K", args.no_lock), ("-I", args.inform), ("-v", args.verbose),
                             ("-n", args.dry_run)) if on]
    opts = AgentOptions(
        policy_file=args.file or str(wd.promises_cf),
        workdir=wd,
        no_lock=args.no_lock,
        dry_run=args.dry_run,
        defines=_split(args.define),
        negates=_split(args.negate),
        bundlesequence=_split([args.bundlesequence]) if args.bundlesequence else None,
        started_by=args.started_by,
        output_file=args.output_file,
        flags=flags,
        show_classes=args.show_evaluated_classes,
        show_vars=args.show_evaluated_vars,
    )
    try:
        return run_agent(opts, log)
    finally:
        log.flush()
