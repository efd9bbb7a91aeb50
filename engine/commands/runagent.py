"""``vigil runagent HOST[:PORT]``: ask a serverd to run its agent (cf-runagent).

Output lines come back prefixed with ``HOST> -> ``, then ``HOST> (exit code: N)``.
An unknown server key fails unless ``-i`` asks (showing the fingerprint) and
the answer is yes; a changed key always fails, naming both fingerprints.
"""

from __future__ import annotations

import argparse
import sys

from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", nargs="?", help="HOST[:PORT] of the server")
    parser.add_argument("-H", "--hail", dest="hail", help="HOST[:PORT] (cf-runagent's spelling)")
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the usual place)")
    parser.add_argument("-D", "--define", action="append", default=[], metavar="CLASS",
                        help="classes to define in the remote run (repeat or comma-separate)")
    parser.add_argument("-i", "--interactive", action="store_true",
                        help="ask before trusting an unknown server key")
    parser.add_argument("-t", "--timeout", type=float, default=None, help="connect timeout, seconds")


def _err(msg: str) -> None:
    print(f"   error: {msg}", file=sys.stderr)


def _ask(key: object) -> bool:
    from engine.trust.client import ServerKey

    assert isinstance(key, ServerKey)
    print(f"WARNING - You do not have a public key from host {key.host} = {key.host}:{key.port}")
    print(f"          It presented {key.fingerprint}")
    print("          Do you want to accept one on trust? (yes/no)")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    print()
    if answer in ("yes", "y"):
        print("--> Will trust the key...")
        print(f"  notice: Trusting new key: {key.fingerprint}")
        return True
    print("--> Will not trust the key...")
    return False


def run(args: argparse.Namespace) -> int:
    from engine.trust.client import RemoteError, TrustError, connect, refuse_unknown, split_server
    from engine.trust.protocol import Status

    target = args.host or args.hail
    if not target:
        _err("a host to hail is required (vigil runagent HOST[:PORT])")
        return 2
    wd = Workdir.resolve(args.workdir)
    classes = [c for d in args.define for c in d.split(",") if c]
    host = split_server(target)[0]
    print(f"    info: Hailing {target}")
    try:
        conn = connect(
            wd.root, target, on_unknown=_ask if args.interactive else refuse_unknown,
            timeout=args.timeout, require_trusted=False,
        )
    except TrustError as e:
        _err(str(e))
        _err(f"Failed to connect to host: {host}")
        return 255
    except RemoteError as e:
        _err(str(e))
        return 255
    with conn:
        if conn.status != Status.TRUSTED:
            fp = conn.client_fingerprint
            print(f"{host}> !! the server does not trust our key {fp} ({conn.status}).")
            if conn.status == Status.PENDING:
                print(f"{host}> !! Ask its admin to run: vigil key --accept {fp}")
            return 255
        rc = 255
        pending = b""
        try:
            for item in conn.run(classes):
                if isinstance(item, int):
                    rc = item
                    break
                pending += item
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    print(f"{host}> -> {line.decode('utf-8', 'replace')}")
        except RemoteError as e:
            print(f"{host}> !!  {e}")
            return 255
        if pending:
            print(f"{host}> -> {pending.decode('utf-8', 'replace')}")
        print(f"{host}> (exit code: {rc})")
        return 0 if rc == 0 else min(max(rc, 1), 255)
