"""The trust store on disk, and `vigil key` for peers."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from engine.trust.keys import fingerprint, generate, load_public_file
from engine.trust.store import PeerState, TrustStore


def raw_key(tmp_path: Path, name: str) -> bytes:
    generate(tmp_path / name)
    return load_public_file(tmp_path / name / "vigil.pub")


def test_add_move_remove(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "ppkeys")
    raw = raw_key(tmp_path, "peer")
    fp = fingerprint(raw)
    p = store.add(raw, PeerState.PENDING, "web07", "10.0.0.17", "root")
    assert p.key_file == tmp_path / "ppkeys/pending" / f"{fp}.pub"
    assert stat.S_IMODE((tmp_path / "ppkeys/pending").stat().st_mode) == 0o700
    assert load_public_file(p.key_file) == raw
    assert not store.is_trusted(fp)
    t = store.move(fp, PeerState.TRUSTED)
    assert store.is_trusted(fp) and not (tmp_path / "ppkeys/pending" / f"{fp}.pub").exists()
    assert (t.host, t.address, t.first_seen) == ("web07", "10.0.0.17", p.first_seen)
    assert [x.fingerprint for x in store.trusted_for_name("web07")] == [fp]
    assert store.remove("10.0.0.17") and store.get(fp) is None


def test_names_accumulate_and_sidecar_is_json(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    raw = raw_key(tmp_path, "peer")
    store.add(raw, PeerState.TRUSTED, "hub:5308", "10.0.0.1")
    peer = store.add(raw, PeerState.TRUSTED, "hub01", "10.0.0.1")
    assert peer.names == ("hub:5308", "hub01")
    side = json.loads((tmp_path / "trusted" / f"{peer.fingerprint}.json").read_text())
    assert side["names"] == ["hub:5308", "hub01"] and side["state"] == "trusted"


def test_seen_rewrites_only_on_change_or_after_a_minute(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    peer = store.add(raw_key(tmp_path, "p"), PeerState.TRUSTED, "a", "1.2.3.4")
    side = tmp_path / "trusted" / f"{peer.fingerprint}.json"
    before = side.stat().st_mtime_ns
    assert store.seen(peer, "1.2.3.4", "a") is peer  # nothing new: no write
    assert side.stat().st_mtime_ns == before
    moved = store.seen(peer, "1.2.3.5", "a")
    assert moved.address == "1.2.3.5" and json.loads(side.read_text())["address"] == "1.2.3.5"


def test_garbage_file_names_are_ignored(tmp_path: Path) -> None:
    store = TrustStore(tmp_path)
    (tmp_path / "trusted").mkdir()
    (tmp_path / "trusted" / "notafingerprint.pub").write_text("x")
    assert store.list() == []
    assert store.get("../trusted/x") is None and not store.is_trusted("SHA256:../../x")


def test_cli_trust_list_remove(make_host, tmp_path: Path) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    r = a.vigil("key", "--trust", f"root@10.1.1.2:{b.wd}/ppkeys/vigil.pub")
    assert r.returncode == 0 and b.fingerprint in r.stdout
    listed = json.loads(a.vigil("key", "--list", "--json").stdout)
    assert [(p["state"], p["host"], p["address"]) for p in listed] == [("trusted", "10.1.1.2", "10.1.1.2")]
    table = a.vigil("key", "--list").stdout
    assert "Total Entries: 1" in table and b.fingerprint in table
    assert a.vigil("key", "--remove", "10.9.9.9").returncode == 1
    assert a.vigil("key", "--remove", b.fingerprint).returncode == 0
    assert "Total Entries: 0" in a.vigil("key", "--list").stdout


def test_cli_trust_without_host_notes_it(make_host) -> None:
    a, b = make_host("hostA"), make_host("hostB")
    r = a.vigil("key", "--trust", f"{b.wd}/ppkeys/vigil.pub")
    assert r.returncode == 0 and "Establishing trust might be incomplete" in r.stdout


def test_cli_accept_unknown_fingerprint_fails(make_host) -> None:
    a = make_host("hostA")
    r = a.vigil("key", "--accept", "SHA256:" + "A" * 43)
    assert r.returncode == 1 and "No key with fingerprint" in r.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
def test_cli_accept_asks_on_a_tty(make_host, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.engine.trust.conftest import REPO

    a, b = make_host("hostA"), make_host("hostB")
    TrustStore(a.wd / "ppkeys").add(load_public_file(b.wd / "ppkeys/vigil.pub"),
                                   PeerState.PENDING, "hostB", "127.0.0.1")
    for answer, rc, state in (("no\n", 1, PeerState.PENDING), ("yes\n", 0, PeerState.TRUSTED)):
        master, slave = os.openpty()
        p = subprocess.Popen([sys.executable, "-m", "engine", "key", "-w", str(a.wd), "--accept",
                              b.fingerprint], stdin=slave, stdout=subprocess.PIPE, text=True,
                             cwd=REPO, env=a.env)
        os.close(slave)
        os.write(master, answer.encode())
        out, _ = p.communicate(timeout=20)
        os.close(master)
        assert p.returncode == rc and "Trust this key? (yes/no)" in out
        assert TrustStore(a.wd / "ppkeys").get(b.fingerprint).state is state
