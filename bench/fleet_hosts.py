"""The fleet benchmark's hosts: the hub's process, the agents' workdirs and commands,
and what ``/proc`` says of a process (see :mod:`bench.fleet`)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench._harness import PYTHON
from tests.cfhost import cf_env, make_workdir

REPO = Path(__file__).resolve().parents[1]
HUB = "127.0.0.2"
TICK = os.sysconf("SC_CLK_TCK")
REFUSED = re.compile(r"refused|denied|maxconnections|could not connect|couldn't connect|"
                     r"connection reset|timed out|timeout", re.IGNORECASE)
# lines that mention a refusal but are not one: the hub's grant of state/master_hub.dat
# is not given (the stock update policy asks for it; our hub shares masterfiles only)
NOT_REFUSAL = re.compile(r"master_hub\.dat")

HUB_POLICY = """# The fleet benchmark's hub: serve masterfiles to loopback agents.
body common control {{ bundlesequence => {{ "fleet_hub" }}; }}
bundle agent fleet_hub {{ }}
body server control
{{
  port => "{port}";
  bindtointerface => "{hub}";
  allowconnects => {{ "127.0.0.0/8" }};
  allowallconnects => {{ "127.0.0.0/8" }};
  trustkeysfrom => {{ "127.0.0.0/8" }};
  maxconnections => "{maxconnections}";
}}
bundle server fleet_hub_access
{{
  access:
    "{masterfiles}/" shortcut => "masterfiles", admit_ips => {{ "127.0.0.0/8" }};
    "{masterfiles}/modules/" shortcut => "modules", admit_ips => {{ "127.0.0.0/8" }};
}}
"""
# cf-agent's bootstrap ends with exit 1 when it cannot start cf-execd, which its workdir
# here does not have (no daemon may start from an agent's workdir), and takes
# policy_server.dat back; the hub's key stays trusted and the policy did arrive, so the
# harness writes policy_server.dat again, as the bootstrap had
EXPECTED = re.compile(r"Updated local policy from policy server[\s\S]*"
                      r"Bootstrapping failed, cf-execd is not running")
MAXCONNECTIONS = 30  # cf-serverd's default (the stock masterfiles raise it to 200)
HUB_REFUSAL = re.compile(r"Too many (?:threads|connections)|Refused (\d+) more connection")


@dataclass(slots=True)
class Outcome:
    """One agent step: exit code, wall seconds, refusal lines seen in its output."""

    rc: int
    wall: float
    refused: int
    tail: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HUB, 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` and its reaped children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every ``period`` seconds; ``peak_kb`` is the largest."""

    def __init__(self, pid: int, period: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.period, self.peak_kb = pid, period, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.period):
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kb


def run_step(cmd: list[str], env: dict[str, str], timeout: float = 600.0) -> Outcome:
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        out, rc = (p.stdout + p.stderr).decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = f"timed out after {timeout:g} s: {e}", 124
    refused = sum(1 for line in out.splitlines()
                  if REFUSED.search(line) and not NOT_REFUSAL.search(line))
    return Outcome(rc, time.monotonic() - t0, refused, out[-1500:])


@dataclass(slots=True)
class Agent:
    """One host of the fleet: its workdir and the commands of its three steps."""

    wd: Path
    env: dict[str, str]
    bootstrap: list[str]
    update: list[str]
    run: list[str]
    hub: str = ""  # written to policy_server.dat again after a bootstrap that took it back

    def do_bootstrap(self) -> Outcome:
        outcome = run_step(self.bootstrap, self.env)
        dat = self.wd / "policy_server.dat"
        if self.hub and EXPECTED.search(outcome.tail) and not dat.exists():
            dat.write_text(self.hub + "\n")
        return outcome


def vigil_agent(wd: Path, name: str, hub: str) -> Agent:
    env = {**os.environ, "VIGIL_HOSTNAME": name, "PYTHONPATH": str(REPO)}
    base = [PYTHON, "-m", "engine", "agent", "-w", str(wd)]
    return Agent(wd, env, [*base, "--bootstrap", hub, "--skip-bootstrap-policy-run",
                           "--skip-bootstrap-service-start"],
                 [*base, "-K", "-f", "update.cf"], [*base, "-K", "-n"])


def cf_agent(wd: Path, name: str, hub: str) -> Agent:
    env = cf_env(wd)
    return Agent(wd, env, ["cf-agent", "--bootstrap", hub, "--skip-bootstrap-policy-run"],
                 ["cf-agent", "-K", "-f", "update.cf"], ["cf-agent", "-K", "-n"], hub)


