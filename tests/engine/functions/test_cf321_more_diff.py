"""Functions of CFEngine 3.21 that vigil gained late: version checks, hashes as
numbers, data checks, file times, upward searches, free disk space, the module
protocol and network readers. Vigil against cf-agent, every call in one policy."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.eval.functions import registry
from tests.cfengine import requires_cfengine
from tests.engine.functions.conftest import (
    Case,
    FnTestEnv,
    cf_results,
    make_cf_workdir,
    vigil_result,
)
from tests.engine.functions.policy_diff import reports


def _is_class(fn: str) -> bool:
    spec = registry.lookup(fn)
    return spec is not None and spec.returns == "class"


SETUP: dict[str, object] = {}

VERSIONS = ["3", "3.21", "3.21.0", "3.21.1", "3.20.9", "3.22", "4", "2", "3.21.0.1", "3.21.x",
            "", "3.", "03.21", " 3", "3.21-1", "3..21", "-3", "x3", "+3.21"]


def version_cases() -> list[Case]:
    cases: list[Case] = [("cf_version_at", [v]) for v in VERSIONS]
    cases += [("cf_version_after", [v]) for v in VERSIONS]
    cases += [("cf_version_before", [v]) for v in VERSIONS]
    cases += [("cf_version_maximum", [v]) for v in VERSIONS]
    cases += [("cf_version_minimum", [v]) for v in VERSIONS]
    cases += [("cf_version_between", [low, high]) for low, high in [
        ("3.20", "3.21"), ("3.21", "3.20"), ("3", "3"), ("3.21.1", "4"), ("2", "3.20"),
        ("x", "4"), ("3", "y"), ("3.21.0", "3.21.0")]]
    return cases


def make_files(root: Path) -> None:
    up = root / "up"
    (up / "a" / "b" / "c").mkdir(parents=True)
    (up / "a" / "x.d").mkdir()
    (up / "a" / ".git").mkdir()
    (up / "a" / ".hid").mkdir()
    for name in ("vigil-up-1.cf", "a/vigil-up-2.cf", "a/b/y.cf", "a/b/vigil-up-3.cf", "a/b/c/z.txt",
                 "a/.gitignore", "a/.git/config", "a/.hid/h.txt"):
        (up / name).write_text("x\n")
    (root / "t1").write_text("1")
    (root / "t2").write_text("2")
    os.utime(root / "t1", (1_600_000_000, 1_600_000_000))
    os.utime(root / "t2", (1_610_000_000, 1_600_000_000))
    time.sleep(1.05)  # change times are compared in whole seconds
    (root / "t2").chmod(0o600)
    (root / "h.txt").write_text("hello\n")
    (root / "g.env").write_text("A=1\n# x\nB=22\nC=3\n")
    (root / "f.env").write_text('A=1\nB="two words"\n# c\nexport C=3\nD=x\\ty\n')


HELLO_MD5 = "b1946ac92492d2347c6235b4d2611184"
HELLO_SHA256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


def data_cases(root: Path) -> list[Case]:
    r = str(root)
    bounds = [("0", "100"), ("100", "0"), ("-100", "-50"), ("5", "5"), ("0", "2"), ("1k", "2k"),
              ("0", "99999999999"), ("-99999999999", "99999999999")]
    cases: list[Case] = [("hash_to_int", [lo, hi, s]) for lo, hi in bounds
                         for s in ("a", "hello", "host1.example.com", "")]
    cases += [
        ("hashmatch", [f"{r}/h.txt", "md5", HELLO_MD5]),
        ("hashmatch", [f"{r}/h.txt", "sha256", HELLO_SHA256]),
        ("hashmatch", [f"{r}/h.txt", "md5", HELLO_MD5.upper()]),
        ("hashmatch", [f"{r}/h.txt", "md5", HELLO_MD5[:8]]),
        ("hashmatch", [f"{r}/h.txt", "sha1", HELLO_MD5]),
        ("hashmatch", [f"{r}/missing", "md5", HELLO_MD5]),
        ("validdata", ['{"a": 1}', "JSON"]),
        ("validdata", ['{"a":', "JSON"]),
        ("validdata", ['"str"', "JSON"]),
        ("validdata", ["1", "JSON"]),
        ("validdata", ["", "JSON"]),
        ("string", ["x"]),
        ("string", [""]),
        ("readenvfile", [f"{r}/f.env"]),
        ("readenvfile", [f"{r}/f.env", "10"]),
        ("readenvfile", [f"{r}/missing.env"]),
        ("readenvfile", [f"{r}/g.env", "6"]),
        ("readenvfile", [f"{r}/g.env", "7"]),
        ("readenvfile", [f"{r}/g.env", "9"]),
        ("readenvfile", [f"{r}/g.env", "0"]),
    ]
    return cases


def file_cases(root: Path) -> list[Case]:
    r = str(root)
    c = f"{r}/up/a/b/c"
    return [
        ("accessedbefore", [f"{r}/t1", f"{r}/t2"]),
        ("accessedbefore", [f"{r}/t2", f"{r}/t1"]),
        ("accessedbefore", [f"{r}/t1", f"{r}/t1"]),
        ("accessedbefore", [f"{r}/missing", f"{r}/t1"]),
        ("changedbefore", [f"{r}/t1", f"{r}/t2"]),
        ("changedbefore", [f"{r}/t2", f"{r}/t1"]),
        ("changedbefore", [f"{r}/t2", f"{r}/t2"]),
        ("changedbefore", [f"{r}/t1", f"{r}/missing"]),
        ("diskfree", ["/proc"]),
        ("diskfree", ["/dev"]),  # devtmpfs: its free space does not move
        ("diskfree", [f"{r}/missing"]),
        ("findfiles_up", [c, "*.cf", "0"]),
        ("findfiles_up", [c, "*.cf", "1"]),
        ("findfiles_up", [c, "*.cf", "2"]),
        ("findfiles_up", [c, "*", "1"]),
        ("findfiles_up", [c + "/", "vigil-up-*"]),
        ("findfiles_up", [c, "vigil-up-[12].cf", "inf"]),
        ("findfiles_up", [c, "b/*.cf", "3"]),
        ("findfiles_up", [c, "*/*", "2"]),
        ("findfiles_up", [c, "z.txt", "0"]),
        ("findfiles_up", [c, "nomatch", "3"]),
        ("findfiles_up", [c, ".gitignore", "3"]),
        ("findfiles_up", [c, ".git/", "3"]),
        ("findfiles_up", [c, ".git/config", "3"]),
        ("findfiles_up", [c, "**/*.txt", "3"]),  # names starting with a dot are not matched
        ("findfiles_up", [c, "*/*.{txt,cf}", "3"]),  # braces are literal in 3.21
        ("findfiles_up", [f"{c}/z.txt", "*.cf", "1"]),
        ("findfiles_up", [f"{r}/missing/q", "*.cf", "1"]),
        ("findfiles_up", ["up/a", "*.cf", "1"]),
        ("search_up", [c, "vigil-up-*", "2"]),
        ("search_up", [c, "*.txt"]),
    ]


def cases_for(root: Path) -> list[Case]:
    return version_cases() + data_cases(root) + file_cases(root)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cf321")
    make_files(root)
    return root


def compare(root: Path, cases: list[Case], name: str) -> list[str]:
    workdir = make_cf_workdir(root / "wd")
    theirs = cf_results(workdir, cases, SETUP, name)
    env = FnTestEnv(SETUP, workdir=str(workdir))
    mismatches = []
    for i, (fn, args) in enumerate(cases):
        ours = vigil_result(env, fn, args)
        if ours == "FAIL" and _is_class(fn):
            ours = "no"  # a failed class function leaves its class undefined
        if ours != theirs[i]:
            mismatches.append(f"{i} {fn}{tuple(args)}: vigil {ours!r} cf-agent {theirs[i]!r}")
    return mismatches


@requires_cfengine
def test_matches_cfagent(root: Path) -> None:
    mismatches = compare(root, cases_for(root), "cf321.cf")
    assert not mismatches, "\n".join(mismatches)


STRING_POLICY = r"""
bundle agent main
{
  vars:
    "d" data => '{"a": [1, 2.5, "x", null, true], "b": {"c": "d"}}';
    "l" slist => { "a", "b" };
    "s1" string => string(@(d));
    "s2" string => string("@(d)");
    "s3" string => string(@(l));
    "s4" string => string(d);
    "s5" string => string("plain");
  reports:
    "s1=$(s1)";
    "s2=$(s2)";
    "s3=$(s3)";
    "s4=$(s4)";
    "s5=$(s5)";
}
"""


@requires_cfengine
def test_string_of_containers_matches_cfagent(tmp_path: Path) -> None:
    theirs, ours = reports(tmp_path, STRING_POLICY)
    assert ours == theirs


def _own_sockets(stack: contextlib.ExitStack) -> set[str]:
    """Sockets of this test's own on 127.0.0.1 (and ::1): a TCP listener, a connected
    pair, a pair the server half closed (FIN_WAIT2 / CLOSE_WAIT), a UDP socket.
    Returns their ports."""
    ports: set[str] = set()

    def keep(s: socket.socket) -> socket.socket:
        stack.callback(s.close)
        ports.add(str(s.getsockname()[1]))
        return s

    listener = keep(socket.create_server(("127.0.0.1", 0)))
    client = keep(socket.create_connection(listener.getsockname()))
    keep(listener.accept()[0])
    closing = keep(socket.create_connection(listener.getsockname()))
    served = listener.accept()[0]
    ports.add(str(served.getsockname()[1]))
    served.shutdown(socket.SHUT_WR)  # the server's FIN: it waits, the client has to close
    stack.callback(served.close)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    keep(udp)
    if socket.has_ipv6:
        try:
            keep(socket.create_server(("::1", 0), family=socket.AF_INET6))
        except OSError:
            pass
    del client, closing
    ports.discard("0")
    return ports


def _mine(table: dict[str, list[dict[str, Any]]], ports: set[str]) -> dict[str, list[str]]:
    return {proto: sorted(json.dumps(row, sort_keys=True) for row in rows
                          if row["local"]["port"] in ports or row["remote"]["port"] in ports)
            for proto, rows in table.items()}


@requires_cfengine
def test_network_connections_matches_cfagent(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        ports = _own_sockets(stack)
        case: list[Case] = [("network_connections", [])]
        theirs = json.loads(cf_results(make_cf_workdir(tmp_path / "wd"), case, SETUP, "nc.cf")[0])
        ours = json.loads(vigil_result(FnTestEnv(SETUP), "network_connections", []))
    assert sorted(ours) == sorted(theirs) == ["tcp", "tcp6", "udp", "udp6"]
    for rows in (*ours.values(), *theirs.values()):
        for row in rows:
            assert sorted(row) == ["local", "remote", "state"]
            assert sorted(row["local"]) == sorted(row["remote"]) == ["address", "port"]
    mine = _mine(ours, ports)
    assert mine == _mine(theirs, ports)
    assert len(mine["tcp"]) == 5 and len(mine["udp"]) == 1, mine


class _Greeter(socketserver.BaseRequestHandler):
    """Replies ``HELLO <what it read>line two\\n``, after a short wait for a query."""

    def handle(self) -> None:
        self.request.settimeout(0.5)
        try:
            data = self.request.recv(1024)
        except OSError:
            data = b""
        self.request.sendall(b"HELLO " + data + b"line two\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


TCP_POLICY = r"""
bundle agent main
{
  vars:
    "r1" string => readtcp("127.0.0.1", "@PORT@", "ping$(const.n)", 5);
    "r2" string => readtcp("127.0.0.1", "@PORT@", "ping$(const.n)", 100);
    "r3" string => readtcp("127.0.0.1", "@PORT@", "", 100);
    "r4" string => readtcp("127.0.0.1", "@CLOSED@", "x", 100);
    "r5" string => readtcp("127.0.0.1", "@PORT@", "ping", 0);
    "r6" string => readtcp("localhost", "@PORT@", "ping", 8);
    "r7" string => readtcp("127.0.0.1", "70000", "ping", 8);
    "r8" string => readtcp("127.0.0.1", "@PORT@", "x", 4096);
    "hosts" slist => { "127.0.0.1", "localhost", "127.0.0.1", "127.0.0.3" };
    "s1" int => selectservers(@(hosts), "@PORT@", "", "", "100", "a1");
    "s2" int => selectservers(@(hosts), "@PORT@", "q", "HELLO.*", "100", "a2");
    "s3" int => selectservers(@(hosts), "@PORT@", "q", "HELLO", "100", "a3");
    "s4" int => selectservers(@(hosts), "@CLOSED@", "", "", "100", "a4");
    "k1" slist => getindices(a1);
    "k2" slist => getindices(a2);
  reports:
    "r1=[$(r1)]"; "r2=[$(r2)]"; "r3=[$(r3)]"; "r4=[$(r4)]"; "r5=[$(r5)]"; "r6=[$(r6)]";
    "r7=[$(r7)]"; "r8=[$(r8)]";
    "s $(s1) $(s2) $(s3) $(s4)";
    "a1 $(k1)=$(a1[$(k1)])";
    "a2 $(k2)=$(a2[$(k2)])";
}
"""


@requires_cfengine
def test_readtcp_selectservers_match_cfagent(tmp_path: Path) -> None:
    with _Server(("127.0.0.1", 0), _Greeter) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with socket.socket() as unused:  # a port nothing listens on
            unused.bind(("127.0.0.1", 0))
            closed = unused.getsockname()[1]
        policy = TCP_POLICY.replace("@PORT@", str(server.server_address[1]))
        try:
            theirs, ours = reports(tmp_path, policy.replace("@CLOSED@", str(closed)))
        finally:
            server.shutdown()
    assert ours == theirs
    assert "s 3 3 0 0" in ours


def _lastseen(state: Path, now: float, entries: list[tuple[str, str, bool, float]]) -> None:
    from engine.cfnet.lastseen import saw

    state.mkdir(parents=True, exist_ok=True)
    for address, digest, incoming, hours_ago in entries:
        saw(state, address, digest, incoming, now - hours_ago * 3600)


SEEN = [("127.0.0.1", "SHA=aaa1", True, 1), ("127.0.0.2", "SHA=bbb2", False, 50),
        ("127.0.0.3", "SHA=ccc3", True, 2), ("127.0.0.3", "SHA=ccc3", False, 30),
        ("127.0.0.4", "SHA=ddd4", False, 200), ("192.0.2.1", "SHA=eee5", True, 5)]
# names are asked of the resolver: only an address /etc/hosts names (others wait for
# DNS); two keys at it, seen at different times, make one name
SEEN_NAMED = [("127.0.0.1", "SHA=aaa1", True, 1), ("127.0.0.1", "SHA=fff6", False, 30)]


def _hostsseen_policy(fields: tuple[str, ...]) -> str:
    lines, reports_ = [], []
    for i, (horizon, seen, field) in enumerate(
            (h, s, f) for h in ("inf", "0", "3", "24", "100", "1000")
            for s in ("lastseen", "notseen") for f in fields):
        # sorted: cf-agent lists the hosts in the order of its in-memory hash map
        lines.append(f'    "v{i}" slist => sort(hostsseen("{horizon}", "{seen}", "{field}"), "lex");')
        reports_.append(f'    "{horizon} {seen} {field}: $(with)" with => join(",", "v{i}");')
    return "bundle agent main\n{\n  vars:\n" + "\n".join(lines) + "\n  reports:\n" + \
        "\n".join(reports_) + "\n}\n"


@requires_cfengine
@pytest.mark.parametrize(("entries", "fields"), [(SEEN, ("address", "hostkey")),
                                                 (SEEN_NAMED, ("name", "address"))])
def test_hostsseen_matches_cfagent(tmp_path: Path, entries: list[tuple[str, str, bool, float]],
                                   fields: tuple[str, ...]) -> None:
    now = time.time()
    for agent in ("cfw", "vw"):
        _lastseen(tmp_path / agent / "state", now, entries)
    theirs, ours = reports(tmp_path, _hostsseen_policy(fields))
    assert ours == theirs
    assert any(line.endswith(": 127.0.0.1") or "SHA=aaa1" in line for line in ours)


@requires_cfengine
def test_hostinnetgroup_without_nis_matches_cfagent(root: Path) -> None:
    cases: list[Case] = [("hostinnetgroup", ["netgroup"]), ("hostinnetgroup", [""])]
    assert not compare(root, cases, "netgroup.cf")


MODULE_POLICY = r"""
bundle agent main
{
  classes:
    "ok" expression => read_module_protocol("@D@/my-mod.txt");
    "ok2" expression => read_module_protocol("@D@/plain");
    "bad" expression => read_module_protocol("@D@/missing");
  reports:
    ok:: "ok";
    ok2:: "ok2";
    bad:: "bad";
    rmp_cls:: "cls";
    any::
      "v=$(my_mod_txt.v) w=$(other.w) l=$(my_mod_txt.l) z=$(plain.z) d=$(my_mod_txt.d[k])";
}
"""


@requires_cfengine
def test_read_module_protocol_matches_cfagent(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "my-mod.txt").write_text(
        '=v=1\n+rmp_cls\n@l= { "a", "b" }\n%d={"k": 2}\n^context=other\n=w=2\n')
    (d / "plain").write_text("=z=3\n")
    theirs, ours = reports(tmp_path, MODULE_POLICY.replace("@D@", str(d)))
    assert ours == theirs
    assert "cls" in ours
