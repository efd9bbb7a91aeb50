"""Daemon memory: vigil's execd and monitord beside cf-execd, cf-monitord, cf-serverd.

Each daemon runs in the foreground in its own temp workdir, started the same
way for both sides. vigil's execd runs a trivial real agent every second
(``execd.tick_seconds = 1``, ``schedule => { "any" }``) and monitord samples
every second; RSS is read after a warm-up and again after the fast cycles.
The Python floor (``python -c pass`` and the daemons' imports) is shown
beside them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench._harness import PYTHON, cf_env, cfengine_workdir, have_cfengine, ratio, table

POLICY = """
body common control { bundlesequence => { "main" }; }
body executor control { splaytime => "0"; schedule => { "any" }; }
bundle agent main { reports: "bench"; }
"""

CF_POLICY = """
body common control {{ bundlesequence => {{ "main" }}; }}
body executor control {{ splaytime => "0"; schedule => {{ "any" }}; }}
body server control {{ port => "{port}"; bindtointerface => "127.0.0.1"; allowconnects => {{ "127.0.0.1" }}; }}
bundle agent main {{ reports: "bench"; }}
"""

IMPORTS = {
    "execd": "import engine.daemons.execd, engine.daemons.watch as w; w._rust_notify()",
    "monitord": "import engine.daemons.monitord",
}


def _mem(pid: int) -> dict[str, float]:
    try:
        m = psutil.Process(pid).memory_full_info()
    except psutil.Error:
        return {"rss_mb": 0.0, "uss_mb": 0.0}
    return {"rss_mb": round(m.rss / 2**20, 1), "uss_mb": round(m.uss / 2**20, 1)}


def _own_rss(code: str) -> float:
    """VmRSS (MB) of a fresh interpreter after running ``code``, read from inside it.

    (wait4's peak RSS would include the parent's pages copied before exec.)"""
    probe = f"{code}\nprint(open('/proc/self/status').read())"
    out = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, check=True).stdout
    kb = next(int(ln.split()[1]) for ln in out.splitlines() if ln.startswith("VmRSS:"))
    return kb / 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main(quick: bool = False) -> dict[str, object]:
    warm, run = (5.0, 15.0) if quick else (15.0, 90.0)
    results: dict[str, object] = {"warmup_s": warm, "cycles_s": run}
    floors = {"python -c pass": _own_rss("pass")}
    for name, code in IMPORTS.items():
        floors[f"{name} imports"] = _own_rss(code)
    results["floor_peak_rss_mb"] = {k: round(v, 1) for k, v in floors.items()}

    wd = Path(tempfile.mkdtemp(prefix="bench-vigil-"))
    (wd / "inputs").mkdir()
    (wd / "inputs" / "promises.cf").write_text(POLICY)
    (wd / "vigil.toml").write_text("[execd]\ntick_seconds = 1\n[monitord]\ninterval_seconds = 1.0\n")
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_EXECD_AGENT_COMMAND"}
    started: list[subprocess.Popen[bytes]] = []
    pids: dict[str, int] = {}
    try:
        for d in ("execd", "monitord"):
            p = _start([PYTHON, "-m", "engine", d, "-F", "-w", str(wd)], env, wd / f"{d}.out")
            started.append(p)
            pids[d] = p.pid
        if have_cfengine():
            cwd = cfengine_workdir()
            (cwd / "inputs").mkdir(exist_ok=True)
            (cwd / "inputs" / "promises.cf").write_text(CF_POLICY.format(port=_free_port()))
            for d in ("cf-execd", "cf-monitord", "cf-serverd"):
                p = _start([d, "-F"], cf_env(cwd), cwd / f"{d}.out")
                started.append(p)
                pids[d] = p.pid
        time.sleep(warm)
        at_warm = {d: _mem(pid) for d, pid in pids.items()}
        time.sleep(run)
        at_end = {d: _mem(pid) for d, pid in pids.items()}
        try:
            st = json.loads((wd / "state" / "execd_status.json").read_text())
            agent_runs = int(st.get("runs_started", 0))
        except (OSError, ValueError):
            agent_runs = 0
        from engine.daemons.observables import monitor_snapshot

        snap = monitor_snapshot(wd)
        samples = max((o.samples for o in snap), default=0)
    finally:
        _stop(started)
    results["rss"] = {d: {"warm": at_warm[d], "end": at_end[d]} for d in pids}
    results["execd_agent_runs"] = agent_runs
    results["monitord_samples"] = samples
    cf_of = {"execd": "cf-execd", "monitord": "cf-monitord"}
    rows = []
    for d in pids:
        ref = at_end.get(cf_of.get(d, ""), {}).get("rss_mb")
        rows.append([d, at_warm[d]["rss_mb"], at_end[d]["rss_mb"], at_end[d]["uss_mb"],
                     ratio(at_end[d]["rss_mb"], ref) if d in cf_of else ""])
    print(table(
        f"daemon RSS (MB) after {warm:g} s and after {run:g} s of 1-second cycles "
        f"(execd ran {agent_runs} agents, monitord took {samples} samples)",
        ["daemon", "rss warm", "rss end", "uss end", "x cf"], rows,
    ))
    print(table("python floor (VmRSS MB)", ["what", "MB"],
                [[k, f"{v:.1f}"] for k, v in floors.items()]))
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
