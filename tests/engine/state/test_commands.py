"""vigil locks / classes / runs, through the real CLI entry point."""

from __future__ import annotations

import argparse
import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.commands.common import format_table, parse_duration
from engine.state.locks import LockDB
from engine.state.persistent import PersistentClassDB
from engine.state.runs import PromiseRecord, RunReport, report_name, write_run_report
from engine.workdir import Workdir
from tests.cfengine import make_workdir, requires_cfengine
from tests.differential import run_cf

ROOT = Path(__file__).resolve().parents[3]
ID_A = "web.files.create.-vm._etc_motd_100_MD5=aaaa"
ID_B = "web.reports.-vm.hello_200_MD5=bbbb"


@pytest.fixture
def wd(tmp_path: Path) -> Workdir:
    w = Workdir(tmp_path / "wd").ensure()
    now = time.time()
    db = LockDB.open(w.lock_db)
    db.acquire(ID_A, 1, 120, now=now - 7200)
    db.release(ID_A, now=now - 7200)
    db.acquire(ID_B, 1, 120, now=now - 10)
    db.release(ID_B, now=now - 10)
    db.close()
    pc = PersistentClassDB.open(w.state_db)
    pc.save("maintenance_window", 30, "reset", ["source=promise"])
    pc.close()
    recs = [
        PromiseRecord("web", "files", "/etc/motd", "/wd/promises.cf", 7, 3, "repaired", None,
                      "", ID_A, 60, 120, None),
        PromiseRecord("web", "reports", "hello", "/wd/promises.cf", 9, 3, "skipped", "locked",
                      "0/60 minutes elapsed", ID_B, 60, 120, None),
    ]
    r = RunReport(report_name(now - 5, 77), now - 5, now - 4, 77, "/wd/promises.cf", "h",
                  ["-I"], "schedule", 0, False, None,
                  {"kept": 0, "repaired": 1, "notkept": 0, "skipped": 1, "skipped_locked": 1},
                  ["linux", "web_server"], ["debug"], recs, None)
    write_run_report(w.runs, r)
    return w


def vigil(*argv: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *argv], cwd=ROOT, stdin=stdin,
                          capture_output=True, text=True, timeout=60)


