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
        while not (app.forced and app.forced.done) and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await settle(0.5)
        save("forced_run")
    return saved


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