def vigil_keys(root: Path, n: int) -> list[Path]:
    """``n`` vigil workdirs with their own keys (made 2 at a time, before the clock)."""
    dirs = [root / f"agent-{i:03d}" for i in range(n)]
    cmd = [PYTHON, "-m", "engine", "key", "-w"]
    with ThreadPoolExecutor(2) as pool:
        for r in pool.map(lambda d: subprocess.run([*cmd, str(d)], cwd=REPO, capture_output=True),
                          dirs):
            if r.returncode != 0:
                raise RuntimeError(f"vigil key failed: {r.stderr.decode()[-500:]}")
    return dirs


def cf_keys(root: Path, n: int) -> list[Path]:
    """``n`` CFEngine workdirs with their own keys; ``bin/`` holds no daemon."""
    dirs = []
    for i in range(n):
        wd = root / f"cfagent-{i:03d}"
        # no failsafe: cf-agent's bootstrap writes its own, which fetches the hub's policy
        make_workdir(wd, keys="own", failsafe=None, programs=("cf-agent", "cf-promises", "cf-key"))
        dirs.append(wd)
    return dirs


def fresh_workdir(template: Path, dest: Path) -> Path:
    """A fresh agent workdir holding only ``template``'s keys (and ``bin/``)."""
    dest.mkdir(parents=True)
    for part in ("ppkeys", "bin", "inputs"):
        if (template / part).exists():
            shutil.copytree(template / part, dest / part, symlinks=True)
    return dest


class Hub:
    """A running hub (cf-serverd or vigil serverd) on 127.0.0.2."""

    def __init__(self, kind: str, root: Path, masterfiles: Path, debug: bool = False) -> None:
        """``debug``: cf-serverd logs every request (``-d``, line-buffered)."""
        self.kind, self.port = kind, free_port()
        self.wd = root / f"hub-{kind}"
        policy = HUB_POLICY.format(port=self.port, hub=HUB, maxconnections=MAXCONNECTIONS,
                                   masterfiles=masterfiles)
        self.log = root / f"hub-{kind}.log"
        if kind == "cf-serverd":
            make_workdir(self.wd, keys="own", failsafe=None)
            env = cf_env(self.wd)
            (self.wd / "inputs" / "promises.cf").write_text(policy)
            cmd = ["stdbuf", "-oL", "-eL", "cf-serverd", "-F", "-d"] if debug else ["cf-serverd", "-F"]
        else:
            env = {**os.environ, "VIGIL_HOSTNAME": "fleet-hub", "PYTHONPATH": str(REPO)}
            subprocess.run([PYTHON, "-m", "engine", "key", "-w", str(self.wd)], cwd=REPO,
                           check=True, capture_output=True)
            (self.wd / "inputs").mkdir(exist_ok=True)
            (self.wd / "inputs" / "promises.cf").write_text(policy)
            cmd = [PYTHON, "-m", "engine", "serverd", "-F", "-w", str(self.wd),
                   "--port", str(self.port), "--bind", HUB]
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=f,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log.read_text()[-1500:]}")
            with socket.socket() as s:
                if s.connect_ex((HUB, self.port)) == 0:
                    time.sleep(0.5)  # let the accept loop settle (vigil reads its policy)
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} did not listen on {HUB}:{self.port}")

    @property
    def address(self) -> str:
        return f"{HUB}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def retag(masterfiles: Path, change: bool = False) -> None:
    """A new ``cf_promises_validated`` (``cf-promises -T``): every agent's next update
    walks the whole tree; ``change`` also changes one file."""
    time.sleep(1.1)  # a new second: the stamp's content changes
    if change:
        f = masterfiles / "services" / "main.cf"
        f.write_text(f.read_text() + "\n# changed by the fleet benchmark\n")
    subprocess.run(["cf-promises", "-T", str(masterfiles)], check=True, capture_output=True)


def hub_refusals(log: str) -> int:
    """Connections the hub's log says it turned away (cf-serverd: one line each; vigil:
    a line each for the first few, then a count per address)."""
    return sum(int(m.group(1) or 1) for m in HUB_REFUSAL.finditer(log))


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def end_leftovers(marker: str) -> None:
    """End processes whose command line or environment names ``marker`` (our temp dir)."""
    me = os.getpid()
    for pid_s in os.listdir("/proc"):
        if not pid_s.isdigit() or int(pid_s) == me:
            continue
        try:
            text = Path(f"/proc/{pid_s}/cmdline").read_bytes() + Path(f"/proc/{pid_s}/environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in text:
            with contextlib.suppress(OSError):
                os.kill(int(pid_s), signal.SIGKILL)


def prepare_masterfiles(src: Path, root: Path) -> Path:
    dest = root / "masterfiles"
    shutil.copytree(src, dest, symlinks=True)
    subprocess.run(["cf-promises", "-T", str(dest)], check=True, capture_output=True)
    return dest
