"""File service and remote runs: confinement, transfers, and who may run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.trust.client import RemoteError, connect, copy_from_remote, remote_get
from tests.engine.trust.conftest import server_policy


@pytest.fixture
def pair(make_host, start_server, as_host, tmp_path: Path):
    share = tmp_path / "share"
    (share / "sub").mkdir(parents=True)
    (share / "data.txt").write_text("payload\n")
    (share / "sub" / "inner.txt").write_text("inner\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve\n")
    os.symlink(secret, share / "escape")
    os.symlink(share / "sub" / "inner.txt", share / "inside")
    os.symlink(tmp_path, share / "updir")
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(
        share, trustkeysfrom="127.0.0.1", allowusers=os.environ.get("USER", "root"),
        cfruncommand="/bin/echo remote run on A",
        extra_access='    "/bin/echo" admit_ips => { "127.0.0.1" };',
        roles=f'    "Myclass_.*" authorize => {{ "root", "{os.environ.get("USER", "root")}" }};',
    ))
    srv = start_server(a)
    as_host(b)
    conn = connect(b.wd, srv.address, on_unknown=lambda k: True)
    yield conn, share, srv, b, a
    conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "{share}/../secret.txt",
        "{share}/sub/../../secret.txt",
        "{share}/escape",  # symlink to a file outside the share
        "{share}/updir/secret.txt",  # through a symlinked directory
        "{tmp}/secret.txt",
        "/etc/passwd",
        "secret.txt",
        "{share}/data.txt\x00.png",
    ],
)
@pytest.mark.slow
def test_paths_outside_the_admitted_root_are_refused(pair, path: str) -> None:
    conn, share, srv, b, a = pair
    p = path.format(share=share, tmp=share.parent)
    for call in (conn.stat, conn.digest):
        with pytest.raises(RemoteError):
            call(p)
    with open(os.devnull, "wb") as sink, pytest.raises(RemoteError):
        conn.get(p, sink)
    # the connection survives a refusal
    assert conn.stat(str(share / "data.txt"))["size"] == 8


def test_symlink_inside_the_root_is_followed(pair) -> None:
    conn, share, *_ = pair
    assert conn.stat(str(share / "inside"))["size"] == len("inner\n")


def test_refusal_is_logged_like_cf_serverd(pair) -> None:
    conn, share, srv, *_ = pair
    with pytest.raises(RemoteError):
        conn.stat("/etc/passwd")
    srv.wait_for(r"info: 127\.0\.0\.1>\s+access denied to STAT: /etc/passwd")


@pytest.mark.slow
def test_list_digest_and_get(pair, tmp_path: Path) -> None:
    conn, share, *_ = pair
    names = {e["name"]: e["type"] for e in conn.listdir(str(share))}
    assert names == {"data.txt": "file", "sub": "dir", "escape": "link", "inside": "link",
                     "updir": "link"}
    import hashlib

    assert conn.digest(str(share / "data.txt")) == hashlib.sha256(b"payload\n").hexdigest()
    out = tmp_path / "out"
    with open(out, "wb") as f:
        st = conn.get(str(share / "data.txt"), f)
    assert out.read_bytes() == b"payload\n" and st["size"] == 8


def test_get_resumes_from_an_offset(pair, tmp_path: Path) -> None:
    conn, share, srv, b, _a = pair
    big = share / "big.bin"
    data = os.urandom(700_000)  # several data frames
    big.write_bytes(data)
    part = tmp_path / "part"
    part.write_bytes(data[:123_456])
    remote_get(b.wd, srv.address, str(big), part, resume=True)
    assert part.read_bytes() == data


def test_copy_from_remote_compares_and_is_atomic(pair, tmp_path: Path) -> None:
    conn, share, srv, b, _a = pair
    dest = tmp_path / "dest" / "data.txt"
    src = str(share / "data.txt")
    first = copy_from_remote(b.wd, srv.address, src, dest)
    assert first.changed and dest.read_text() == "payload\n"
    assert not copy_from_remote(b.wd, srv.address, src, dest).changed
    dest.write_text("local edit\n")
    assert copy_from_remote(b.wd, srv.address, src, dest, compare="exists").changed is False
    again = copy_from_remote(b.wd, srv.address, src, dest)
    assert again.changed and dest.read_text() == "payload\n"
    assert not [p for p in dest.parent.iterdir() if p.name != "data.txt"]  # no temp left


def test_remote_run_streams_output_and_exit(pair) -> None:
    conn, *_ = pair
    out = list(conn.run(["Myclass_x"]))
    assert out[-1] == 0
    assert b"".join(x for x in out if isinstance(x, bytes)) == b"remote run on A -D Myclass_x\n"


def test_run_refuses_classes_no_role_grants(pair) -> None:
    conn, *_ = pair
    with pytest.raises(RemoteError, match="not authorized to define class 'Other'"):
        list(conn.run(["Other"]))


def test_run_refused_for_a_user_not_in_allowusers(make_host, start_server, as_host, tmp_path) -> None:
    share = tmp_path / "s"
    share.mkdir()
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1", allowusers="nobody-else",
                                 cfruncommand="/bin/echo ran",
                                 extra_access='    "/bin/echo" admit_ips => { "127.0.0.1" };'))
    srv = start_server(a)
    as_host(b)
    with connect(b.wd, srv.address, on_unknown=lambda k: True) as c, pytest.raises(
        RemoteError, match="EXEC denied due to not allowed user"
    ):
        list(c.run())
    srv.wait_for("EXEC denied due to not allowed user")
    assert "executing cfruncommand" not in srv.text()


def test_unauthenticated_client_cannot_run(make_host, start_server, as_host, tmp_path) -> None:
    share = tmp_path / "s"
    share.mkdir()
    marker = tmp_path / "ran"
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, allowusers=os.environ.get("USER", "root"),
                                 cfruncommand=f"/usr/bin/touch {marker}",
                                 extra_access='    "/usr/bin/touch" admit_ips => { "127.0.0.1" };'))
    srv = start_server(a)
    as_host(b)
    r = b.vigil("runagent", srv.address)  # does not know A's key
    assert r.returncode == 255 and "TRUST FAILED, server presented untrusted key" in r.stderr
    r = b.vigil("runagent", srv.address, "-i", stdin="yes\n")  # trusts A; A does not trust B
    assert r.returncode == 255 and "pending" in r.stdout
    # a raw client that skips the hello and asks to run straight away
    from engine.trust import frames
    from tests.engine.trust.test_serverd_robustness import closed_by_server, tls_sock

    s = tls_sock(srv.port)
    frames.recv_frame(s, 1 << 20)
    s.sendall(frames.encode_message({"op": "run", "classes": []}))
    assert closed_by_server(s, 5)
    assert not marker.exists()
    srv.wait_for("expected hello")
