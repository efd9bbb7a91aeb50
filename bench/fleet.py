"""Fleet scale: one hub, N agents on this machine, hub = cf-serverd or vigil serverd.

The hub listens on 127.0.0.2 (a loopback address that is not an interface address, so
cf-agent does not take the hub for itself) and serves a private copy of Debian's stock
masterfiles, tagged with ``cf-promises -T`` (``cf_promises_validated``). Its policy is a
minimal one of ours, not the stock ``cf_serverd.cf``: ``body server control`` letting
127.0.0.0/8 connect, trusting new keys from there (``trustkeysfrom``), cf-serverd's
default ``maxconnections`` (30; the stock policy sets 200), and ``access:`` to the
masterfiles under the shortcuts
``masterfiles`` and ``modules``, as the stock policy grants them. cf-serverd and vigil
serverd read the same policy text and serve the same directory.

Each agent has its own workdir and its own keys (made before the clock starts) and
takes three steps, as a new host does:

1. **bootstrap**: ``agent --bootstrap 127.0.0.2:PORT --skip-bootstrap-policy-run`` (and,
   for vigil, ``--skip-bootstrap-service-start``): trust the hub's key, write
   ``policy_server.dat``, fetch masterfiles into ``inputs/`` and ``modules/``;
2. **update**: ``agent -K -f update.cf``, the stock update policy, which asks the hub
   for ``masterfiles/cf_promises_validated``, as every scheduled run does;
3. **run**: ``agent -K -n`` (promises.cf, dry run: the whole policy is evaluated but
   nothing on this machine changes and no daemon starts).

Bootstraps of the whole fleet run first (wave 1), then the runs (wave 2: steps 2-3);
each wave at a bounded concurrency (8 agents at a time by default: the machine has 2
cores). Then a **burst** (wave 3): the hub's policy is tagged again (a new
``cf_promises_validated``, so each update walks the whole tree, as after a policy
change) and every agent's update starts at once (at most 50 at a time: each is a
process), which is what ``maxconnections`` is for.

The hub's CPU (utime + stime of its process and reaped children, from
``/proc/PID/stat``) is read before and after each wave; its RSS is sampled from
``/proc/PID/status`` every 50 ms. *Refused*: connections the hub's log says it turned
away (cf-serverd: ``Too many threads``; vigil: ``Too many connections`` and its
per-address counts). Every agent's exit code and ``inputs/promises.cf`` are checked
after wave 2; after the burst, whether its ``cf_promises_validated`` is the new one
(cf-agent exits 0 when its update could not connect). Wall time to converge: from the
first bootstrap's start to the last run's end.

cf-agent clients (real ``cf-agent``, their ``bin/`` holding only cf-agent, cf-promises and
cf-key so that no daemon can be started from their workdir) are a reference row.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench._harness import table
from bench.fleet_hosts import (
    EXPECTED,
    HUB,
    MAXCONNECTIONS,
    Agent,
    Hub,
    Outcome,
    RssSampler,
    cf_agent,
    cf_keys,
    cpu_s,
    end_leftovers,
    fresh_workdir,
    hub_refusals,
    prepare_masterfiles,
    read_bytes,
    retag,
    run_step,
    status_kb,
    vigil_agent,
    vigil_keys,
)
from bench.realpolicy import find_masterfiles
from tests.cfhost import missing

CONCURRENCY = 8
BURST = 50  # agents started at once in the burst wave (memory: each is a process)


@dataclass(slots=True)
class Wave:
    """A wave of agent steps: the hub's CPU over it, its wall time, the outcomes."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)


def _bootstrap_step(agent: Agent) -> list[Outcome]:
    return [agent.do_bootstrap()]


def _update_step(agent: Agent) -> list[Outcome]:
    return [run_step(agent.update, agent.env)]


def _run_steps(agent: Agent) -> list[Outcome]:
    return [run_step(agent.update, agent.env), run_step(agent.run, agent.env)]


