"""Daemon memory: vigil's execd, monitord and serverd beside cf-execd, cf-monitord, cf-serverd.

Each daemon runs in the foreground in its own temp workdir, started the same
way for both sides. vigil's execd runs a trivial real agent every second
(``execd.tick_seconds = 1``, ``schedule => { "any" }``) and monitord samples
every second; serverd listens on 127.0.0.1. After a warm-up, RSS and USS are
sampled once a second; the table shows the median and the largest sample.
The Python floor (``python -c pass`` and the daemons' imports) is shown
beside them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench._harness import PYTHON, cfengine_workdir, ratio, table
from tests.cfhost import HAVE_CFENGINE, cf_env

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
    "execd": "import engine.commands.execd, engine.daemons.execd.daemon, engine.daemons.execd.watch as w; w._rust_notify()",
    "monitord": "import engine.commands.monitord, engine.daemons.monitord.daemon",
    "serverd": "import asyncio, engine.commands.serverd, engine.daemons.serverd.daemon",
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


def _vigil_workdir() -> tuple[Path, dict[str, str]]:
    wd = Path(tempfile.mkdtemp(prefix="bench-vigil-"))
    (wd / "inputs").mkdir()
    (wd / "inputs" / "promises.cf").write_text(POLICY)
    (wd / "vigil.toml").write_text("[execd]\ntick_seconds = 1\n[monitord]\ninterval_seconds = 1.0\n")
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_EXECD_AGENT_COMMAND"}
    subprocess.run([PYTHON, "-m", "engine", "key", "-w", str(wd)], env=env, check=True,
                   capture_output=True)
    return wd, env


VIGIL_ARGS = {"execd": [], "monitord": [], "serverd": ["--port", "0", "--bind", "127.0.0.1"]}


def _sample(pids: dict[str, int], seconds: float, every: float = 1.0) -> dict[str, list[dict[str, float]]]:
    """Memory of each daemon every ``every`` seconds for ``seconds`` (at least 3 samples)."""
    out: dict[str, list[dict[str, float]]] = {d: [] for d in pids}
    n = max(3, int(seconds / every))
    for i in range(n):
        if i:
            time.sleep(every)
        for d, pid in pids.items():
            out[d].append(_mem(pid))
    return out


def _summary(samples: list[dict[str, float]]) -> dict[str, float]:
    rss = [s["rss_mb"] for s in samples]
    return {"rss_median_mb": round(statistics.median(rss), 1), "rss_min_mb": min(rss),
            "rss_max_mb": max(rss), "uss_median_mb": round(statistics.median(s["uss_mb"] for s in samples), 1),
            "samples": len(samples)}


def main(quick: bool = False) -> dict[str, object]:
    """Start the three vigil daemons and the three cf- daemons, sample their memory."""
    warm, run = (4.0, 8.0) if quick else (15.0, 90.0)
    results: dict[str, object] = {"warmup_s": warm, "sampled_s": run}
    floors = {"python -c pass": _own_rss("pass")}
    for name, code in IMPORTS.items():
        floors[f"{name} imports"] = _own_rss(code)
    results["floor_rss_mb"] = {k: round(v, 1) for k, v in floors.items()}

    wd, env = _vigil_workdir()
    started: list[subprocess.Popen[bytes]] = []
    pids: dict[str, int] = {}
    cwd: Path | None = None
    try:
        for d, extra in VIGIL_ARGS.items():
            p = _start([PYTHON, "-m", "engine", d, "-F", "-w", str(wd), *extra], env, wd / f"{d}.out")
            started.append(p)
            pids[d] = p.pid
        if HAVE_CFENGINE:
            cwd = cfengine_workdir()
            (cwd / "inputs").mkdir(exist_ok=True)
            (cwd / "inputs" / "promises.cf").write_text(CF_POLICY.format(port=_free_port()))
            for d in ("cf-execd", "cf-monitord", "cf-serverd"):
                p = _start([d, "-F"], cf_env(cwd), cwd / f"{d}.out")
                started.append(p)
                pids[d] = p.pid
        time.sleep(warm)
        dead = [d for d, p in zip(pids, started, strict=True) if p.poll() is not None]
        if dead:
            logs = {d: (wd / f"{d}.out").read_text(errors="replace")[-500:]
                    for d in dead if (wd / f"{d}.out").exists()}
            raise RuntimeError(f"daemons exited early: {dead} {logs}")
        samples = _sample(pids, run)
        try:
            st = json.loads((wd / "state" / "execd_status.json").read_text())
            agent_runs = int(st.get("runs_started", 0))
        except (OSError, ValueError):
            agent_runs = 0
        from engine.daemons.monitord.observables import monitor_snapshot

        snap = monitor_snapshot(wd)
        monitor_samples = max((o.samples for o in snap), default=0)
    finally:
        _stop(started)
        shutil.rmtree(wd, ignore_errors=True)
        if cwd is not None:
            shutil.rmtree(cwd, ignore_errors=True)
    mem = {d: _summary(v) for d, v in samples.items()}
    results["memory"] = mem
    results["execd_agent_runs"] = agent_runs
    results["monitord_samples"] = monitor_samples
    rows: list[list[object]] = []
    for d in VIGIL_ARGS:
        v, c = mem[d], mem.get(f"cf-{d}")
        results[f"{d}_rss_ratio"] = round(v["rss_median_mb"] / c["rss_median_mb"], 3) if c else None
        rows.append([d, f"{v['rss_median_mb']:.1f} / {v['rss_max_mb']:.1f}", f"{v['uss_median_mb']:.1f}",
                     f"{c['rss_median_mb']:.1f} / {c['rss_max_mb']:.1f}" if c else "—",
                     f"{c['uss_median_mb']:.1f}" if c else "—",
                     ratio(v["rss_median_mb"], c["rss_median_mb"] if c else None)])
    for k, v in floors.items():
        rows.append([f"floor: {k}", f"{v:.1f}", "", "", "", ""])
    print(table(
        f"daemons: steady memory, MB (RSS median / max of {mem['execd']['samples']} samples, 1 s apart, "
        f"after {warm:g} s; execd ran {agent_runs} agents, monitord took {monitor_samples} samples)",
        ["daemon", "vigil RSS", "vigil USS", "cf- RSS", "cf- USS", "x cf"], rows,
    ))
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
