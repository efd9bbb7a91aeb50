"""``$(connection.ip)`` in access rules, for vigil's own clients: each client is served
its own file, a file named for another address is not served (as for CFEngine's
clients, tests/engine/cfnet/test_serverd_cf_policy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.trust.client import RemoteError, connect
from tests.engine.trust.conftest import server_policy


def test_connection_ip_names_the_clients_own_file(make_host, start_server, as_host,
                                                  tmp_path: Path) -> None:
    share, mine = tmp_path / "share", tmp_path / "per-client"
    share.mkdir()
    mine.mkdir()
    (mine / "127.0.0.1.txt").write_text("for 127.0.0.1\n")
    (mine / "127.0.0.2.txt").write_text("for 127.0.0.2\n")
    a, b = make_host("hostA"), make_host("hostB")
    a.write_policy(server_policy(share, trustkeysfrom="127.0.0.1", extra_access=(
        f'    "{mine}/$(connection.ip).txt" admit_ips => {{ "$(connection.ip)" }};')))
    srv = start_server(a)
    as_host(b)
    conn = connect(b.wd, srv.address, on_unknown=lambda k: True)
    try:
        assert conn.stat(str(mine / "127.0.0.1.txt"))["size"] == len("for 127.0.0.1\n")
        with pytest.raises(RemoteError):
            conn.stat(str(mine / "127.0.0.2.txt"))
    finally:
        conn.close()
