"""Readers of data files, command results as data, the package inventory, users, peer
groups, host names and shuffle: vigil against cf-agent, every call in one policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import host, requires_cfengine
from tests.engine.functions.conftest import (
    Case,
    FnTestEnv,
    cf_results,
    make_cf_workdir,
    vigil_result,
)

SETUP = {"l": ["a", "b", "c", "d", "e", "f", "g"], "one": ["x"], "none": []}

YAML = """a: 1
b: [y, n, 'yes', 017, -0, 1.5e+3, 200 300, +5, ~, "", x]
No: Off
c:
  - {d: null, e: !!str true, f: !!int 12}
"""


def make_files(root: Path) -> None:
    (root / "f.yaml").write_text(YAML)
    (root / "f.json").write_text('{"k": [1, 2.5, "x"]}')
    (root / "crlf.csv").write_bytes(b'h1,h2\r\n1,"two, 2"\r\n3,4\r\n')
    (root / "lf.csv").write_text("h1,h2\n1,2\n")
    (root / "f.env").write_text('A=1\nB="two words"\n# c\nexport C=3\n')
    (root / "r.txt").write_text("1.5 2\n3e2 # c\n0.25\n-7\n")
    (root / "bad.txt").write_text("1.5 x\n")
    (root / "classes.csv").write_bytes(
        b"ClassExpr,Sort,Token\r\nany,2,b\r\n!any,1,c\r\nany,1,a\r\nlinux|!linux,0,d\r\n")
    me = host()
    (root / "peers.txt").write_text(
        f"alpha\nbeta # a comment\n{me}\ngamma\n\n# only a comment\ndelta\nepsilon\n")
    (root / "nopeers.txt").write_text("alpha\nbeta\ngamma\n")
    state = root / "wd" / "state"
    state.mkdir(parents=True)
    (state / "software_packages.csv").write_bytes(
        b"bash,5.2-1,amd64,apt_get\r\nzlib1g,1:1.2,amd64,apt_get\r\nvim,9.0,all,dpkg\r\n"
        b"broken,1.0\r\n")
    (state / "software_patches_avail.csv").write_bytes(b"bash,5.3-1,amd64,apt_get\r\n")


def cases_for(root: Path) -> list[Case]:
    r = str(root)
    return [
        ("readdata", [f"{r}/f.yaml", "auto"]),
        ("readdata", [f"{r}/f.yaml", "YAML"]),
        ("readdata", [f"{r}/f.yaml", "JSON"]),
        ("readdata", [f"{r}/f.json", "auto"]),
        ("readdata", [f"{r}/crlf.csv", "auto"]),
        ("readdata", [f"{r}/lf.csv", "CSV"]),
        ("readdata", [f"{r}/f.env", "ENV"]),
        ("readdata", [f"{r}/missing.json", "auto"]),
        ("readyaml", [f"{r}/f.yaml"]),
        ("readyaml", [f"{r}/f.yaml", "4096"]),
        ("readyaml", [f"{r}/f.yaml", "10"]),
        ("readyaml", [f"{r}/f.yaml", "0"]),
        ("readyaml", [f"{r}/f.json", "100"]),
        ("readjson", [f"{r}/f.json", "5"]),
        ("readreallist", [f"{r}/r.txt", "#[^\n]*", "\\s+", "100", "1000"]),
        ("readreallist", [f"{r}/r.txt", "#[^\n]*", "\\s+", "2", "1000"]),
        ("readreallist", [f"{r}/bad.txt", "", "\\s+", "100", "1000"]),
        ("classfiltercsv", [f"{r}/classes.csv", "true", "0"]),
        ("classfiltercsv", [f"{r}/classes.csv", "true", "0", "1"]),
        ("classfiltercsv", [f"{r}/classes.csv", "false", "0", "2"]),
        ("classfiltercsv", [f"{r}/lf.csv", "true", "0"]),
        ("execresult_as_data", ["/bin/echo hi", "noshell"]),
        ("execresult_as_data", ["echo out; echo err >&2; exit 3", "useshell", "both"]),
        ("execresult_as_data", ["echo out; echo err >&2; exit 4", "useshell", "stdout"]),
        ("execresult_as_data", ["echo out; echo err >&2; exit 5", "useshell", "stderr"]),
        ("execresult_as_data", ["/nonexistent/x", "noshell"]),
        ("execresult", ["echo out; echo err >&2; exit 6", "useshell", "stderr"]),
        ("packagesmatching", [".*", ".*", ".*", ".*"]),
        ("packagesmatching", ["z.*", ".*", "amd64", ".*"]),
        ("packagesmatching", ["bash", "5\\..*", ".*", ".*"]),
        # the record's CRLF is part of what the last pattern meets
        ("packagesmatching", [".*", ".*", ".*", "apt_get"]),
        ("packagesmatching", ["bas", ".*", ".*", ".*"]),
        ("packageupdatesmatching", [".*", ".*", ".*", ".*"]),
        ("packageupdatesmatching", ["vim", ".*", ".*", ".*"]),
        ("getusers", ["", ""]),
        ("getusers", ["root,daemon", ""]),
        ("getusers", ["", "0,1,2"]),
        ("peers", [f"{r}/peers.txt", "#[^\n]*", "2"]),
        ("peers", [f"{r}/peers.txt", "#[^\n]*", "3"]),
        ("peers", [f"{r}/nopeers.txt", "#[^\n]*", "2"]),
        ("peerleader", [f"{r}/peers.txt", "#[^\n]*", "2"]),
        ("peerleader", [f"{r}/peers.txt", "#[^\n]*", "4"]),
        ("peerleaders", [f"{r}/peers.txt", "#[^\n]*", "2"]),
        ("peerleaders", [f"{r}/peers.txt", "#[^\n]*", "3"]),
        # names and addresses of this host only (no lookups leave it); cf-agent caches
        # results by the arguments alone, so no two calls here share theirs
        ("host2ip", ["localhost"]),
        ("ip2host", ["127.0.0.1"]),
        ("ip2host", ["not an address"]),
        ("shuffle", ["l", "seed"]),
        ("shuffle", ["l", "another seed"]),
        ("shuffle", ["l", ""]),
        ("shuffle", ["one", "x"]),
        ("shuffle", ["none", "x"]),
    ]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readers")
    make_files(root)
    return root


@requires_cfengine
def test_matches_cfagent(root: Path) -> None:
    # the package inventory is read from the workdir's state: a workdir of this test's own
    workdir = make_cf_workdir(root / "wd")
    cases = cases_for(root)
    theirs = cf_results(workdir, cases, SETUP, "readers.cf")
    env = FnTestEnv(SETUP, workdir=str(workdir))
    env.vars["default:sys.uqhost"] = env.vars["default:sys.fqhost"] = host()
    mismatches = []
    for i, (fn, args) in enumerate(cases):
        ours = vigil_result(env, fn, args)
        if ours != theirs[i]:
            mismatches.append(f"{i} {fn}{tuple(args)}: vigil {ours!r} cf-agent {theirs[i]!r}")
    assert not mismatches, "\n".join(mismatches)
