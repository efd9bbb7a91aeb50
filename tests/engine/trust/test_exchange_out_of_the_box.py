"""Key exchange between two fresh workdirs running the shipped policy.

The shipped ``body server control`` admits loopback, so an on-box admin's
exchange works out of the box; a refused connection reaches the user as the
reason; and the standing claims only what was checked (keys), naming both hosts
the way each names itself.
"""

from __future__ import annotations

import pytest

from engine.seed import seed_workdir
from engine.trust.client import RemoteError, connect
from engine.trust.exchange import probe, standing, trust
from engine.trust.store import PeerState, TrustStore
from engine.workdir import Workdir


def test_exchange_between_fresh_workdirs(make_host, start_server, as_host) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    assert seed_workdir(Workdir(a.wd)), "the shipped policy is missing"
    assert "body server control" in (a.wd / "inputs" / "promises.cf").read_text()
    srv = start_server(a)
    as_host(b)

    p = probe(b.wd, "127.0.0.1", srv.port)  # refused (UNEXPECTED_EOF) without the policy
    assert p.fingerprint == a.fingerprint and p.server_host == "hostA"
    assert p.name == f"hostA (127.0.0.1:{srv.port})"
    trust(b.wd, p, p.address)

    mine = standing(b.wd, "127.0.0.1", srv.port)
    assert (mine.status, mine.peer, mine.me) == ("pending", p.name, "hostB")
    words = mine.describe()
    assert words.startswith(f"◐ hostA (127.0.0.1:{srv.port}) has the key of this host "
                            f"('hostB', {b.fingerprint}) PENDING")
    assert f"vigil key --accept {b.fingerprint}" in words
    # the peer lists this host under the very name the console used for it
    listed = TrustStore(a.wd / "ppkeys").get(b.fingerprint)
    assert listed is not None and listed.state is PeerState.PENDING and listed.host == "hostB"

    assert a.vigil("key", "--accept", b.fingerprint, "--yes").returncode == 0
    mine = standing(b.wd, "127.0.0.1", srv.port)
    assert mine.status == "trusted" and mine.seen_from == "127.0.0.1"
    words = mine.describe()
    assert "trusts the key of this host ('hostB'" in words
    assert "Only keys were checked" in words
    assert "will work" not in words  # runs are not allowed by the shipped policy ...
    with connect(b.wd, srv.address) as conn, pytest.raises(
            RemoteError, match="EXEC denied due to not allowed user"):
        list(conn.run())  # ... and indeed they are not


def test_refused_exchange_names_the_cause(make_host, start_server, as_host) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy('body server control { allowconnects => { "10.9.9.9" }; }\n')
    srv = start_server(a)
    as_host(b)
    with pytest.raises(RemoteError) as exc:
        probe(b.wd, "127.0.0.1", srv.port)
    message = str(exc.value)
    assert "refused the connection from 127.0.0.1" in message
    assert "allowconnects" in message and "logs/serverd.log" in message
    srv.wait_for(r"Remote host '127\.0\.0\.1' not in allowconnects, denying connection")


@pytest.mark.parametrize(("status", "error", "expected"), [
    ("rejected", "key X is rejected on hostA", "✗ P has REJECTED the key of this host ('me', FP)"
                                               ": key X is rejected on hostA"),
    ("denied", "refused: key FP was not filed as pending: the pending-key store of hostA is "
               "full (1000 keys); ...", "✗ P refused this host ('me', FP): refused: key FP was "
                                        "not filed as pending"),
    ("changed", "", "✗ P knows a DIFFERENT key for 'me' (KEY CHANGED there)"),
])
def test_standing_words_carry_the_peer_reason(status: str, error: str, expected: str) -> None:
    from engine.trust.exchange import Standing

    assert Standing(status, "P", "me", "FP", error).describe().startswith(expected)
