"""``vigil serverd``: serve files and remote runs over TLS (cf-serverd)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from engine.log import Level, LineLogger
from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the usual place)")
    parser.add_argument("-F", "--no-fork", action="store_true", help="run in the foreground")
    parser.add_argument("-f", "--file", help="policy file (default: WORKDIR/inputs/promises.cf)")
    parser.add_argument("--port", type=int, help="listen on this port (overrides policy and settings)")
    parser.add_argument("--bind", help="listen on this address (overrides bindtointerface)")
    parser.add_argument("-I", "--inform", action="store_true", help="log connections and requests")
    parser.add_argument("-v", "--verbose", action="store_true", help="log everything")
    parser.add_argument("-l", "--timestamp", action="store_true", help="timestamp log lines")


def _logger(args: argparse.Namespace) -> LineLogger:
    level = Level.VERBOSE if args.verbose else Level.INFO if args.inform else Level.NOTICE

    def sink(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    return LineLogger(level, timestamps=args.timestamp, sink=sink)


def run(args: argparse.Namespace) -> int:
    workdir = Workdir.resolve(args.workdir)
    if not args.no_fork:
        return _detach(workdir, args)
    import asyncio

    from engine.daemons.serverd import Server

    server = Server(
        workdir,
        _logger(args),
        policy_file=Path(args.file).absolute() if args.file else None,
        port=args.port,
        bind=args.bind,
    )
    return asyncio.run(server.serve())


def _detach(workdir: Workdir, args: argparse.Namespace) -> int:
    """Without -F: start ``serverd -F`` in its own session, logging to logs/serverd.log."""
    workdir.ensure()
    argv = [sys.executable, "-m", "engine", "serverd", "-F", "-w", str(workdir.root)]
    for flag, value in (("-f", args.file), ("--port", args.port), ("--bind", args.bind)):
        if value is not None:
            argv += [flag, str(value)]
    argv += [f for f, on in (("-I", args.inform), ("-v", args.verbose)) if on] + ["-l"]
    log_path = workdir.logs / "serverd.log"
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=os.environ.copy(),
        )
    try:
        rc = proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        print(f"serverd started, pid {proc.pid}, log {log_path}")
        return 0
    print(f"serverd exited at once with code {rc}; see {log_path}", file=sys.stderr)
    return rc or 1
