"""The console and the CLI on a workdir real CFEngine 3.21 wrote (issue 13).

A temp CFEngine workdir (``CFENGINE_TEST_OVERRIDE_WORKDIR``, ``bin`` -> /usr/bin, keys by
cf-key) with cf-serverd and cf-monitord started from it on a free port (ended by pid),
cf-agent run with locks of 10, 5 and 120 minutes and a persistent class, and one peer
trusted with ``cf-key -t``. What vigil shows is compared with what CFEngine's own tools
say. Skipped where CFEngine is not installed.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.workdir import Workdir
from tests.cfengine import cf_env, make_workdir, requires_cfengine
from tests.tui.conftest import settle
from tui.app import VigilConsole
from tui.widgets.virtual_table import VirtualTable

pytestmark = requires_cfengine("cf-serverd", "cf-monitord")

POLICY = """body common control
{
  bundlesequence => { "main" };
  inputs => { "lib.cf" };
}
bundle agent main
{
  commands:
    "/bin/true" action => if_elapsed("10");
    "/bin/echo hi" action => if_elapsed("5");
  files:
    "$(sys.workdir)/marker" create => "true", action => if_elapsed("120");
  classes:
    "kept_a_while" expression => "any", persistence => "60";
}
"""
LIB = """body action if_elapsed(x)
{
  ifelapsed => "$(x)";
  expireafter => "30";
}
body server control
{
  port => "%d";
  allowconnects => { "127.0.0.1" };
}
"""
EXPECTED_LINES = {10: 9, 5: 10, 120: 12}  # ifelapsed -> line of its promise in promises.cf


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(root: Path) -> dict[str, str]:
    return cf_env(root)


def _workdir(root: Path) -> Path:
    """Each its own key: ``peer`` is trusted by ``root`` with cf-key -t."""
    return make_workdir(root, keys="own")


def _vigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def cfwd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("cf")
    root = _workdir(base / "wd")
    peer = _workdir(base / "peer")
    (root / "inputs" / "promises.cf").write_text(POLICY)
    (root / "inputs" / "lib.cf").write_text(LIB % _free_port())
    run = subprocess.run(["cf-agent", "-f", str(root / "inputs" / "promises.cf")], env=_env(root),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    subprocess.run(["cf-key", "-t", f"root@127.0.0.1:{peer}/ppkeys/localhost.pub"], env=_env(root),
                   check=True, capture_output=True, timeout=60)
    daemons = [subprocess.Popen([d, "-F"], env=_env(root), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
               for d in ("cf-serverd", "cf-monitord")]
    try:
        deadline = time.monotonic() + 60
        while not ((root / "state" / "env_data").exists() and (root / "cf-serverd.pid").exists()
                   and (root / "cf-monitord.pid").exists()):
            assert time.monotonic() < deadline, "the daemons did not start"
            time.sleep(0.2)
        yield root
    finally:
        for p in daemons:  # ended by pid, never by name
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()


def _cf_agent_elapsed(root: Path) -> list[tuple[str, int, int]]:
    """(lock name head, minutes elapsed, ifelapsed) as ``cf-agent -v`` reports them."""
    out = subprocess.run(["cf-agent", "-v", "-f", str(root / "inputs" / "promises.cf")],
                         env=_env(root), capture_output=True, text=True, timeout=120).stdout
    return [(m.group(1), int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"Nothing promised here \[(.*?)\] \((\d+)/(\d+) minutes elapsed\)", out)]


@pytest.mark.slow
def test_cli_shows_what_cfengine_says(cfwd: Path) -> None:
    status = json.loads(_vigil("status", "--cfengine", str(cfwd), "--json").stdout)
    by_name = {d["name"]: d for d in status["daemons"]}
    for name in ("serverd", "monitord"):
        assert by_name[name]["state"] == "running" and by_name[name]["rss_bytes"] > 0
        assert by_name[name]["pid"] == int((cfwd / f"cf-{name}.pid").read_text())
    assert not any("vigil up" in h["fix"] for h in status["health"])

    locks = json.loads(_vigil("locks", "--cfengine", str(cfwd), "--json").stdout)["locks"]
    now = time.time()
    reported = _cf_agent_elapsed(cfwd)
    mine = [lk for lk in locks if lk["bundle"] == "main" and lk["promise_type"] in ("commands", "files")]
    assert sorted(lk["ifelapsed_min"] for lk in mine) == [5, 10, 120]
    for lk in mine:
        ifel = lk["ifelapsed_min"]
        assert lk["file"].endswith("promises.cf") and lk["line"] == EXPECTED_LINES[ifel]
        remaining = lk["ready_in_seconds"] - (time.time() - now)
        elapsed = [e for head, e, i in reported if i == ifel and f"last.{lk['id']}".startswith(head)]
        assert elapsed, (lk["id"], reported)
        # cf-agent: trunc((now - last) / 60) minutes elapsed, the same instant within a second
        assert any(abs(math.floor((ifel * 60 - remaining + d) / 60) - elapsed[0]) == 0
                   for d in (-1.0, 0.0, 1.0))

    classes = _vigil("classes", "--cfengine", str(cfwd), "--persistent").stdout
    assert "kept_a_while" in classes

    printed = subprocess.run(["cf-key", "-p", str(cfwd / "ppkeys" / "localhost.pub")], env=_env(cfwd),
                             capture_output=True, text=True).stdout.strip()
    assert _vigil("key", "--cfengine", str(cfwd), "-p").stdout.strip() == printed
    theirs = subprocess.run(["cf-key", "-s"], env=_env(cfwd), capture_output=True, text=True).stdout
    ours = _vigil("key", "--cfengine", str(cfwd), "-s").stdout
    assert ours.splitlines()[: len(theirs.splitlines())] == theirs.splitlines()

    bad = _vigil("locks", "--cfengine", str(cfwd / "nonexistent"))
    assert bad.returncode == 2 and str(cfwd / "nonexistent") in bad.stderr


@pytest.mark.slow
async def test_console_shows_what_cfengine_says(cfwd: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))  # the console's run records
    app = VigilConsole(Workdir(cfwd, cfengine=True), live=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        rows = {r.name: r for r in app.screen.query_one("#daemons", VirtualTable).rows}
        for name in ("cf-serverd", "cf-monitord"):
            assert rows[name].state == "running" and (rows[name].rss_bytes or 0) > 0

        await pilot.press("3")
        await settle(pilot)
        locks = app.screen.query_one("#locks", VirtualTable).rows
        main = {lk.ifelapsed_min: lk for lk in locks if lk.bundle == "main" and lk.file}
        assert {5, 10, 120} <= set(main) and main[120].line == EXPECTED_LINES[120]

        await pilot.press("6")
        await settle(pilot)
        observed = {o.name for o in app.screen.query_one("#observables", VirtualTable).rows}
        env_names = {ln.split("=")[0][len("value_"):]
                     for ln in (cfwd / "state" / "env_data").read_text().splitlines()
                     if ln.startswith("value_")}
        assert observed == env_names and "loadavg" in observed

        await pilot.press("5")
        await settle(pilot)
        printed = subprocess.run(["cf-key", "-p", str(cfwd / "ppkeys" / "localhost.pub")],
                                 env=_env(cfwd), capture_output=True, text=True).stdout.strip()
        assert app.screen.view is not None and app.screen.view.fingerprint == printed
        assert {p.fingerprint for p in app.screen.view.peers} == {
            f.name.split("-", 1)[1][:-4] for f in (cfwd / "ppkeys").glob("root-*.pub")}

        await pilot.press("K")
        deadline = time.monotonic() + 120
        while not (app.jobs.forced and app.jobs.forced.done):
            assert time.monotonic() < deadline, "the forced run did not end"
            await pilot.pause(0.2)
        assert app.jobs.forced.returncode == 0
        await pilot.press("escape")
        await pilot.press("4")
        await settle(pilot)
        runs = app.screen.query_one("#runs", VirtualTable).rows
        forced = [r for r in runs if r.started_by == "console"]
        assert forced and forced[0].exit_code == 0 and "cf-agent" in forced[0].policy_file
