"""vigil serverd: handshakes/s, copy throughput, memory; beside cf-serverd where installed.

Server and clients are separate processes on 127.0.0.1 (two temp workdirs, keys
exchanged through ``trustkeysfrom``). Handshakes: N client threads in one process,
each looping connect (TLS 1.3 + signed hello) / whoami / close for a few seconds;
the server's CPU per handshake comes from psutil ``cpu_times``. Copy: ``copy_from_remote``
of a 1 MB and a 100 MB file (20 MB with --quick) into a fresh destination. Memory:
serverd RSS idle, and with 200 authenticated idle connections open.
cf-serverd: idle RSS, ``cf-net get`` wall time for the same files (it includes
cf-net's start-up), and ``cf-net connect`` per second (one process per connect).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench._harness import PYTHON, cf_env, cfengine_workdir, have_cfengine, table

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
        seconds = 2.0 if quick else 4.0
        for c in (1, 8, 64):
            cpu0 = sum(ps.cpu_times()[:2])
            r = _client(b, "handshakes", server, str(c), str(seconds))
            cpu = sum(ps.cpu_times()[:2]) - cpu0
            res[f"handshakes_per_s_c{c}"] = round(r["n"] / r["s"], 1)
            res[f"server_cpu_ms_per_handshake_c{c}"] = round(cpu * 1000 / max(r["n"], 1), 2)
        for name, size in sizes.items():
            dest = root / f"dest-{name}"
            r = _client(b, "copy", server, str(share / name), str(dest))
            res[f"copy_{name}_s"] = round(r["s"], 3)
            res[f"copy_{name}_mb_per_s"] = round(size / 2**20 / r["s"], 1)
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
        subprocess.run(["cf-net", "-H", server, "connect"], env=cf_env(b), capture_output=True)
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < (2.0 if quick else 4.0):
            subprocess.run(["cf-net", "-H", server, "connect"], env=cf_env(b), capture_output=True)
            n += 1
        res["cf_net_connects_per_s_c1"] = round(n / (time.monotonic() - t0), 1)
        for name, size in sizes.items():
            t = time.perf_counter()
            subprocess.run(["cf-net", "-H", server, "get", "-o", str(b / f"got-{name}"),
                            str(share / name)], env=cf_env(b), capture_output=True, check=True)
            s = time.perf_counter() - t
            res[f"copy_{name}_s"] = round(s, 3)
            res[f"copy_{name}_mb_per_s"] = round(size / 2**20 / s, 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)
    return res


def main(quick: bool = False) -> dict[str, object]:
    sizes = {"1MB": 2**20, ("20MB" if quick else "100MB"): (20 if quick else 100) * 2**20}
    out: dict[str, object] = {"vigil": _vigil(quick, sizes)}
    if have_cfengine() and shutil.which("cf-serverd") and shutil.which("cf-net"):
        try:
            out["cfengine"] = _cfengine(quick, sizes)
        except (subprocess.SubprocessError, OSError) as e:
            out["cfengine"] = {"error": repr(e)}
    keys = list(out["vigil"])  # type: ignore[arg-type]
    cf = out.get("cfengine", {})
    rows = [(k, out["vigil"][k], cf.get(k, "—") if isinstance(cf, dict) else "—") for k in keys]  # type: ignore[index]
    if isinstance(cf, dict):
        rows += [(k, "—", v) for k, v in cf.items() if k not in keys]
    print(table("serverd (127.0.0.1, separate client process)", ("figure", "vigil", "cf-serverd"), rows))
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
