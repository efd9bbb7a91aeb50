"""``vigil key --cfengine [WD]``: a CFEngine workdir's keys, as cf-key shows them.

``-p`` prints this host's digest exactly as ``cf-key -p`` (``MD5=…``); ``-s`` lists
``cf_lastseen.lmdb`` joined with the trusted key files, in cf-key's columns; ``-t`` and
``-r`` run cf-key itself (after asking on a terminal, unless ``--yes``), so trust and
removal keep CFEngine's own semantics.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from engine.cfengine import tool, tool_env
from engine.cfengine.keys import KeyReadError, file_digest
from engine.commands.locks import checked_workdir, confirm


def run_cfengine(args: argparse.Namespace) -> int:
    wd = checked_workdir(args)
    if wd is None:
        return 2
    if args.print_key is not None:
        path = Path(args.print_key) if args.print_key else wd.ppkeys / "localhost.pub"
        try:
            print(file_digest(path))
        except KeyReadError as exc:
            print(f"   error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.list:
        from engine.inspect import keys

        view = keys(wd)
        if args.json:
            print(json.dumps([asdict(p) for p in view.peers], indent=1))
            return 0
        print(f"{'Direction':<10} {'IP':<40} {'Name':<25} {'Last connection':<26} Key")
        shown = [p for p in view.peers if p.direction]
        for p in shown:
            when = time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(p.last_seen))
            print(f"{p.direction.capitalize():<10} {p.address:<40} {p.host:<25} {when:<26} {p.fingerprint}")
        print(f"Total Entries: {len(shown)}")
        for p in view.peers:
            if not p.direction:
                print(f"trusted, never seen: {p.fingerprint} ({p.user}-{p.fingerprint}.pub)")
        return 0
    if args.trust or args.remove:
        cf_key = tool(wd.root, "cf-key")
        if cf_key is None:
            print("   error: cf-key is not installed", file=sys.stderr)
            return 1
        argv = [cf_key, "-t", args.trust] if args.trust else [cf_key, "-r", args.remove]
        what = f"trust the key {args.trust}" if args.trust else f"remove the key of {args.remove}"
        ok = confirm(f"{what.capitalize()} in {wd.root}?", args.yes)
        if not ok:
            print("Nothing changed." if ok is False else
                  "   error: not a terminal: add --yes to confirm", file=sys.stderr)
            return 1
        return subprocess.run(argv, env=tool_env(wd.root), check=False).returncode
    print("   error: with --cfengine, use -p, -s, -t or -r (cf-key makes the key itself)",
          file=sys.stderr)
    return 2
