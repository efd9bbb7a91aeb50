"""``vigil agent`` — evaluate policy and converge this host, with cf-agent's flags."""

from __future__ import annotations

import sys

from engine.log import Level, LineLogger

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

    from engine.workdir import Workdir


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    import argparse

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
    p.add_argument("--simulate", choices=["diff", "manifest", "manifest-full"], default=None,
                   metavar="MODE",
                   help="change nothing, as --dry-run, but keep files promises on copies "
                   "of the files in a shadow tree (WORKDIR/state/PID.changes, removed at "
                   "the end) and then print what they did. MODE: 'diff' (diff -u of each "
                   "changed file against the real one; a new file in full), 'manifest' "
                   "(each changed file as it would be: type, mode, owner, times, content), "
                   "'manifest-full' (also every file evaluated and found as promised). "
                   "Commands are not run; unsafe functions (execresult...) run only in "
                   "promises tagged simulate_safe")
    p.add_argument("-D", "--define", action="append", metavar="CLASS[,CLASS]", help="define classes")
    p.add_argument("-N", "--negate", action="append", metavar="CLASS[,CLASS]", help="keep these persistent classes from being loaded this run (cf-agent 3.21 semantics)")
    p.add_argument("-b", "--bundlesequence", metavar="B[,B]", help="bundles to run instead of the policy's")
    p.add_argument("-l", "--timestamp", action="store_true", help="prefix log lines with a timestamp")
    p.add_argument("--show-evaluated-classes", nargs="?", const="", default=None, metavar="REGEX",
                   help="after the run, list the classes (matching REGEX)")
    p.add_argument("--show-evaluated-vars", nargs="?", const="", default=None, metavar="REGEX",
                   help="after the run, list the variables (matching REGEX)")
    p.add_argument("-d", "--debug", action="store_true", help="print debug output (as -v here)")
    p.add_argument("-g", "--log-level", type=_log_level, default=None, metavar="LEVEL",
                   help="error, warning, notice, info, verbose or debug")
    p.add_argument("-t", "--timing-output", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("-C", "--color", nargs="?", const="auto", default=None,
                   choices=["always", "auto", "never"], help="accepted; output is never coloured")
    p.add_argument("-E", "--no-extensions", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--log-modules", default=None, metavar="MODULES", help=argparse.SUPPRESS)
    p.add_argument("--ignore-preferred-augments", action="store_true",
                   help="read def.json even where def_preferred.json exists")
    p.add_argument("--skip-db-check", nargs="?", const="yes", default=None, help=argparse.SUPPRESS)
    p.add_argument("policy", nargs="?", default=None, metavar="FILE",
                   help="policy file to run (overrides -f)")
    p.add_argument("-B", "--bootstrap", default=None, metavar="HUB",
                   help="bootstrap to the hub HUB (address or name, optional :port): fetch its "
                   "policy into inputs/, run it and start the scheduler")
    p.add_argument("-T", "--trust-server", nargs="?", const="yes", default=None,
                   choices=["yes", "no"], metavar="yes|no",
                   help="with --bootstrap: trust the hub's key on first contact (yes, the "
                   "default) or only when it is trusted already (no)")
    p.add_argument("--skip-bootstrap-policy-run", action="store_true",
                   help="with --bootstrap: do not run the fetched policy")
    p.add_argument("--skip-bootstrap-service-start", action="store_true",
                   help="with --bootstrap: do not start the scheduler (or, on the hub, the server)")
    p.add_argument("--started-by", default="manual", choices=["manual", "schedule", "forced", "remote"],
                   help=argparse.SUPPRESS)
    p.add_argument("--output-file", default=None, help=argparse.SUPPRESS)


_LOG_LEVELS = {"error": 0, "warning": 1, "notice": 2, "info": 3, "inform": 3,
               "verbose": 4, "debug": 5}


def _log_level(text: str) -> int:
    try:
        return _LOG_LEVELS[text.lower()]
    except KeyError:
        import argparse

        raise argparse.ArgumentTypeError(
            f"invalid log level '{text}' (error, warning, notice, info, verbose, debug)"
        ) from None


# parse_plain: the options add_arguments defines, as argparse stores them
_FLAGS = {"-K": "no_lock", "--no-lock": "no_lock", "-I": "inform", "--inform": "inform",
          "-v": "verbose", "--verbose": "verbose", "-n": "dry_run", "--dry-run": "dry_run",
          "-l": "timestamp", "--timestamp": "timestamp"}
_VALUES = {"-f": "file", "--file": "file", "-w": "workdir", "--workdir": "workdir",
           "-b": "bundlesequence", "--bundlesequence": "bundlesequence",
           "--started-by": "started_by", "--output-file": "output_file"}
_LISTS = {"-D": "define", "--define": "define", "-N": "negate", "--negate": "negate"}
_STARTED_BY = ("manual", "schedule", "forced", "remote")
_DEFAULTS = {"file": None, "workdir": None, "no_lock": False, "inform": False,
             "verbose": False, "dry_run": False, "define": None, "negate": None,
             "bundlesequence": None, "timestamp": False, "show_evaluated_classes": None,
             "show_evaluated_vars": None, "started_by": "manual", "output_file": None,
             "debug": False, "log_level": None, "timing_output": False, "color": None,
             "no_extensions": False, "log_modules": None, "ignore_preferred_augments": False,
             "skip_db_check": None, "policy": None, "simulate": None, "bootstrap": None,
             "trust_server": None, "skip_bootstrap_policy_run": False,
             "skip_bootstrap_service_start": False}


def parse_plain(argv: list[str]) -> dict[str, object] | None:
    """What argparse makes of ``argv`` with :func:`add_arguments`, when every token
    is an option spelled out in full with its value in the next token (as execd and
    scripts write them); None for anything else (help, errors, abbreviations,
    ``--opt=value``, grouped flags, values that start with ``-``), which argparse
    then parses and reports as it always did."""
    values: dict[str, object] = dict(_DEFAULTS)
    i, n = 0, len(argv)
    while i < n:
        token = argv[i]
        dest = _FLAGS.get(token)
        if dest is not None:
            values[dest] = True
            i += 1
            continue
        dest = _VALUES.get(token) or _LISTS.get(token)
        if dest is None or i + 1 >= n or argv[i + 1].startswith("-"):
            return None
        value = argv[i + 1]
        if dest == "started_by" and value not in _STARTED_BY:
            return None
        if token in _LISTS:
            prev = values[dest]
            values[dest] = [*prev, value] if isinstance(prev, list) else [value]
        else:
            values[dest] = value
        i += 2
    return values


# A run is one short process whose evaluation leaves no garbage cycles behind (10,000
# files promises leave only the agent object itself to collect), so a collection only
# walks live data: about 25 new objects per promise, 12 ms per 50,000. Collect the
# young generation only after half a million (runs of up to about 20,000 promises never
# do); engine.eval.run also freezes the loaded policy out of the collector's sight.
GC_THRESHOLD_GEN0 = 500_000


def run(args: argparse.Namespace | SimpleNamespace) -> int:
    import gc

    gc.set_threshold(GC_THRESHOLD_GEN0, *gc.get_threshold()[1:])
    # policy nests (methods calling methods, deep data): room for about a thousand levels
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 12000))

    from engine.eval.agent import AgentOptions
    from engine.eval.run import run as run_agent
    from engine.policy.loader import resolve_entry
    from engine.workdir import Workdir

    level = Level.VERBOSE if args.verbose or args.debug else Level.INFO if args.inform else Level.NOTICE
    if args.log_level is not None:
        level = Level(args.log_level)
    if args.policy:
        args.file = args.policy
    log = LineLogger(level, sys.stdout, timestamps=args.timestamp)
    wd = Workdir.resolve(args.workdir)
    if getattr(args, "bootstrap", None) or getattr(args, "trust_server", None):
        return _bootstrap(args, wd, log)
    if not args.file and not wd.promises_cf.exists():
        from engine.seed import seed_workdir

        for path in seed_workdir(wd):
            log.info(f"Seeded '{path}' from the shipped policy")
    flags = [f for f, on in (("-K", args.no_lock), ("-I", args.inform), ("-v", args.verbose),
                             ("-n", args.dry_run)) if on]
    if getattr(args, "simulate", None):
        flags.append(f"--simulate={args.simulate}")
    opts = AgentOptions(
        policy_file=resolve_entry(args.file, str(wd.inputs)) if args.file else str(wd.promises_cf),
        workdir=wd,
        no_lock=args.no_lock,
        dry_run=args.dry_run or getattr(args, "simulate", None) is not None,
        simulate=getattr(args, "simulate", None),
        defines=_split(args.define),
        negates=_split(args.negate),
        bundlesequence=_split([args.bundlesequence]) if args.bundlesequence else None,
        started_by=args.started_by,
        output_file=args.output_file,
        flags=flags,
        show_classes=args.show_evaluated_classes,
        show_vars=args.show_evaluated_vars,
        ignore_preferred_augments=args.ignore_preferred_augments,
    )
    try:
        return run_agent(opts, log)
    finally:
        log.flush()
        # What the run built is garbage now, but this process is about to exit: keep the
        # collector that runs at exit from walking (and freeing) it object by object.
        gc.freeze()


def _bootstrap(args: argparse.Namespace | SimpleNamespace, wd: Workdir, log: LineLogger) -> int:
    """``--bootstrap HUB``: :mod:`engine.bootstrap.run`."""
    from engine.bootstrap.run import BootstrapOptions, bootstrap

    if not args.bootstrap:
        log.error("Option --trust-server can only be used when bootstrapping")
        log.flush()
        return 1
    if args.dry_run or getattr(args, "simulate", None):
        log.error("A bootstrap replaces inputs/ and policy_server.dat: it cannot be a dry run "
                  "(-n, --simulate)")
        log.flush()
        return 1
    opts = BootstrapOptions(
        argument=args.bootstrap,
        trust_server=args.trust_server != "no",
        run_policy=not args.skip_bootstrap_policy_run,
        start_services=not args.skip_bootstrap_service_start,
        defines=tuple(_split(args.define)),
        negates=tuple(_split(args.negate)),
        flags=tuple(f for f, on in (("-I", args.inform), ("-v", args.verbose)) if on),
    )
    try:
        return bootstrap(opts, wd, log)
    finally:
        log.flush()
