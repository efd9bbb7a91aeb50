"""``vigil cfnames DIR``: vigil under CFEngine's command names.

Writes ``cf-agent``, ``cf-promises``, ``cf-execd``, ``cf-monitord``, ``cf-serverd``,
``cf-key`` and ``cf-runagent`` into DIR. Each is a small script run by this Python that
starts vigil's component of that name, so scripts, cron lines and schedulers that call
``cf-agent`` run vigil's agent, and the process table shows the name they asked for (a
``processes:`` promise looking for cf-agent finds it, as on a CFEngine host).

Existing files are left alone unless they are earlier copies of these scripts, or
``--force`` is given: DIR might be CFEngine's own bin directory.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.cli import CFENGINE_NAMES

MARK = "# vigil cfnames"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="directory to write the commands into "
                        "(made if missing)")
    parser.add_argument("--force", action="store_true",
                        help="replace files of those names that vigil did not write")
    parser.add_argument("--python", default=sys.executable,
                        help=f"the Python to run vigil with (default: {sys.executable})")


def script(python: str, name: str) -> str:
    return (f"#!{python}\n{MARK}: {name} runs vigil {CFENGINE_NAMES[name]}\n"
            "import sys\n\nfrom engine.cli import main\n\nsys.exit(main())\n")


def _ours(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return MARK.encode() in fh.read(512)
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"   error: cannot make '{target}': {exc.strerror or exc}", file=sys.stderr)
        return 1
    refused = []
    for name in CFENGINE_NAMES:
        path = target / name
        if os.path.lexists(path) and not args.force and not _ours(path):
            refused.append(name)
            continue
        tmp = target / f".{name}.vigil-tmp"
        try:
            tmp.write_text(script(args.python, name))
            tmp.chmod(0o755)
            os.replace(tmp, path)
        except OSError as exc:
            print(f"   error: cannot write '{path}': {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"{path} -> vigil {CFENGINE_NAMES[name]}")
    for name in refused:
        print(f"   error: '{target / name}' exists and is not vigil's: left alone (--force "
              "replaces it)", file=sys.stderr)
    return 1 if refused else 0
