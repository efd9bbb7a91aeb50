"""File, reader, exec, user and time functions against cf-agent, on a real file tree."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.cfengine import requires_cfengine
from tests.engine.functions.conftest import (
    Case,
    FnTestEnv,
    cf_results,
    vigil_result,
)


def make_tree(root: Path) -> Path:
    d = root / "d"
    (d / "sub").mkdir(parents=True)
    (d / "f.txt").write_text("line1\nfoo bar\n\nfoo\nlast")
    (d / "link").symlink_to("f.txt")
    (d / "dangling").symlink_to("nowhere")
    (d / "x.sh").write_text("#!/bin/sh\necho out\necho err >&2\nexit 3\n")
    (d / "x.sh").chmod(0o755)
    os.utime(d / "f.txt", (1577836800, 1577836800))
    (root / "list.txt").write_text("a b  c\n# comment\nd e # trailing\n\n  f\n1 2 3\n")
    (root / "ints.txt").write_text("1 2\n3 # four\n 5\n")
    (root / "arr.txt").write_text("k1:v1:w1\nk2:v2\n# c\nk1:dup\n:empty\n")
    (root / "pw.txt").write_text("root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n")
    (root / "j.json").write_text('{"a": [1, 2], "b": "x"}')
    (root / "c.csv").write_bytes(b'h1,h2\r\n1,"two, 2"\r\n3,4\r\n')
    (root / "lf.csv").write_text("h1,h2\n1,2\n")
    return d


def cases_for(root: Path) -> list[Case]:
    d = str(root / "d")
    r = str(root)
    return [
        ("fileexists", [f"{d}/f.txt"]),
        ("fileexists", [f"{d}/dangling"]),
        ("fileexists", [f"{d}/nope"]),
        ("isdir", [d]),
        ("isdir", [f"{d}/"]),
        ("isdir", [f"{d}/f.txt"]),
        ("isplain", [f"{d}/f.txt"]),
        ("isplain", [f"{d}/link"]),
        ("islink", [f"{d}/link"]),
        ("islink", [f"{d}/dangling"]),
        ("islink", [f"{d}/f.txt"]),
        ("isexecutable", [f"{d}/x.sh"]),
        ("isexecutable", [f"{d}/f.txt"]),
        ("isexecutable", [f"{d}/sub"]),
        ("isnewerthan", [f"{d}/x.sh", f"{d}/f.txt"]),
        ("isnewerthan", [f"{d}/f.txt", f"{d}/x.sh"]),
        ("filesize", [f"{d}/f.txt"]),
        ("filesize", [f"{d}/link"]),
        ("filesize", [f"{d}/nope"]),
        *[("filestat", [f"{d}/f.txt", f]) for f in (
            "size", "mtime", "type", "permstr", "permoct", "modeoct", "uid", "gid", "nlink",
            "ino", "devno", "dev_major", "dev_minor", "linktarget", "xattr", "ctime")],
        ("filestat", [f"{d}/link", "type"]),
        ("filestat", [f"{d}/link", "linktarget"]),
        ("filestat", [f"{d}/link", "linktarget_shallow"]),
        ("filestat", [f"{d}/sub", "permstr"]),
        ("filestat", [f"{d}/dangling", "type"]),
        ("filestat", [f"{d}/nope", "size"]),
        ("file_hash", [f"{d}/f.txt", "sha256"]),
        ("file_hash", [f"{d}/f.txt", "md5"]),
        ("file_hash", [f"{d}/nope", "md5"]),
        ("lsdir", [d, "f.*", "true"]),
        ("lsdir", [d, "f", "false"]),
        ("lsdir", [f"{d}/nope", ".*", "false"]),
        ("findfiles", [f"{d}/*", f"{d}/s*/"]),
        ("findfiles", [f"{r}/**/f.txt"]),
        ("countlinesmatching", ["foo.*", f"{d}/f.txt"]),
        ("countlinesmatching", ["foo", f"{d}/f.txt"]),
        ("countlinesmatching", ["", f"{d}/f.txt"]),
        ("countlinesmatching", [".*", f"{d}/nope"]),
        ("readfile", [f"{d}/f.txt", "0"]),
        ("readfile", [f"{d}/f.txt", "7"]),
        ("readfile", [f"{d}/f.txt"]),
        ("readfile", [f"{d}/nope", "0"]),
        ("readstringlist", [f"{r}/list.txt", "#[^\n]*", "\\s+", "100", "1000"]),
        ("readstringlist", [f"{r}/list.txt", "", "\n", "3", "1000"]),
        ("readstringlist", [f"{r}/list.txt", "#[^\n]*", "\\s+", "100", "10"]),
        ("readintlist", [f"{r}/list.txt", "#[^\n]*", "\\s+", "100", "1000"]),
        ("readintlist", [f"{r}/ints.txt", "#[^\n]*", "\\s+", "100", "1000"]),
        ("data_readstringarray", [f"{r}/arr.txt", "#[^\n]*", ":", "100", "1000"]),
        ("data_readstringarrayidx", [f"{r}/arr.txt", "#[^\n]*", ":", "100", "1000"]),
        ("readjson", [f"{r}/j.json", "1000"]),
        ("readcsv", [f"{r}/c.csv"]),
        ("readcsv", [f"{r}/lf.csv"]),
        ("regline", ["d e.*", f"{r}/list.txt"]),
        ("regline", ["d e", f"{r}/list.txt"]),
        ("getfields", ["bob:.*", f"{r}/pw.txt", ":", "pwf"]),
        ("getfields", ["nobody:.*", f"{r}/pw.txt", ":", "pwf2"]),
        ("execresult", ["/bin/echo hello world", "noshell"]),
        ("execresult", ['/bin/echo "a b"   c', "noshell"]),
        ("execresult", ["echo hi; echo err >&2", "useshell"]),
        ("execresult", [f"{d}/x.sh", "noshell"]),
        ("execresult", ["echo x", "noshell"]),
        ("execresult", ["/nonexistent/x", "noshell"]),
        ("execresult", ["/bin/echo $HOME", "noshell"]),
        ("execresult", ["printf 'a\\n\\n\\n'", "useshell"]),
        ("returnszero", ["/bin/true", "noshell"]),
        ("returnszero", ["exit 0", "useshell"]),
        # cf-agent caches calls by their arguments, not by function name: keep these
        # distinct from the execresult calls above.
        ("returnszero", [f"{d}/x.sh arg", "noshell"]),
        ("getenv", ["HOME", "100"]),
        ("getenv", ["HOME", "3"]),
        ("getenv", ["VIGIL_SURELY_UNSET", "100"]),
        ("getuid", ["root"]),
        ("getgid", ["root"]),
        ("userexists", ["root"]),
        ("userexists", ["0"]),
        ("userexists", ["vigil-no-such-user"]),
        ("groupexists", ["root"]),
        ("groupexists", ["vigil-no-such-group"]),
        ("accumulated", ["1", "1", "1", "1", "1", "1"]),
        ("accumulated", ["0", "0", "2", "0", "0", "30"]),
        ("on", ["2020", "2", "29", "12", "30", "15"]),
        ("on", ["2020", "13", "1", "0", "0", "0"]),
        ("laterthan", ["2020", "1", "1", "0", "0", "0"]),
        ("laterthan", ["2099", "1", "1", "0", "0", "0"]),
        ("strftime", ["gmtime", "%Y-%m-%d %H:%M:%S %j %a %b %%", "1600000000"]),
        ("strftime", ["localtime", "%F %T", "1600000000"]),
    ]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fntree")
    make_tree(root)
    return root


@requires_cfengine
def test_matches_cfagent(cf_workdir: Path, tree: Path) -> None:
    cases = cases_for(tree)
    theirs = cf_results(cf_workdir, cases, {}, "files.cf")
    env = FnTestEnv(workdir=str(cf_workdir))
    mismatches = []
    for i, (fn, args) in enumerate(cases):
        ours = vigil_result(env, fn, args)
        if ours != theirs[i]:
            mismatches.append(f"{fn}{tuple(args)}: vigil {ours!r} cf-agent {theirs[i]!r}")
    assert not mismatches, "\n".join(mismatches)


@requires_cfengine
def test_now_and_ago_track_the_clock(cf_workdir: Path) -> None:
    cases: list[Case] = [("now", []), ("ago", ["0", "0", "1", "0", "0", "0"]), ("ago", ["0", "1", "0", "0", "0", "0"])]
    theirs = cf_results(cf_workdir, cases, {}, "time.cf")
    env = FnTestEnv()
    for i, (fn, args) in enumerate(cases):
        assert abs(int(vigil_result(env, fn, args)) - int(theirs[i])) <= 2, fn
    assert abs(int(theirs[0]) - time.time()) < 5