def _wave(hub: Hub, agents: list[Agent], steps: Callable[[Agent], list[Outcome]],
          concurrency: int) -> Wave:
    """``steps`` of every agent, ``concurrency`` agents at a time; the hub's CPU over it."""
    cpu0, t0 = cpu_s(hub.proc.pid), time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(steps, agents))
    wave = Wave(cpu_s(hub.proc.pid) - cpu0, time.monotonic() - t0)
    for outcomes in results:
        wave.outcomes.extend(outcomes)
    return wave


def fleet(hub_kind: str, client: str, n: int, root: Path, masterfiles: Path,
          templates: list[Path], concurrency: int = CONCURRENCY) -> dict[str, object]:
    """One fleet: ``n`` agents of ``client`` ("vigil" or "cf-agent") against one hub."""
    run_root = root / f"{hub_kind}-{client}-{n}"
    run_root.mkdir()
    hub = Hub(hub_kind, run_root, masterfiles)
    make = vigil_agent if client == "vigil" else cf_agent
    agents = [make(fresh_workdir(templates[i], run_root / f"a{i:03d}"), f"agent-{i:03d}", hub.address)
              for i in range(n)]
    sampler = RssSampler(hub.proc.pid)
    sampler.start()
    try:
        rss_idle_kb = status_kb(hub.proc.pid, "VmRSS")
        boot = _wave(hub, agents, _bootstrap_step, concurrency)
        runs = _wave(hub, agents, _run_steps, concurrency)
        peak_kb, sampler.peak_kb = sampler.peak_kb, 0
        converged = sum(1 for a in agents if (a.wd / "inputs" / "promises.cf").is_file()
                        and (a.wd / "inputs" / "cf_promises_validated").is_file())
        retag(masterfiles)
        burst = _wave(hub, agents, _update_step, min(n, BURST))
    finally:
        burst_peak_kb = sampler.stop()
        hub.stop()
        end_leftovers(str(run_root))
    validated = (masterfiles / "cf_promises_validated").read_bytes()
    updated = sum(1 for a in agents if read_bytes(a.wd / "inputs" / "cf_promises_validated") == validated)
    failed = [o for o in boot.outcomes + runs.outcomes if o.rc != 0 and not EXPECTED.search(o.tail)]
    result: dict[str, object] = {
        "hub": hub_kind, "clients": client, "agents": n, "concurrency": concurrency,
        "converged": converged,
        "hub_cpu_ms_per_bootstrap": round(boot.cpu_s * 1000 / n, 1),
        "hub_cpu_ms_per_run": round(runs.cpu_s * 1000 / n, 1),
        "hub_cpu_s_total": round(boot.cpu_s + runs.cpu_s, 2),
        "hub_rss_idle_mb": round(rss_idle_kb / 1024, 1),
        "hub_rss_peak_mb": round(max(peak_kb, rss_idle_kb) / 1024, 1),
        "refused_by_hub": hub_refusals(hub.log.read_text(errors="replace")),
        "refusal_lines_of_agents": sum(o.refused for o in boot.outcomes + runs.outcomes
                                       + burst.outcomes),
        "burst_concurrency": min(n, BURST),
        "burst_updated": updated,
        "burst_exit_nonzero": sum(1 for o in burst.outcomes if o.rc != 0),
        "hub_cpu_ms_per_policy_change_run": round(burst.cpu_s * 1000 / n, 1),
        "burst_rss_peak_mb": round(burst_peak_kb / 1024, 1),
        "burst_wall_s": round(burst.wall_s, 1),
        "failed_steps": len(failed),
        "bootstrap_wall_s": round(boot.wall_s, 1),
        "runs_wall_s": round(runs.wall_s, 1),
        "converge_wall_s": round(boot.wall_s + runs.wall_s, 1),
        "agent_bootstrap_median_s": _median([o.wall for o in boot.outcomes]),
    }
    if failed:
        result["first_failure"] = failed[0].tail[-800:]
    shutil.rmtree(run_root, ignore_errors=True)
    return result


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    return round(s[len(s) // 2], 2) if s else 0.0


ROWS = (  # (hub, clients, agents); quick keeps the first size only
    ("cf-serverd", "vigil"), ("vigil serverd", "vigil"),
)
REFERENCE = (("cf-serverd", "cf-agent"), ("vigil serverd", "cf-agent"))


WAVE_COLUMNS = ("hub_cpu_ms_per_bootstrap", "hub_cpu_ms_per_run", "hub_rss_idle_mb",
                "hub_rss_peak_mb", "failed_steps", "bootstrap_wall_s", "converge_wall_s")
BURST_COLUMNS = ("burst_concurrency", "hub_cpu_ms_per_policy_change_run", "burst_rss_peak_mb",
                 "refused_by_hub", "burst_wall_s")


def _cells(r: dict[str, object], first: str, columns: tuple[str, ...]) -> list[object]:
    head = [r["hub"], r["clients"], r["agents"]]
    if "error" in r:
        return [*head, f"error: {r['error']}"[:60], *[""] * len(columns)]
    return [*head, f"{r[first]}/{r['agents']}", *(r[c] for c in columns)]


def main(quick: bool = False, sizes: tuple[int, ...] | None = None,
         concurrency: int = CONCURRENCY) -> dict[str, object]:
    """Both hubs, vigil agents at each size; cf-agent agents at the smallest size."""
    src = find_masterfiles()
    if src is None or missing("cf-serverd"):
        print("fleet: skipped, needs CFEngine (cf-serverd, cf-agent, cf-promises) and its "
              "stock masterfiles")
        return {}
    sizes = sizes or ((50,) if quick else (50, 200))
    root = Path(tempfile.mkdtemp(prefix="bench-fleet-", dir="/tmp"))
    results: list[dict[str, object]] = []
    try:
        masterfiles = prepare_masterfiles(src, root)
        vkeys = vigil_keys(root / "keys", max(sizes))
        ckeys = cf_keys(root / "cfkeys", min(sizes))
        plan = [(h, c, n) for n in sizes for h, c in ROWS]
        plan += [(h, c, min(sizes)) for h, c in REFERENCE]
        for hub_kind, client, n in plan:
            try:
                r = fleet(hub_kind, client, n, root, masterfiles,
                          vkeys if client == "vigil" else ckeys, concurrency)
            except (OSError, RuntimeError, subprocess.SubprocessError) as e:
                r = {"hub": hub_kind, "clients": client, "agents": n, "error": repr(e)}
            results.append(r)
            print(f"  {hub_kind:13} {client:8} N={n:<4} done", flush=True)
    finally:
        end_leftovers(str(root))
        shutil.rmtree(root, ignore_errors=True)
    print(table(
        f"fleet: one hub on {HUB}, N agents on this machine, {concurrency} at a time; "
        "bootstrap, then update.cf + promises.cf (-n); hub CPU ms per agent, MB, s",
        ["hub", "agents", "N", "converged", "CPU/bootstrap", "CPU/run", "RSS idle",
         "RSS peak", "failed", "bootstrap s", "converge s"],
        [_cells(r, "converged", WAVE_COLUMNS) for r in results]))
    print()
    print(table(
        f"fleet burst: the hub's policy re-tagged, then every agent's update.cf, {BURST} at "
        f"once, maxconnections {MAXCONNECTIONS}; hub CPU ms per agent, MB, s",
        ["hub", "agents", "N", "updated", "at once", "CPU/run", "RSS peak", "refused",
         "wall s"],
        [_cells(r, "burst_updated", BURST_COLUMNS) for r in results]))
    from bench import fleet_requests

    return {"concurrency": concurrency, "fleets": results, "requests": fleet_requests.main(src)}


if __name__ == "__main__":
    argv = sys.argv[1:]
    main(quick="--quick" in argv,
         sizes=tuple(int(a) for a in argv if a.isdigit()) or None)
