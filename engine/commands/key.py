"""``vigil key``: the host key and the peers' keys (cf-key).

With no option, makes the host key pair if there is none (and, like cf-key,
refuses with rc 1 when one exists). ``--accept``/``--reject`` ask before acting
when stdin is a terminal, unless ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from engine.workdir import Workdir, make_dirs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the usual place)")
    parser.add_argument("--cfengine", nargs="?", const="/var/lib/cfengine3", default=None, metavar="WD",
                        help="a CFEngine workdir (default /var/lib/cfengine3): its RSA key and "
                        "cf_lastseen.lmdb; --trust and --remove run cf-key")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-p", "--print", dest="print_key", nargs="?", const="", metavar="FILE",
                       help="print the fingerprint of this host's key (or of FILE)")
    group.add_argument("-s", "--list", action="store_true",
                       help="list trusted, pending and rejected peer keys")
    group.add_argument("-t", "--trust", metavar="[HOST:]FILE", help="trust the public key in FILE")
    group.add_argument("-r", "--remove", metavar="FINGERPRINT|HOST", help="forget a peer's key")
    group.add_argument("--accept", metavar="FINGERPRINT", help="trust a pending (or rejected) key")
    group.add_argument("--reject", metavar="FINGERPRINT", help="reject a pending (or trusted) key")
    group.add_argument("--trust-server", metavar="HOST:PORT",
                       help="trust the key a server presents, vigil (Ed25519) or CFEngine "
                            "(RSA, MD5=…); with --fingerprint: only that key")
    parser.add_argument("--fingerprint", metavar="FP", help="with --trust-server: the key expected")
    parser.add_argument("--json", action="store_true", help="with --list: JSON output")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def _err(msg: str) -> None:
    print(f"   error: {msg}", file=sys.stderr)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def run(args: argparse.Namespace) -> int:
    if args.cfengine:
        from engine.commands.key_cfengine import run_cfengine

        return run_cfengine(args)
    wd = Workdir.resolve(args.workdir)
    if args.print_key is not None:
        return _print(wd, args.print_key)
    if args.list:
        return _list(wd, args.json)
    if args.trust:
        return _trust(wd, args.trust)
    if args.trust_server:
        return _trust_server(wd, args.trust_server, args.fingerprint)
    if args.remove:
        return _remove(wd, args.remove)
    if args.accept or args.reject:
        return _decide(wd, args.accept or args.reject, accept=bool(args.accept), yes=args.yes)
    return _generate(wd)


def _generate(wd: Workdir) -> int:
    """Both host keys: Ed25519 (``vigil.*``) for vigil peers, RSA (``localhost.*``, as
    cf-key writes it) for CFEngine peers; rc 1 when both exist already."""
    from engine.cfnet import rsakey
    from engine.trust.keys import KeyExistsError, generate, key_stem

    make_dirs(wd.root, 0o755)
    make_dirs(wd.ppkeys, 0o700)
    made = 0
    existing = ""
    try:
        generate(wd.ppkeys)
        made += 1
    except (KeyExistsError, FileExistsError) as e:
        existing = str(e) if isinstance(e, KeyExistsError) else f"A key file already exists at {e.filename}"
    if key_stem(wd.ppkeys) == "localhost":  # an older workdir: its Ed25519 key holds cf-key's names
        print("  notice: the Ed25519 key in ppkeys/localhost.* keeps cf-key's file names; "
              "move it to ppkeys/vigil.* to add an RSA key for CFEngine peers")
    else:
        try:
            rsakey.generate(wd.ppkeys)
            made += 1
        except FileExistsError as e:
            existing = existing or f"A key file already exists at {e.filename}"
    if not made:
        _err(existing)
        return 1
    return 0


def _print(wd: Workdir, file: str) -> int:
    from engine.trust.keys import KeyFileError, KeyPaths, fingerprint, load_public_file

    path = Path(file) if file else KeyPaths.of(wd.ppkeys).pub
    try:
        print(fingerprint(load_public_file(path)))
    except KeyFileError as e:
        from engine.cfengine.keys import KeyReadError, file_digest

        try:  # CFEngine's RSA forms (PKCS#1 "RSA PUBLIC KEY", SPKI): cf-key -p's digest
            print(file_digest(path))
        except KeyReadError:
            _err(str(e))
            return 1
    return 0


def _list(wd: Workdir, as_json: bool) -> int:
    from engine.inspect.keys import cfengine_peers
    from engine.trust.store import TrustStore

    peers = TrustStore(wd.ppkeys).list()
    cf_peers = cfengine_peers(wd)  # RSA keys of CFEngine peers (MD5=…)
    if as_json:
        rows = [p.to_json() for p in peers]
        rows += [{"fingerprint": c.fingerprint, "state": c.state, "host": c.host,
                  "names": list(c.names), "address": c.address, "user": c.user,
                  "first_seen": c.first_seen, "last_seen": c.last_seen,
                  "changed_from": c.changed_from} for c in cf_peers]
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'State':<9} {'Host':<24} {'Address':<20} {'First seen':<20} {'Last seen':<20} Key")
    for p in peers:
        extra = f"  (was {p.changed_from})" if p.changed_from else ""
        print(f"{p.state:<9} {p.host or '-':<24} {p.address or '-':<20} {_when(p.first_seen):<20} "
              f"{_when(p.last_seen):<20} {p.fingerprint}{extra}")
    for c in cf_peers:
        print(f"{c.state:<9} {c.host or '-':<24} {c.address or '-':<20} {_when(c.first_seen):<20} "
              f"{_when(c.last_seen):<20} {c.fingerprint}" + (f"  (was {c.changed_from})" if c.changed_from else ""))
    print(f"Total Entries: {len(peers) + len(cf_peers)}")
    return 0


def _trust(wd: Workdir, spec: str) -> int:
    from engine.trust.keys import KeyFileError, load_public_file
    from engine.trust.store import PeerState, TrustStore

    host = ""
    path = Path(spec)
    if not path.exists() and ":" in spec:
        host, _, rest = spec.rpartition(":")
        path = Path(rest)
        host = host.split("@", 1)[-1]
    try:
        raw = load_public_file(path)
    except KeyFileError as e:
        _err(str(e))
        return 1
    peer = TrustStore(wd.ppkeys).add(raw, PeerState.TRUSTED, host, host)
    if not host:
        print("  notice: Establishing trust might be incomplete. For completeness, use --trust HOST:FILE")
    print(f"Trusted {peer.fingerprint}" + (f" for '{host}'" if host else ""))
    return 0


def _trust_server(wd: Workdir, hostport: str, expected: str | None) -> int:
    """Connect, take the server's key, trust it when it is the ``expected`` one."""
    from engine.cfnet.peers import DIGEST_RE
    from engine.trust.client import TrustError
    from engine.trust.exchange import probe, trust

    host, _, port = hostport.rpartition(":")
    if expected and DIGEST_RE.match(expected):  # a CFEngine server's RSA key (MD5=…)
        return _trust_cf_server(wd, host or hostport, int(port) if port.isdigit() else 5308,
                                expected)
    try:
        p = probe(wd.root, host or hostport, int(port) if port.isdigit() else None)
    except TrustError as e:  # not a vigil (Ed25519) key: a CFEngine server, perhaps
        if not expected and port.isdigit():
            return _trust_cf_server(wd, host, int(port), None, f"cannot get the key of {hostport}: {e}")
        _err(f"cannot get the key of {hostport}: {e}")
        return 1
    except Exception as e:  # noqa: BLE001 - a network failure is an error line
        _err(f"cannot get the key of {hostport}: {e}")
        return 1
    if expected and p.fingerprint != expected:
        _err(f"{hostport} now presents {p.fingerprint}, not {expected}: nothing trusted")
        return 1
    peer = trust(wd.root, p, hostport)
    print(f"Trusted {peer.fingerprint} for '{hostport}'")
    return 0


