"""vigil serverd: handshakes/s, copy throughput, memory; beside cf-serverd where installed.

Server and clients are separate processes on 127.0.0.1 (two temp workdirs, keys
exchanged through ``trustkeysfrom``). Handshakes: N client threads in one process,
each looping connect (TLS 1.3 + signed hello) / whoami / close for a few seconds;
the server's CPU per handshake comes from psutil ``cpu_times``. Copy: ``copy_from_remote``
of a 1 MB and a 100 MB file (20 MB with --quick) into a fresh destination. Memory:
serverd RSS idle, and with 200 authenticated idle connections open.
cf-serverd: idle RSS, ``cf-net get`` wall time for the same files (it includes
cf-net's start-up), and ``cf-net connect`` per second from 1, 8 and 64 threads
(one process per connect), with cf-serverd's CPU per handshake beside vigil's.
Every figure is the median / min of 3 repetitions (1 with --quick).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench._harness import PYTHON, cfengine_workdir, ratio, table
from tests.cfhost import cf_env, missing

CLIENTS = (1, 8, 64)

REPO = Path(__file__).resolve().parents[1]

POLICY = """
body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ reports: "x"; }}
body server control
{{
  allowconnects => {{ "127.0.0.1" }};
  allowallconnects => {{ "127.0.0.1" }};
  trustkeysfrom => {{ "127.0.0.1" }};
  maxconnections => "2000";
}}
bundle server rules {{ access: "{share}" admit_ips => {{ "127.0.0.1" }}; }}
"""

CLIENT = r"""
import json, os, sys, threading, time
from engine.trust.client import connect, copy_from_remote
mode, wd, server = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "handshakes":
    threads, seconds = int(sys.argv[4]), float(sys.argv[5])
    counts = [0] * threads
    stop = time.monotonic() + seconds
    errors = []
    def loop(i):
        try:
            while time.monotonic() < stop:
                with connect(wd, server) as c:
                    c.whoami()
                counts[i] += 1
        except Exception as e:
            errors.append(repr(e))
    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    t0 = time.monotonic()
    [t.start() for t in ts]; [t.join() for t in ts]
    if errors:
        sys.exit(f"{len(errors)} client threads failed: {errors[0]}")
    print(json.dumps({"n": sum(counts), "s": time.monotonic() - t0}))
elif mode == "trust":
    with connect(wd, server, on_unknown=lambda key: True) as c:
        print(json.dumps(c.whoami() and {"n": 1}))
elif mode == "copy":
    src, dest = sys.argv[4], sys.argv[5]
    t0 = time.perf_counter()
    r = copy_from_remote(wd, server, src, dest)
    print(json.dumps({"s": time.perf_counter() - t0, "size": r.size}))
elif mode == "hold":
    n = int(sys.argv[4])
    conns = [connect(wd, server) for _ in range(n)]
    for c in conns:
        c.whoami()
    print("held", flush=True)
    sys.stdin.readline()
    for c in conns:
        c.close()
