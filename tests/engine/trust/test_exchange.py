"""The key exchange: the console's API, and the CLI flow end to end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.trust.client import copy_from_remote
from engine.trust.exchange import peer_has_us_pending, probe, trust
from engine.trust.keys import generate
from engine.trust.store import PeerState, TrustStore
from tests.engine.trust.conftest import server_policy


def test_probe_trust_and_standing(make_host, start_server, as_host, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share))
    srv = start_server(a)
    as_host(b)
    p = probe(b.wd, "127.0.0.1", srv.port)
    assert (p.fingerprint, p.known, p.changed_from) == (a.fingerprint, False, None)
    assert TrustStore(b.wd / "ppkeys").list() == []  # probing trusts nothing
    peer = trust(b.wd, p, "hostA")
    assert peer.state is PeerState.TRUSTED and "hostA" in peer.names
    assert probe(b.wd, srv.address).known
    assert peer_has_us_pending(b.wd, "127.0.0.1", srv.port) == "pending"
    assert TrustStore(a.wd / "ppkeys").get(b.fingerprint).state is PeerState.PENDING
    assert a.vigil("key", "--accept", b.fingerprint).returncode == 0
    assert peer_has_us_pending(b.wd, "127.0.0.1", srv.port) == "trusted"
    assert a.vigil("key", "--reject", b.fingerprint, "--yes").returncode == 0
    assert peer_has_us_pending(b.wd, "127.0.0.1", srv.port) == "rejected"

    # the server is re-keyed: the probe shows both keys
    srv.stop()
    for f in (a.wd / "ppkeys").glob("vigil.*"):
        f.unlink()
    new = generate(a.wd / "ppkeys")
    srv2 = start_server(a, "--port", str(srv.port))
    p2 = probe(b.wd, srv2.address)
    assert (p2.fingerprint, p2.known, p2.changed_from) == (new, False, a.fingerprint)


@pytest.mark.slow
def test_two_hosts_exchange_keys_with_the_cli_then_copy(
    make_host, start_server, as_host, tmp_path: Path
) -> None:
    """Done when: B copies a file from A's serverd after `vigil runagent -i` on B
    (answering yes) and `vigil key --accept` on A."""
    share = tmp_path / "share"
    share.mkdir()
    (share / "motd").write_text("welcome from A\n")
    a, b = make_host("hostA"), make_host("hostB")
    user = os.environ.get("USER", "root")
    a.write_policy(server_policy(share, allowusers=user, cfruncommand="/bin/echo A ran",
                                 extra_access='    "/bin/echo" admit_ips => { "127.0.0.1" };'))
    srv = start_server(a)

    first = b.vigil("runagent", srv.address, "-i", stdin="yes\n")
    assert "WARNING - You do not have a public key from host 127.0.0.1" in first.stdout
    assert a.fingerprint in first.stdout and "--> Will trust the key..." in first.stdout
    assert first.returncode == 255 and "pending" in first.stdout  # A does not know B yet

    listed = a.vigil("key", "--list", "--json")
    import json

    pending = [p for p in json.loads(listed.stdout) if p["state"] == "pending"]
    assert [p["fingerprint"] for p in pending] == [b.fingerprint]
    assert a.vigil("key", "--accept", b.fingerprint).returncode == 0

    second = b.vigil("runagent", srv.address)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "127.0.0.1> -> A ran" in second.stdout and "(exit code: 0)" in second.stdout

    as_host(b)
    result = copy_from_remote(b.wd, srv.address, str(share / "motd"), b.wd / "motd")
    assert result.changed and (b.wd / "motd").read_text() == "welcome from A\n"
