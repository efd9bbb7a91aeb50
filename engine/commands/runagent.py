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
    parser.add_argument("--remote-bundles", action="append", default=[], metavar="BUNDLE[,BUNDLE]",
                        help="bundlesequence of the remote run (a CFEngine server's access "
                        "rules of resource_type bundle must admit each)")
    parser.add_argument("-I", "--inform", action="store_true", help="(cf-runagent's; the "
                        "remote run's output is printed in any case)")
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-d", "--debug", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-f", "--file", help="cf-runagent's policy file: vigil runagent does "
                        "not read 'body runagent control' (hosts come from -H)")


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
    from engine.trust.protocol import DEFAULT_PORT, Status

    if args.hail and args.host:  # cf-runagent's spelling: -H HOST FILE
        args.file, args.host = args.host, None
    if args.file:
        _err(f"{args.file}: vigil runagent does not read 'body runagent control' "
             "(hosts, port, trustkey...); the command line decides (-H HOST[:PORT])")
    target = args.host or args.hail
    if not target:
        _err("a host to hail is required (vigil runagent HOST[:PORT])")
        return 2
    wd = Workdir.resolve(args.workdir)
    classes = [c for d in args.define for c in d.split(",") if c]
    host, port = split_server(target)
    print(f"    info: Hailing {target}")
    if port != DEFAULT_PORT:  # a port named: CFEngine's protocol unless the server is vigil's
        rc = _run_cfengine(wd, host, port, classes, args)
        if rc is not None:
            return rc
    if args.remote_bundles:
        _err("--remote-bundles is served by CFEngine's protocol only; this is a vigil server")
        return 2
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


def _exec_args(classes: list[str], bundles: list[str]) -> str:
    """EXEC's arguments as cf-runagent sends them: ``-D a,b`` and ``-b x,y``."""
    words = [f"-D {','.join(classes)}"] if classes else []
    names = [b for lst in bundles for b in lst.split(",") if b]
    if names:
        words.append(f"-b {','.join(names)}")
    return " ".join(words)


def _ask_cf(key: object) -> bool:
    from engine.cfnet.client import ServerKey

    assert isinstance(key, ServerKey)
    print(f"WARNING - You do not have a public key from host {key.host} = {key.host}:{key.port}")
    print(f"          It presented {key.digest}")
    print("          Do you want to accept one on trust? (yes/no)")
    sys.stdout.flush()
    ok = sys.stdin.readline().strip().lower() in ("yes", "y")
    print("--> Will trust the key..." if ok else "--> Will not trust the key...")
    return ok


def _run_cfengine(wd: Workdir, host: str, port: int, classes: list[str],
                  args: argparse.Namespace) -> int | None:
    """``EXEC`` on a CFEngine server (cf-serverd, or a vigil serverd's CFEngine side),
    printed as cf-runagent prints it; None when the server is a vigil server."""
    import re

    from engine.cfnet.client import NotCFEngine, connect, refuse_unknown
    from engine.trust.client import RemoteError, TrustError

    on_unknown = _ask_cf if args.interactive else refuse_unknown
    try:
        conn = connect(wd.root, host, port, on_unknown=on_unknown, timeout=args.timeout or 30.0)
    except NotCFEngine:
        return None
    except TrustError as e:
        _err(str(e))
        _err(f"Failed to connect to host: {host}")
        return 255
    except RemoteError as e:
        _err(str(e))
        return 255
    rc = 255
    with conn:
        for line in conn.exec(_exec_args(classes, args.remote_bundles)):
            text = line.rstrip("\n")
            if text.startswith("BAD:"):
                print(f"{conn.address}> !! {text[4:]}")
            elif text.startswith("> "):
                print(f"{conn.address}> -> {text[2:]}")
            else:
                print(f"{conn.address}> {text}")
            m = re.fullmatch(r"\(exit code: (-?[0-9]+)\)", text)
            if m:
                rc = int(m.group(1))
    return 0 if rc == 0 else min(max(rc, 1), 255)
