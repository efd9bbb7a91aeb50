"""The TLS certificate is made with the host key; serverd only checks it, and
makes it again (in a child process) when missing or stale."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from engine.trust.cert import cert_key, cert_matches, ensure_cert
from engine.trust.keys import HostKey, KeyFileError, generate

REPO = Path(__file__).resolve().parents[3]


def _cn(path: Path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_generate_makes_the_certificate_with_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_HOSTNAME", "hostA")
    generate(tmp_path)
    key = HostKey.load(tmp_path)
    assert key.paths.cert.exists() and stat.S_IMODE(key.paths.cert.stat().st_mode) == 0o644
    assert cert_key(key.paths.cert) == key.raw_public and cert_matches(key)
    assert _cn(key.paths.cert) == "hostA"
    mtime = key.paths.cert.stat().st_mtime_ns
    assert ensure_cert(key, "other", isolated=True) == key.paths.cert
    assert key.paths.cert.stat().st_mtime_ns == mtime  # a matching certificate is kept


def test_vigil_key_writes_the_certificate(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    out = subprocess.run([sys.executable, "-m", "engine", "key", "-w", str(wd)], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert cert_matches(HostKey.load(wd / "ppkeys"))


def _other_cert(tmp_path: Path) -> bytes:
    generate(tmp_path / "other")
    return (tmp_path / "other" / "vigil.cert").read_bytes()


@pytest.mark.parametrize("isolated", [True, False])
@pytest.mark.parametrize("damage", ["missing", "other key", "garbage", "truncated", "not PEM"])
def test_a_missing_or_stale_certificate_is_made_again(
    tmp_path: Path, damage: str, isolated: bool
) -> None:
    generate(tmp_path / "k")
    key = HostKey.load(tmp_path / "k")
    cert = key.paths.cert
    if damage == "missing":
        cert.unlink()
    elif damage == "other key":
        cert.write_bytes(_other_cert(tmp_path))
    elif damage == "garbage":
        cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    elif damage == "truncated":
        cert.write_bytes(cert.read_bytes()[:200])
    else:
        cert.write_bytes(b"\xff\xfe nothing")
    assert not cert_matches(key)
    assert ensure_cert(key, "hostA", isolated=isolated) == cert
    assert cert_key(cert) == key.raw_public


def test_a_certificate_made_in_a_child_keeps_cryptography_out(tmp_path: Path) -> None:
    generate(tmp_path)
    (tmp_path / "vigil.cert").unlink()
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from engine.trust.keys import HostKey\n"
        f"key = HostKey.load(Path({str(tmp_path)!r}))\n"
        "key.ensure_cert('hostA', isolated=True)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('cryptography'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    assert cert_matches(HostKey.load(tmp_path))


def test_a_child_reports_a_private_key_that_does_not_match(tmp_path: Path) -> None:
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    (tmp_path / "a" / "vigil.priv").write_bytes((tmp_path / "b" / "vigil.priv").read_bytes())
    (tmp_path / "a" / "vigil.cert").unlink()
    key = HostKey.load(tmp_path / "a")
    with pytest.raises(KeyFileError, match="does not match"):
        ensure_cert(key, "hostA", isolated=True)
    assert not (tmp_path / "a" / "vigil.cert").exists()
