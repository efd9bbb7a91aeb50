"""RSA host key, digests, trusted peer files and cf_lastseen.lmdb, checked against cf-key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cfnet import lastseen, rsakey
from engine.cfnet.peers import CfPeers
from engine.trust.keys import HostKey, key_stem
from tests.cfengine import cf_env, make_workdir, requires_cfengine

REPO = Path(__file__).resolve().parents[3]


def cf_key(wd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    make_workdir(wd, keys=None, failsafe=None)
    return subprocess.run(["cf-key", *args], env=cf_env(wd), capture_output=True, text=True,
                          timeout=60)


def vigil(wd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args, "-w", str(wd)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@requires_cfengine
def test_vigil_key_makes_the_rsa_key_cf_key_reads(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    r = vigil(wd, "key")
    assert r.returncode == 0, r.stderr
    pp = wd / "ppkeys"
    assert (pp / "localhost.priv").read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert (pp / "localhost.pub").read_text().startswith("-----BEGIN RSA PUBLIC KEY-----")
    assert (pp / "localhost.priv").stat().st_mode & 0o777 == 0o600
    assert key_stem(pp) == "vigil" and (pp / "vigil.pub").exists()
    printed = cf_key(wd, "-p", str(pp / "localhost.pub"))
    assert printed.stdout.strip() == rsakey.host_digest(pp)
    assert vigil(wd, "key", "-p", str(pp / "localhost.pub")).stdout.strip() == rsakey.host_digest(pp)
    assert vigil(wd, "key", "-p").stdout.strip() == HostKey(pp).fingerprint
    again = vigil(wd, "key")
    assert again.returncode == 1 and "A key file already exists" in again.stderr


@requires_cfengine
def test_rsa_numbers_from_cf_key_files_and_certificates(tmp_path: Path) -> None:
    wd = tmp_path / "cf"
    assert cf_key(wd).returncode == 0
    pp = wd / "ppkeys"
    n, e = rsakey.load_public(pp / "localhost.pub")
    assert e == 65537 and n.bit_length() >= 2048
    assert rsakey.public_pem(n, e) == (pp / "localhost.pub").read_bytes()
    assert rsakey.ensure_cert(pp, isolated=True) == pp / rsakey.CERT
    assert rsakey.cert_is_current(pp)
    for junk in (b"", b"\x30\x00", b"\x30\x82\xff\xff", os.urandom(300), b"-----BEGIN X-----\n!!\n"):
        with pytest.raises(rsakey.RSAKeyError):
            rsakey.numbers(rsakey.unpem(junk))


@requires_cfengine
def test_trusted_peer_file_is_the_one_cf_key_writes(tmp_path: Path) -> None:
    peer = tmp_path / "peer"
    assert cf_key(peer).returncode == 0
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    n, e = rsakey.load_public(peer / "ppkeys" / "localhost.pub")
    dig = CfPeers(ours / "ppkeys").trust(n, e)
    assert cf_key(theirs).returncode == 0
    r = cf_key(theirs, "-t", f"root@127.0.0.1:{peer}/ppkeys/localhost.pub")
    assert r.returncode == 0, r.stderr
    assert (ours / "ppkeys" / f"root-{dig}.pub").read_bytes() == \
        (theirs / "ppkeys" / f"root-{dig}.pub").read_bytes()


def test_pending_rejected_and_changed(tmp_path: Path) -> None:
    pp = tmp_path / "ppkeys"
    peers = CfPeers(pp)
    n1, n2 = (1 << 2047) + 12345, (1 << 2047) + 67891
    p, why = peers.file_pending(n1, 65537, "10.0.0.1")
    assert p is not None and why == "pending" and peers.state_of(p.digest) == "pending"
    peers.reject(p.digest)
    assert peers.file_pending(n1, 65537, "10.0.0.1")[1] == "rejected"
    d1 = peers.accept(p.digest)
    assert peers.state_of(d1) == "trusted" and (pp / f"root-{d1}.pub").exists()
    peers.bind_name("hub:5308", d1)
    from engine.cfengine.keys import digest

    d2 = digest(n2, 65537)
    assert peers.changed_from("hub:5308", d2) == d1
    assert peers.changed_from("other:5308", d2) is None
    for i in range(10):
        assert peers.file_pending(n2 + 2 * i, 65537, "10.0.0.9")[0] is not None
    assert peers.file_pending(n2 + 99, 65537, "10.0.0.9")[0] is None


@requires_cfengine
def test_lastseen_is_listed_by_cf_key(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    lastseen.saw(wd / "state", "127.0.0.1", "MD5=" + "1" * 32, incoming=True)
    lastseen.saw(wd / "state", "10.9.8.7", "MD5=" + "2" * 32, incoming=False)
    lastseen.saw(wd / "state", "10.9.8.7", "MD5=" + "2" * 32, incoming=False)
    out = cf_key(wd, "-s").stdout
    assert "Incoming   127.0.0.1" in out and "MD5=" + "1" * 32 in out
    assert "Outgoing   10.9.8.7" in out and "Total Entries: 2" in out
    assert lastseen.key_at(wd / "state", "10.9.8.7") == "MD5=" + "2" * 32
