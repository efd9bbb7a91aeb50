"""serverd trust decisions over real TLS, with real subprocesses on 127.0.0.1."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.trust.client import RemoteError, TrustError, connect, copy_from_remote, remote_stat
from engine.trust.keys import generate
from engine.trust.protocol import Status
from engine.trust.store import PeerState, TrustStore
from tests.engine.trust.conftest import REPO, server_policy


@pytest.fixture
def share(tmp_path: Path) -> Path:
    d = tmp_path / "share"
    d.mkdir()
    (d / "data.txt").write_text("payload\n")
    return d


def trust_server_key(client, server) -> None:
    """What `vigil key --trust HOST:FILE` does, done through the CLI."""
    r = client.vigil("key", "--trust", f"127.0.0.1:{server.wd}/ppkeys/vigil.pub")
    assert r.returncode == 0, r.stderr


def test_untrusted_client_is_refused_and_filed_pending_then_accepted(
    make_host, start_server, as_host, share
) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share))
    srv = start_server(a)
    trust_server_key(b, a)
    as_host(b)
    with pytest.raises(TrustError) as exc:
        remote_stat(b.wd, srv.address, str(share / "data.txt"))
    assert exc.value.status == Status.PENDING
    srv.wait_for(rf"TRUST FAILED, peer presented an untrusted key.*{b.fingerprint}")
    pending = TrustStore(a.wd / "ppkeys").list(PeerState.PENDING)
    assert [p.fingerprint for p in pending] == [b.fingerprint]
    assert pending[0].host == "hostB" and pending[0].address == "127.0.0.1"
    assert pending[0].first_seen > 0

    listed = a.vigil("key", "--list")
    assert "pending" in listed.stdout and b.fingerprint in listed.stdout
    accepted = a.vigil("key", "--accept", b.fingerprint)  # stdin is not a TTY: no prompt
    assert accepted.returncode == 0, accepted.stderr
    st = remote_stat(b.wd, srv.address, str(share / "data.txt"))
    assert st["type"] == "file" and st["size"] == len("payload\n")


def test_rejected_key_stays_refused(make_host, start_server, as_host, share) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share))
    srv = start_server(a)
    trust_server_key(b, a)
    as_host(b)
    with pytest.raises(TrustError):
        remote_stat(b.wd, srv.address, str(share / "data.txt"))
    assert a.vigil("key", "--reject", b.fingerprint, "--yes").returncode == 0
    with pytest.raises(TrustError) as exc:
        remote_stat(b.wd, srv.address, str(share / "data.txt"))
    assert exc.value.status == Status.REJECTED
    assert TrustStore(a.wd / "ppkeys").get(b.fingerprint).state is PeerState.REJECTED


def test_trustkeysfrom_admits_a_new_key(make_host, start_server, as_host, share) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1"))
    srv = start_server(a)
    as_host(b)
    # trustkey: the client also trusts the server's key on first contact
    result = copy_from_remote(b.wd, srv.address, str(share / "data.txt"), b.wd / "got.txt",
                              trustkey=True)
    assert result.changed and (b.wd / "got.txt").read_text() == "payload\n"
    srv.wait_for(rf"Trusting new key: {b.fingerprint}")
    assert TrustStore(a.wd / "ppkeys").is_trusted(b.fingerprint)
    assert TrustStore(b.wd / "ppkeys").is_trusted(a.fingerprint)


def test_unknown_server_key_fails_without_trustkey(make_host, start_server, as_host, share) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1"))
    srv = start_server(a)
    as_host(b)
    with pytest.raises(TrustError, match=f"TRUST FAILED, server presented untrusted key: {a.fingerprint}"):
        copy_from_remote(b.wd, srv.address, str(share / "data.txt"), b.wd / "got.txt")
    assert not (b.wd / "got.txt").exists()
    assert TrustStore(b.wd / "ppkeys").list() == []


def test_changed_client_key_is_refused_naming_both_keys(make_host, start_server, as_host, share) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1"))
    srv = start_server(a)
    trust_server_key(b, a)
    as_host(b)
    remote_stat(b.wd, srv.address, str(share / "data.txt"))  # trusted via trustkeysfrom
    old = b.fingerprint
    for f in (b.wd / "ppkeys").glob("vigil.*"):
        f.unlink()
    new = generate(b.wd / "ppkeys")
    with pytest.raises(TrustError) as exc:
        remote_stat(b.wd, srv.address, str(share / "data.txt"))
    assert exc.value.status == Status.CHANGED
    line = srv.wait_for(rf".*{old}.*{new}.*").group(0)
    assert "refusing" in line
    assert "HOST KEY CHANGED for 'hostB'" in srv.text()
    pend = TrustStore(a.wd / "ppkeys").get(new)
    assert pend.state is PeerState.PENDING and pend.changed_from == old


def test_changed_server_key_is_refused_by_the_client(make_host, start_server, as_host, share) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1"))
    srv = start_server(a)
    as_host(b)
    remote_stat_ok = copy_from_remote(b.wd, srv.address, str(share / "data.txt"), b.wd / "x",
                                      trustkey=True)
    assert remote_stat_ok.changed
    srv.stop()
    old = a.fingerprint
    for f in (a.wd / "ppkeys").glob("vigil.*"):
        f.unlink()
    new = generate(a.wd / "ppkeys")
    srv2 = start_server(a, "--port", str(srv.port))
    with pytest.raises(TrustError) as exc:
        copy_from_remote(b.wd, srv2.address, str(share / "data.txt"), b.wd / "x", trustkey=True)
    assert old in str(exc.value) and new in str(exc.value) and "HOST KEY CHANGED" in str(exc.value)
    # trustkey never accepts a changed key silently
    assert not TrustStore(b.wd / "ppkeys").is_trusted(new)


def test_allowconnects_refuses_before_tls(make_host, start_server, as_host, share) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share).replace('"127.0.0.1", "::1" };\n  allowallconnects',
                                                '"10.9.9.9" };\n  allowallconnects'))
    srv = start_server(a)
    as_host(b)
    with pytest.raises(RemoteError):
        connect(b.wd, srv.address, on_unknown=lambda k: True)
    srv.wait_for(r"error: Remote host '127\.0\.0\.1' not in allowconnects, denying connection")


def test_pidfile_is_written_and_removed(make_host, start_server, share) -> None:
    a = make_host("hostA")
    a.write_policy(server_policy(share))
    srv = start_server(a)
    pidfile = a.wd / "serverd.pid"
    assert pidfile.read_text().strip() == str(srv.proc.pid)
    # a second serverd on the same workdir refuses to start
    second = subprocess.run(
        [sys.executable, "-m", "engine", "serverd", "-F", "-w", str(a.wd), "--port", "0",
         "--bind", "127.0.0.1"], capture_output=True, text=True, env=a.env, cwd=REPO, timeout=20,
    )
    assert second.returncode == 1 and "already running" in second.stdout, second.stdout
    assert srv.stop() == 0
    assert not pidfile.exists()
    assert "Cleaning up and exiting..." in srv.text()


def test_sighup_rereads_policy(make_host, start_server, as_host, share, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "f").write_text("1")
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1"))
    srv = start_server(a)
    as_host(b)
    with pytest.raises(RemoteError, match="access denied"):
        copy_from_remote(b.wd, srv.address, str(other / "f"), b.wd / "f", trustkey=True)
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1",
                                 extra_access=f'    "{other}" admit_ips => {{ "127.0.0.1" }};'))
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for("Rereading policy file")
    assert remote_stat(b.wd, srv.address, str(other / "f"))["size"] == 1
    # a policy that no longer parses keeps the previous configuration
    a.write_policy("bundle server broken {")
    srv.proc.send_signal(signal.SIGHUP)
    srv.wait_for("keeping the previous configuration")
    assert remote_stat(b.wd, srv.address, str(other / "f"))["size"] == 1