"""


def _env(name: str) -> dict[str, str]:
    return {**os.environ, "VIGIL_HOSTNAME": name, "PYTHONPATH": str(REPO)}


def _vigil_pair(root: Path, share: Path) -> tuple[Path, Path]:
    a, b = root / "A", root / "B"
    for wd in (a, b):
        (wd / "inputs").mkdir(parents=True)
        subprocess.run([PYTHON, "-m", "engine", "key", "-w", str(wd)], check=True, cwd=REPO)
    (a / "inputs" / "promises.cf").write_text(POLICY.format(share=share))
    return a, b


def _start(a: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    log = a / "serverd.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            [PYTHON, "-m", "engine", "serverd", "-F", "-w", str(a), "--port", "0",
             "--bind", "127.0.0.1"], stdout=f, stderr=subprocess.STDOUT, env=_env("benchA"),
            cwd=REPO,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
        if m:
            return proc, int(m.group(1)), log
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"serverd did not start: {log.read_text()}")


def _client(b: Path, *args: str) -> dict[str, float]:
    out = subprocess.run([PYTHON, "-c", CLIENT, args[0], str(b), *args[1:]], capture_output=True,
                         text=True, env=_env("benchB"), cwd=REPO, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"bench client {args[0]} failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rss_mb(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def _vigil(quick: bool, sizes: dict[str, int]) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="bench-serverd-"))
    share = root / "share"
    share.mkdir()
    for name, size in sizes.items():
        with open(share / name, "wb") as f:
            for _ in range(size // 2**20):
                f.write(os.urandom(2**20))
    a, b = _vigil_pair(root, share)
    proc, port, _log = _start(a)
    server = f"127.0.0.1:{port}"
    ps = psutil.Process(proc.pid)
    res: dict[str, object] = {}
    try:
        time.sleep(1.0)
        res["rss_idle_mb"] = _rss_mb(proc.pid)
        _client(b, "trust", server)  # first contact: trust both ways
        reps, seconds = (1, 1.0) if quick else (3, 3.0)
        for c in CLIENTS:
            rates, cpus = [], []
            for _ in range(reps):
                cpu0 = sum(ps.cpu_times()[:2])
                r = _client(b, "handshakes", server, str(c), str(seconds))
                cpu = sum(ps.cpu_times()[:2]) - cpu0
                rates.append(r["n"] / r["s"])
                cpus.append(cpu * 1000 / max(r["n"], 1))
            res[f"handshakes_per_s_c{c}"] = _mm(rates)
            res[f"server_cpu_ms_per_handshake_c{c}"] = _mm(cpus, 2)
        for name, size in sizes.items():
            walls = []
            for i in range(reps):
                dest = root / f"dest-{name}-{i}"
                walls.append(_client(b, "copy", server, str(share / name), str(dest))["s"])
                dest.unlink(missing_ok=True)
            res[f"copy_{name}_s"] = _mm(walls, 3)
            res[f"copy_{name}_mb_per_s"] = _mm([size / 2**20 / w for w in walls])
        before = _rss_mb(proc.pid)
        hold = subprocess.Popen([PYTHON, "-c", CLIENT, "hold", str(b), server, "200"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                env=_env("benchB"), cwd=REPO)
        assert hold.stdout is not None and hold.stdin is not None
        hold.stdout.readline()
        res["rss_200_conns_mb"] = _rss_mb(proc.pid)
        res["kib_per_idle_conn"] = round((res["rss_200_conns_mb"] - before) * 1024 / 200, 1)  # type: ignore[operator]
        hold.stdin.write("\n")
        hold.stdin.flush()
        hold.wait(30)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    return res


CF_POLICY = """
body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{ reports: "x"; }}
body server control
{{
  port => "{port}";
  bindtointerface => "127.0.0.1";
  allowconnects => {{ "127.0.0.1" }};
  allowallconnects => {{ "127.0.0.1" }};
  trustkeysfrom => {{ "127.0.0.1" }};
  maxconnections => "2000";
}}
bundle server rules {{ access: "{share}" admit_ips => {{ "127.0.0.1" }}; }}
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cfengine(quick: bool, sizes: dict[str, int]) -> dict[str, object]:
    a, b = cfengine_workdir(), cfengine_workdir()
    share = a / "share"
    share.mkdir()
    for name, size in sizes.items():
        with open(share / name, "wb") as f:
            for _ in range(size // 2**20):
                f.write(os.urandom(2**20))
    port = _free_port()
    (a / "inputs").mkdir(exist_ok=True)
    (a / "inputs" / "promises.cf").write_text(CF_POLICY.format(port=port, share=share))
    proc = subprocess.Popen(["cf-serverd", "-F"], env=cf_env(a), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    res: dict[str, object] = {}
    server = f"127.0.0.1:{port}"
    try:
        time.sleep(2.0)
        res["rss_idle_mb"] = _rss_mb(proc.pid)
        subprocess.run(["cf-net", "-H", server, "connect"], env=cf_env(b), capture_output=True,
                       check=True)
        ps = psutil.Process(proc.pid)
        reps, seconds = (1, 1.0) if quick else (3, 3.0)
        for c in CLIENTS:
            rates, cpus = [], []
            for _ in range(reps):
                cpu0 = sum(ps.cpu_times()[:2])
                n, took = _cf_connects(server, cf_env(b), c, seconds)
                cpu = sum(ps.cpu_times()[:2]) - cpu0
                rates.append(n / took)
                cpus.append(cpu * 1000 / max(n, 1))
            res[f"handshakes_per_s_c{c}"] = _mm(rates)
            res[f"server_cpu_ms_per_handshake_c{c}"] = _mm(cpus, 2)
        for name, size in sizes.items():
            walls = []
            for i in range(reps):
                got = b / f"got-{name}-{i}"
                t = time.perf_counter()
                subprocess.run(["cf-net", "-H", server, "get", "-o", str(got), str(share / name)],
                               env=cf_env(b), capture_output=True, check=True)
                walls.append(time.perf_counter() - t)
                if got.stat().st_size != size:
                    raise RuntimeError(f"cf-net get {name}: {got.stat().st_size} bytes, want {size}")
                got.unlink()
            res[f"copy_{name}_s"] = _mm(walls, 3)
            res[f"copy_{name}_mb_per_s"] = _mm([size / 2**20 / w for w in walls])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)
    return res


def _mm(values: list[float], digits: int = 1) -> dict[str, float]:
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits)}


def _cf_connects(server: str, env: dict[str, str], clients: int, seconds: float) -> tuple[int, float]:
    """``clients`` threads, each looping ``cf-net connect`` (one process, one handshake each)."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    errors: list[str] = []

    def loop(i: int) -> None:
        while time.monotonic() < stop:
            r = subprocess.run(["cf-net", "-H", server, "connect"], env=env, capture_output=True)
            if r.returncode != 0:
                errors.append(r.stdout.decode(errors="replace")[-300:])
                return
            counts[i] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"cf-net connect failed {len(errors)} times: {errors[0]}")
    return sum(counts), time.monotonic() - t0


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return f"{value['median']:g} / {value['min']:g}"
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _median(value: object) -> float | None:
    if isinstance(value, dict):
        return float(value["median"])
    return float(value) if isinstance(value, int | float) else None


def main(quick: bool = False) -> dict[str, object]:
    """vigil serverd and cf-serverd: the same figures, one row each."""
    sizes = {"1MB": 2**20, ("20MB" if quick else "100MB"): (20 if quick else 100) * 2**20}
    out: dict[str, object] = {"vigil": _vigil(quick, sizes)}
    if not missing("cf-serverd", "cf-net"):
        try:
            out["cfengine"] = _cfengine(quick, sizes)
        except (subprocess.SubprocessError, OSError, RuntimeError) as e:
            out["cfengine"] = {"error": repr(e)}
    vigil: dict[str, object] = out["vigil"]  # type: ignore[assignment]
    cf = out.get("cfengine")
    cf = cf if isinstance(cf, dict) else {}
    rows = []
    for k in [*vigil, *(k for k in cf if k not in vigil)]:
        v, c = vigil.get(k), cf.get(k)
        rows.append((k, _cell(v), _cell(c), ratio(_median(v), _median(c))))
    reps = 1 if quick else 3
    print(table(f"serverd: 127.0.0.1, clients in a separate process (median / min of {reps}); "
                "cf-serverd clients are cf-net processes, one per handshake",
                ("figure", "vigil serverd", "cf-serverd", "x cf"), rows))
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