def _trust_cf_server(wd: Workdir, host: str, port: int, expected: str | None,
                     not_cfengine: str = "") -> int:
    """Trust the RSA key a CFEngine server presents (``ppkeys/root-MD5=….pub``, as
    cf-key -t writes it), only if it is still ``expected`` (when given). ``not_cfengine``:
    the error to give instead when the server does not speak CFEngine either."""
    from engine.cfnet.exchange import probe as cf_probe
    from engine.cfnet.peers import CfPeers

    try:
        p = cf_probe(wd.root, host, port)
    except Exception as e:  # noqa: BLE001 - a network failure is an error line
        _err(not_cfengine or f"cannot get the key of {host}:{port}: {e}")
        return 1
    if expected and p.fingerprint != expected:
        _err(f"{host}:{port} now presents {p.fingerprint}, not {expected}: nothing trusted")
        return 1
    CfPeers(wd.ppkeys).trust(p.n, p.e, name=p.address)
    print(f"Trusted {p.fingerprint} for '{p.address}'")
    return 0


def _remove(wd: Workdir, what: str) -> int:
    from engine.trust.store import TrustStore

    gone = TrustStore(wd.ppkeys).remove(what)
    if not gone:
        _err(f"No key found for '{what}'")
        return 1
    for p in gone:
        print(f"Removed {p.state} key {p.fingerprint}" + (f" ({p.host})" if p.host else ""))
    return 0


