"""``vigil serverd``: serve files and remote runs over TLS (cf-serverd)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from engine.log import Level, LineLogger
from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the usual place)")
    parser.add_argument("-F", "--no-fork", action="store_true", help="run in the foreground")
    parser.add_argument("-f", "--file", help="policy file (default: WORKDIR/inputs/promises.cf)")
    parser.add_argument("policy", nargs="?", metavar="FILE",
                        help="policy file, as cf-serverd takes it (overrides -f)")
    parser.add_argument("--port", type=int, help="listen on this port (overrides policy and settings)")
    parser.add_argument("--bind", help="listen on this address (overrides bindtointerface; "
                        "'': policy or all, as cf-serverd does by default)")
    parser.add_argument("-I", "--inform", action="store_true", help="log connections and requests")
    parser.add_argument("-v", "--verbose", action="store_true", help="log everything")
    parser.add_argument("-d", "--debug", action="store_true", help="log everything (cf-serverd's "
                        "debug level: vigil has no more detail than verbose)")
    parser.add_argument("-g", "--log-level", choices=LOG_LEVELS, help="how detailed the log is")
    parser.add_argument("-l", "--timestamp", action="store_true", help="timestamp log lines")
    parser.add_argument("-D", "--define", action="append", default=[], metavar="CLASS[,CLASS]",
                        help="classes defined while reading the policy")
    parser.add_argument("-N", "--negate", action="append", default=[], metavar="CLASS[,CLASS]",
                        help="classes left undefined while reading the policy")
    # cf-serverd's options that change nothing here, taken so that its command lines run
    parser.add_argument("-K", "--no-lock", action="store_true",
                        help="accepted for cf-serverd's command lines (serverd takes no locks)")
    parser.add_argument("-x", "--diagnostic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-C", "--color", nargs="?", const="auto", help=argparse.SUPPRESS)
    parser.add_argument("-L", "--ld-library-path", help=argparse.SUPPRESS)
    parser.add_argument("-t", "--graceful-detach", help=argparse.SUPPRESS)
    parser.add_argument("--ignore-preferred-augments", action="store_true", help=argparse.SUPPRESS)


LOG_LEVELS = ("error", "warning", "notice", "info", "verbose", "debug")


def _classes(values: list[str]) -> list[str]:
    return [c for v in values for c in v.split(",") if c]


def _logger(args: argparse.Namespace) -> LineLogger:
    from engine.daemons.lifecycle import daemon_logger

    level = Level.DEBUG if args.debug else Level.VERBOSE if args.verbose else Level.INFO if args.inform else Level.NOTICE
    if args.log_level:
        level = Level[args.log_level.upper()]
    return daemon_logger(level, timestamps=args.timestamp)


def run(args: argparse.Namespace) -> int:
    workdir = Workdir.resolve(args.workdir)
    if args.policy:
        args.file = args.policy
    if args.bind is None and os.path.basename(sys.argv[0]) == "cf-serverd":
        args.bind = ""  # cf-serverd's default, all interfaces (vigil's own: loopback)
    if not args.no_fork:
        return _detach(workdir, args)
    import asyncio

    from engine.daemons.serverd.daemon import Server

    server = Server(
        workdir,
        _logger(args),
        policy_file=Path(args.file).absolute() if args.file else None,
        port=args.port,
        bind=args.bind,
        defines=_classes(args.define),
        negates=_classes(args.negate),
    )
    return asyncio.run(server.serve())


def _detach(workdir: Workdir, args: argparse.Namespace) -> int:
    """Without -F: start ``serverd -F`` in its own session, logging to logs/serverd.log."""
    workdir.ensure()
    argv = [sys.executable, "-m", "engine", "serverd", "-F", "-w", str(workdir.root)]
    policy = str(Path(args.file).absolute()) if args.file else None
    for flag, value in (("-f", policy), ("--port", args.port), ("--bind", args.bind),
                        ("-g", args.log_level)):
        if value is not None:
            argv += [flag, str(value)]
    for flag, names in (("-D", args.define), ("-N", args.negate)):
        argv += [a for name in names for a in (flag, name)]
    argv += [f for f, on in (("-I", args.inform), ("-v", args.verbose or args.debug)) if on]
    argv += ["-l"]
    log_path = workdir.logs / "serverd.log"
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        start = log.seek(0, os.SEEK_END)
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=os.environ.copy(),
        )
    # return once it listens (as cf-serverd's parent returns once the port is bound, so
    # that a client started next finds it), or once it has given up
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            print(f"serverd exited at once with code {rc}; see {log_path}", file=sys.stderr)
            return rc or 1
        if LISTENING in _read_from(log_path, start):
            break
        time.sleep(0.05)
    print(f"serverd started, pid {proc.pid}, log {log_path}")
    return 0


START_TIMEOUT = 60.0  # seconds the detaching command waits for serverd to listen
LISTENING = b" listening on "


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(1 << 16)
    except OSError:
        return b""
