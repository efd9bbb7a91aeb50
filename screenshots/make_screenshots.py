"""Regenerate screenshots/*.svg: every console screen on a real, live workdir.

A temp workdir gets a small demo policy (it touches only files inside the workdir), a
host key, a peer whose key waits as pending, real daemons (``vigil up``) and real agent
runs; then the console is driven headless at 120x36 and each screen is saved. The
daemons are stopped (``vigil down``) and the temp directories removed at the end.

Run: ``make screenshots`` (or ``.venv/bin/python screenshots/make_screenshots.py``).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.workdir import Workdir  # noqa: E402
from tui.app import VigilConsole  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (120, 36)

DEMO_POLICY = """
body common control
{
      bundlesequence => { "main", "hourly", "web" };
}

body action hourly
{
      ifelapsed => "60";
}

body classes mark(name)
{
      promise_repaired => { "$(name)" };
      persist_time => "30";
}

bundle agent main
{
  files:
      "$(sys.workdir)/demo/motd"
        create => "true",
        classes => mark("motd_written");
  commands:
      "/bin/true";
  classes:
      "maintenance_window" expression => "any", persistence => "120";
  reports:
      "demo policy ran on $(sys.uqhost)";
    nosuch_class::
      "never shown: its guard is false";
}

body server control
{
      allowconnects => { "127.0.0.1" };
      allowallconnects => { "127.0.0.1" };
}

bundle server access_rules
{
  access:
      "$(sys.workdir)/demo" admit_ips => { "127.0.0.1" };
}

bundle agent hourly
{
  commands:
      "/bin/echo hourly job" action => hourly;
}

bundle agent web
{
  files:
      "$(sys.workdir)/demo/site.conf"
        create => "true",
        action => hourly;
}
"""


def vigil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(root: Path) -> tuple[Workdir, Path]:
    wd = Workdir(root / "vigil").ensure()
    wd.promises_cf.write_text(DEMO_POLICY, encoding="utf-8")
    port = free_port()
    wd.settings_file.write_text(
        f"[serverd]\nport = {port}\n\n[monitord]\ninterval_seconds = 1.0\n", encoding="utf-8"
    )
    vigil("key", "-w", str(wd.root))
    peer = root / "peer"
    (peer / "inputs").mkdir(parents=True)
    vigil("key", "-w", str(peer))
    return wd, peer


def introduce(peer: Path, port: int) -> None:
    """The peer trusts our serverd's key and connects: its own key waits as pending here."""
    from engine.trust.exchange import peer_has_us_pending, probe, trust

    try:
        found = probe(peer, "127.0.0.1", port)
        trust(peer, found, f"127.0.0.1:{port}")
        print(f"peer's standing here: {peer_has_us_pending(peer, '127.0.0.1', port)}")
    except Exception as exc:  # the screenshots are still worth making without it
        print(f"warning: no pending peer key: {exc}", file=sys.stderr)


def wait_running(wd: Workdir, timeout: float = 20.0) -> None:
    from engine.inspect import daemon_statuses

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(d.state == "running" for d in daemon_statuses(wd)):
            return
        time.sleep(0.2)
    print("warning: not every daemon is running", file=sys.stderr)


async def capture(wd: Workdir) -> list[Path]:
    app = VigilConsole(wd, refresh_seconds=0.5, offer_start=False)
    saved: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:

        async def settle(seconds: float = 0.3) -> None:
            await pilot.pause(seconds)
            await app.workers.wait_for_complete()
            await pilot.pause()

        def save(name: str) -> None:
            path = OUT / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(OUT))
            saved.append(path)

        await settle(4.0)  # a few samples for the memory sparklines
        save("overview")
        for key, name in [("2", "classes"), ("3", "locks"), ("4", "runs")]:
            await pilot.press(key)
            await settle(1.0)
            save(name)
        await pilot.press("enter")
        await settle(1.0)
        save("run_detail")
        for key, name in [("5", "keys"), ("6", "monitor")]:
            await pilot.press(key)
            await settle(1.0)
            save(name)
        await pilot.press("3", "x")
        await settle(1.0)
        save("clear_lock_confirm")
        await pilot.press("n", "question_mark")
        await settle(0.5)
        save("help")
        await pilot.press("escape", "K")
        deadline = time.monotonic() + 30
        while not (app.jobs.forced and app.jobs.forced.done) and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await settle(0.5)
        save("forced_run")
    return saved