def test_locks_table_and_json(wd: Workdir, capsys: pytest.CaptureFixture[str]):
    assert main(["locks", "-w", str(wd.root)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("BUNDLE"))
    row = next(line for line in lines if "/etc/motd" in line)
    assert row.index("files") == header.index("TYPE")  # aligned columns
    assert "locked" in next(line for line in lines if "hello" in line)  # 10 s into 60 min
    assert main(["locks", "-w", str(wd.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is True
    assert {lk["id"] for lk in data["locks"]} == {ID_A, ID_B}


def test_clear_by_prefix_and_ambiguity(wd: Workdir, capsys: pytest.CaptureFixture[str]):
    assert main(["locks", "clear", "-w", str(wd.root), "web.", "--yes"]) == 1
    assert "2 locks start with" in capsys.readouterr().err
    assert main(["locks", "clear", "-w", str(wd.root), "web.files", "--yes"]) == 0
    assert "cleared 1 entry" in capsys.readouterr().out
    assert main(["locks", "clear", "-w", str(wd.root), "nothing.like.this", "--yes"]) == 1
    main(["locks", "-w", str(wd.root), "--json"])
    assert [lk["id"] for lk in json.loads(capsys.readouterr().out)["locks"]] == [ID_B]


def test_clear_older_than_and_all(wd: Workdir, capsys: pytest.CaptureFixture[str]):
    assert main(["locks", "clear", "-w", str(wd.root), "--older-than", "1h", "--yes"]) == 0
    assert "cleared 1 entry" in capsys.readouterr().out
    main(["locks", "-w", str(wd.root), "--json"])
    assert [lk["id"] for lk in json.loads(capsys.readouterr().out)["locks"]] == [ID_B]
    assert main(["locks", "clear", "-w", str(wd.root), "--all", "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": [f"last.{ID_B}"]}


def test_clear_refuses_without_yes_when_not_a_terminal(wd: Workdir):
    before = wd.lock_db.read_bytes()
    proc = vigil("locks", "clear", "-w", str(wd.root), "--all")
    assert proc.returncode == 2
    assert "stdin is not a terminal" in proc.stderr and "--yes" in proc.stderr
    assert wd.lock_db.read_bytes() == before


def test_clear_asks_on_a_terminal(wd: Workdir):
    for answer, code, left in ((b"n\n", 1, 2), (b"y\n", 0, 0)):
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([sys.executable, "-m", "engine", "locks", "clear", "-w",
                                     str(wd.root), "--all"], cwd=ROOT, stdin=slave,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            os.write(master, answer)
            out, _err = proc.communicate(timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        assert proc.returncode == code, out
        db = LockDB.open(wd.lock_db, purge=False)
        assert sum(k.startswith("last.") for k, _ in db.entries()) == left
        db.close()


def test_classes(wd: Workdir, capsys: pytest.CaptureFixture[str]):
    assert main(["classes", "-w", str(wd.root), "--persistent"]) == 0
    out = capsys.readouterr().out
    assert "maintenance_window" in out and "reset" in out and "source=promise" in out
    assert main(["classes", "-w", str(wd.root), "--json", "web_.*"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["soft"] == ["web_server"] and data["persistent"] == [] and data["hard"] == []
    assert main(["classes", "-w", str(wd.root)]) == 0
    out = capsys.readouterr().out
    assert "web_server" in out and "debug" in out and "maintenance_window" in out
    assert main(["classes", "-w", str(wd.root), "(bad"]) == 2


def test_runs_list_and_detail(wd: Workdir, capsys: pytest.CaptureFixture[str]):
    assert main(["runs", "-w", str(wd.root)]) == 0
    out = capsys.readouterr().out
    assert "-77" in out and "schedule" in out
    assert main(["runs", "-w", str(wd.root), "--json"]) == 0
    [summary] = json.loads(capsys.readouterr().out)
    assert summary["counts"]["repaired"] == 1
    assert main(["runs", "-w", str(wd.root), summary["id"]]) == 0
    out = capsys.readouterr().out
    hello = next(line for line in out.splitlines() if "hello" in line)
    last = time.strftime("%H:%M:%S", time.localtime(time.time() - 10))[:5]
    assert "locked: ran " in hello and "ifelapsed 60 min" in hello and last in hello
    assert main(["runs", "-w", str(wd.root), "nope"]) == 1


def test_helpers():
    assert parse_duration("90m") == 5400 and parse_duration("2h30m") == 9000
    assert parse_duration("4w") == 4 * 604800 and parse_duration("15") == 15
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration("soon")
    assert format_table(["A", "BB"], [["xyz", 1]], right=(1,)).splitlines() == [
        "A    BB", "xyz   1"]


@requires_cfengine
def test_locks_of_a_cfengine_workdir(tmp_path: Path):
    root = make_workdir(tmp_path / "cfwd")
    policy = tmp_path / "p.cf"
    policy.write_text('body common control { bundlesequence => { "cfb" }; }\n'
                      'bundle agent cfb {\n reports:\n  "from cfengine";\n}\n')
    assert run_cf(policy, root, "-I").rc == 0
    proc = vigil("locks", "--cfengine", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    ids = [lk["id"] for lk in json.loads(proc.stdout)["locks"]]
    assert any(i.startswith("cfb.reports.-") and "from_cfengine" in i for i in ids)


def test_watch_redraws_until_interrupted(wd: Workdir):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "locks", "--watch", "-w",
                             str(wd.root)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + 20
        while b"/etc/motd" not in seen and time.monotonic() < deadline:
            seen += os.read(proc.stdout.fileno(), 65536)
        assert b"\x1b[2J" in seen and b"/etc/motd" in seen
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