def _decide(wd: Workdir, fp: str, accept: bool, yes: bool) -> int:
    from engine.cfnet.peers import DIGEST_RE
    from engine.trust.keys import is_fingerprint
    from engine.trust.store import PeerState, TrustStore

    if DIGEST_RE.match(fp):
        return _decide_cfengine(wd, fp, accept, yes)
    store = TrustStore(wd.ppkeys)
    peer = store.get(fp) if is_fingerprint(fp) else None
    if peer is None:
        _err(f"No key with fingerprint '{fp}' (see 'vigil key --list')")
        return 1
    target = PeerState.TRUSTED if accept else PeerState.REJECTED
    if peer.state is target:
        print(f"{fp} is already {target}")
        return 0
    if not yes and sys.stdin.isatty():
        print(f"Key {fp}\n  host '{peer.host or '-'}', address {peer.address or '-'}, "
              f"first seen {_when(peer.first_seen)}, now {peer.state}")
        if peer.changed_from:
            print(f"  WARNING: this host was trusted with another key: {peer.changed_from}")
        verb = "Trust" if accept else "Reject"
        answer = input(f"{verb} this key? (yes/no) ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    store.move(fp, target)
    print(f"{'Accepted' if accept else 'Rejected'} {fp}" + (f" ({peer.host})" if peer.host else ""))
    return 0


def _decide_cfengine(wd: Workdir, dig: str, accept: bool, yes: bool) -> int:
    """A CFEngine peer's key (``MD5=…``): pending/rejected -> ``root-MD5=….pub``, or
    pending -> rejected."""
    from engine.cfnet.peers import CfPeers

    peers = CfPeers(wd.ppkeys)
    state = peers.state_of(dig)
    if state is None:
        _err(f"No key with digest '{dig}' (see 'vigil key --list')")
        return 1
    if state == ("trusted" if accept else "rejected"):
        print(f"{dig} is already {state}")
        return 0
    if not yes and sys.stdin.isatty():
        verb = "Trust" if accept else "Reject"
        if input(f"{verb} the CFEngine key {dig} (now {state})? (yes/no) ").strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    if accept:
        peers.accept(dig)
    elif state == "pending":
        peers.reject(dig)
    else:
        _err(f"{dig} is trusted: remove ppkeys/root-{dig}.pub (cf-key -r) to stop trusting it")
        return 1
    print(f"{'Accepted' if accept else 'Rejected'} {dig}")
    return 0