CF_POLICY = """body common control
{
  bundlesequence => { "main" };
}
body action if_elapsed(x)
{
  ifelapsed => "$(x)";
  expireafter => "30";
}
body server control
{
  port => "%d";
  allowconnects => { "127.0.0.1" };
}
bundle agent main
{
  commands:
    "/bin/true" action => if_elapsed("10");
    "/bin/echo hello from cf-agent" action => if_elapsed("5");
  files:
    "$(sys.workdir)/marker" create => "true", action => if_elapsed("120");
  classes:
    "kept_a_while" expression => "any", persistence => "60";
  reports:
    "heartbeat on $(sys.host)";
}
"""


def cf_workdir(root: Path) -> tuple[Workdir, list[subprocess.Popen[bytes]]]:
    """A CFEngine workdir real CFEngine wrote: keys by cf-key, a peer trusted with
    cf-key -t, one cf-agent run, cf-serverd and cf-monitord started from it."""
    import os

    def env(r: Path) -> dict[str, str]:
        return dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(r))

    for r in (root / "wd", root / "peer"):
        (r / "inputs").mkdir(parents=True)
        (r / "bin").symlink_to("/usr/bin")
        subprocess.run(["cf-key"], env=env(r), check=True, capture_output=True)
        (r / "inputs" / "failsafe.cf").write_text(
            'bundle agent main { }\nbody common control { bundlesequence => { "main" }; }\n')
    wd = root / "wd"
    (wd / "inputs" / "promises.cf").write_text(CF_POLICY % free_port())
    subprocess.run(["cf-agent"], env=env(wd), capture_output=True, timeout=120)
    subprocess.run(["cf-key", "-t", f"root@127.0.0.1:{root}/peer/ppkeys/localhost.pub"], env=env(wd),
                   capture_output=True)
    daemons = [subprocess.Popen([d, "-F"], env=env(wd), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
               for d in ("cf-serverd", "cf-monitord")]
    deadline = time.monotonic() + 30
    while not (wd / "state" / "env_data").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return Workdir(wd, cfengine=True), daemons


async def capture_cfengine(wd: Workdir) -> list[Path]:
    """``vigil console --cfengine``: the screens that differ from vigil's, prefixed cf_."""
    app = VigilConsole(wd, refresh_seconds=0.5, offer_start=False, workdir_label="/var/lib/cfengine3")
    saved: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:

        async def settle(seconds: float = 0.3) -> None:
            await pilot.pause(seconds)
            await app.workers.wait_for_complete()
            await pilot.pause()

        def save(name: str) -> None:
            path = OUT / f"cf_{name}.svg"
            app.save_screenshot(filename=path.name, path=str(OUT))
            saved.append(path)

        await pilot.press("K")  # a forced run, recorded by the console for Runs
        deadline = time.monotonic() + 60
        while not (app.jobs.forced and app.jobs.forced.done) and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await pilot.press("escape")
        await settle(3.0)
        save("overview")
        for key, name in [("2", "classes"), ("3", "locks"), ("4", "runs"), ("5", "keys"),
                          ("6", "monitor")]:
            await pilot.press(key)
            await settle(1.0)
            save(name)
    return saved


def main_cfengine() -> None:
    if not shutil.which("cf-agent"):
        print("CFEngine is not installed: no cf_*.svg")
        return
    tmp = Path(tempfile.mkdtemp(prefix="vigil-cfshots-"))
    daemons: list[subprocess.Popen[bytes]] = []
    import os

    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp / "xdg")  # the console's run records
    try:
        wd, daemons = cf_workdir(tmp)
        for path in asyncio.run(capture_cfengine(wd)):
            print(f"wrote {path.relative_to(REPO)}")
    finally:
        for p in daemons:  # ended by pid
            p.terminate()
            p.wait(timeout=15)
        if old is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = old
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vigil-shots-"))
    wd: Workdir | None = None
    try:
        wd, peer = prepare(tmp)
        up = vigil("up", "-w", str(wd.root))
        print(up.stdout.strip() or up.stderr.strip())
        wait_running(wd)
        for _ in range(2):  # the second run finds most promises locked
            vigil("agent", "-I", "-w", str(wd.root))
        introduce(peer, int(wd.settings_file.read_text().split("port = ")[1].split()[0]))
        time.sleep(2.0)  # monitord samples every second
        for path in asyncio.run(capture(wd)):
            print(f"wrote {path.relative_to(REPO)}")
    finally:
        if wd is not None:
            vigil("down", "-w", str(wd.root))
        shutil.rmtree(tmp, ignore_errors=True)
    main_cfengine()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--cfengine"]:
        main_cfengine()
        sys.exit(0)
    sys.exit(main())
