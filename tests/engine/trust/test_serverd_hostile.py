"""serverd under hostile input: refusal floods, a filled pending store, huge class names.

Real serverd subprocesses on 127.0.0.1, real TLS, temp workdirs.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from engine.daemons.serverd.ratelimit import RefusalLog
from engine.trust.client import RemoteError, TrustError, connect
from engine.trust.protocol import Status
from tests.engine.trust.conftest import server_policy

ATTEMPTS = 3000
USER = os.environ.get("USER", "root")


def _refusing_policy(share: Path) -> str:
    return server_policy(share).replace('"127.0.0.1", "::1" };\n  allowallconnects',
                                        '"10.9.9.9" };\n  allowallconnects')


@pytest.mark.slow
def test_a_flood_of_refused_connections_writes_a_few_lines(make_host, start_server,
                                                           tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    a = make_host("hostA")
    a.write_policy(_refusing_policy(share))
    srv = start_server(a)
    before = srv.log.stat().st_size
    for _ in range(ATTEMPTS):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.close()
    srv.wait_for(r"further refusals from '127\.0\.0\.1' in the next 60 s are counted")
    assert srv.stop() == 0
    text = srv.text()
    lines = re.findall(r"Remote host '127\.0\.0\.1' not in allowconnects", text)
    assert len(lines) == 5
    m = re.search(r"error: Refused (\d+) more connections from '127\.0\.0\.1' in the last "
                  r"\d+ s \(not in allowconnects\)", text)
    assert m, text
    assert int(m.group(1)) >= ATTEMPTS * 0.9  # (a few may never have been accepted)
    grown = srv.log.stat().st_size - before
    assert grown < 4000, f"{grown} bytes of log for {ATTEMPTS} refusals:\n{text[-2000:]}"


def test_refusal_log_windows_with_a_fake_clock() -> None:
    now = [0.0]
    lines: list[str] = []
    log = RefusalLog(lines.append, per_source=2, total=3, window=60, clock=lambda: now[0])
    assert [log.refused(a, f"refused {a}", "why") for a in ("x", "x", "x", "y", "y", "z")] == [
        True, True, False, True, False, False]  # y's second and z: the total of 3 is used up
    assert len(lines) == 3 and "counted, not logged" in lines[1]
    now[0] = 61.0
    log.flush()
    assert lines[3:] == ["Refused 1 more connection from 'x' in the last 60 s (why)",
                         "Refused 1 more connection from 'y' in the last 60 s (why)",
                         "Refused 1 more connection from 'z' in the last 60 s (why)"]
    assert log.refused("x", "refused x", "why")  # a new window logs again


def test_refused_client_is_told_why(make_host, start_server, as_host, tmp_path: Path) -> None:
    """Not in allowconnects: the client's error names the cause and the peer's log,
    instead of an unexplained UNEXPECTED_EOF_WHILE_READING."""
    share = tmp_path / "share"
    share.mkdir()
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(_refusing_policy(share))
    srv = start_server(a)
    as_host(b)
    with pytest.raises(RemoteError) as exc:
        connect(b.wd, srv.address, on_unknown=lambda k: True)
    message = str(exc.value)
    assert f"'127.0.0.1:{srv.port}' refused the connection from 127.0.0.1" in message
    assert "allowconnects" in message and "serverd log (logs/serverd.log" in message
    assert "UNEXPECTED_EOF" not in message
    srv.wait_for(r"error: Remote host '127\.0\.0\.1' not in allowconnects, denying connection")


def _client(make_host, as_host, name: str):
    host = make_host(name)
    as_host(host)
    return host


@pytest.mark.slow
def test_pending_keys_are_capped_per_address_and_the_client_told(
        make_host, start_server, as_host, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    a = make_host("hostA")
    a.write_policy(server_policy(share))  # no trustkeysfrom: new keys are filed pending
    srv = start_server(a)
    for i in range(10):
        c = _client(make_host, as_host, f"client{i}")
        conn = connect(c.wd, srv.address, on_unknown=lambda k: True, require_trusted=False)
        assert conn.status == Status.PENDING, conn.error
        conn.close()
    eleventh = _client(make_host, as_host, "client10")
    with pytest.raises(TrustError) as exc:
        connect(eleventh.wd, srv.address, on_unknown=lambda k: True)
    assert exc.value.status == Status.DENIED
    assert ("was not filed as pending: hostA already holds 10 pending keys from 127.0.0.1"
            in str(exc.value))
    assert len(list((a.wd / "ppkeys" / "pending").glob("*.pub"))) == 10
    srv.wait_for(r"Not filing key SHA256:\S+ \(host 'client10'\) as pending")


@pytest.mark.slow
def test_full_pending_store_refuses_and_says_so(make_host, start_server, as_host,
                                                tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    a = make_host("hostA")
    a.write_policy(server_policy(share))
    pending = a.wd / "ppkeys" / "pending"
    pending.mkdir(parents=True)
    for i in range(1000):  # the store as a flood of other addresses left it
        (pending / f"SHA256:{i:043d}.pub").write_text("")
    srv = start_server(a)
    c = _client(make_host, as_host, "late")
    conn = connect(c.wd, srv.address, on_unknown=lambda k: True, require_trusted=False)
    conn.close()
    assert conn.status == Status.DENIED
    assert "the pending-key store of hostA is full (1000 keys)" in conn.error
    assert len(list(pending.glob("*.pub"))) == 1000


@pytest.fixture
def runner(make_host, start_server, as_host, tmp_path: Path):
    share = tmp_path / "share"
    share.mkdir()
    marker = tmp_path / "ran"
    script = tmp_path / "run.sh"
    script.write_text(f'echo "$@" > {marker}\n')
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(
        share, trustkeysfrom="127.0.0.1", allowusers=USER, cfruncommand=f"/bin/sh {script}",
        extra_access='    "/bin/sh" admit_ips => { "127.0.0.1" };',
        roles=f'    ".*" authorize => {{ "root", "{USER}" }};',
    ))
    srv = start_server(a)
    as_host(b)
    conn = connect(b.wd, srv.address, on_unknown=lambda k: True)
    yield conn, srv, marker
    conn.close()


@pytest.mark.parametrize(("classes", "words"), [
    (["a" * 100_000], "class name of 100000 characters is too long (at most 1024)"),
    (["ok", "bad-name"], "invalid class name 'bad-name': only letters, digits and '_'"),
    ([f"c{i}" for i in range(300)], "too many classes: 300 sent, at most 256 allowed"),
])
def test_run_class_names_are_validated(runner, classes: list[str], words: str) -> None:
    conn, srv, marker = runner
    with pytest.raises(RemoteError) as exc:
        list(conn.run(classes))
    assert words in str(exc.value)
    assert len(str(exc.value)) < 300
    assert not marker.exists()
    assert "executing cfruncommand" not in srv.text()
    assert max(len(line) for line in srv.text().splitlines()) < 500
    # the connection is still good: a proper run works
    out = list(conn.run(["fine_class"]))
    assert out[-1] == 0 and marker.read_text() == "-D fine_class\n"
