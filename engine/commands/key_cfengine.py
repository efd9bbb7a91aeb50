"""``vigil key --cfengine [WD]``: a CFEngine workdir's keys, as cf-key shows them.

``-p`` prints this host's digest exactly as ``cf-key -p`` (``MD5=…``); ``-s`` lists
``cf_lastseen.lmdb`` joined with the trusted key files, in cf-key's columns; ``-t`` and
``-r`` run cf-key itself (after asking on a terminal, unless ``--yes``), so trust and
removal keep CFEngine's own semantics.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from engine.cfengine import tool, tool_env
from engine.cfengine.keys import KeyReadError, file_digest
from engine.commands.common import checked_workdir, confirm
from engine.workdir import Workdir


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
    if args.trust_server:
        return _trust_server(wd, args.trust_server, args.fingerprint, args.yes)
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
    print("   error: with --cfengine, use -p, -s, -t, -r or --trust-server (cf-key makes the key "
          "itself)",
          file=sys.stderr)
    return 2


def _trust_server(wd: Workdir, hostport: str, expected: str | None, yes: bool) -> int:
    """Take the key a CFEngine server presents and trust it with ``cf-key -t ADDRESS:FILE``
    (cf-key's own semantics: the ppkeys file and its lastseen entry), only if it is
    still ``expected`` when that is given."""
    from engine.cfnet.exchange import probe
    from engine.cfnet.rsakey import public_pem

    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        host, port = hostport, "5308"
    try:
        p = probe(wd.root, host, int(port))
    except Exception as exc:  # noqa: BLE001 - a network failure is an error line
        print(f"   error: cannot get the key of {host}:{port}: {exc}", file=sys.stderr)
        return 1
    if expected and p.fingerprint != expected:
        print(f"   error: {host}:{port} now presents {p.fingerprint}, not {expected}: nothing "
              "trusted", file=sys.stderr)
        return 1
    cf_key = tool(wd.root, "cf-key")
    if cf_key is None:
        print("   error: cf-key is not installed", file=sys.stderr)
        return 1
    ok = confirm(f"Trust the key {p.fingerprint} of {host}:{port} in {wd.root}?", yes)
    if not ok:
        print("Nothing changed." if ok is False else
              "   error: not a terminal: add --yes to confirm", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="vigil-cfkey-") as tmp:
        pub = Path(tmp) / f"{p.fingerprint}.pub"
        pub.write_bytes(public_pem(p.n, p.e))
        address = socket.gethostbyname(host)
        r = subprocess.run([cf_key, "-t", f"{address}:{pub}"], env=tool_env(wd.root),
                           check=False, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode == 0:
        print(f"Trusted {p.fingerprint} for '{host}:{port}'")
    return r.returncode
