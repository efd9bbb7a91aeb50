"""``vigil up|down|restart [DAEMON...]`` and ``vigil status [--json]``.

``up`` starts each daemon detached (all of execd, serverd and monitord by
default) and reports the ones that failed, with the tail of their log, while
still starting the others. ``down`` stops them and waits; any process left
behind is reported and the exit code is 1. ``status`` shows each daemon, the
last and next agent run, and health issues with their fix; its exit code is 1
when there are health issues.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from engine.workdir import DAEMONS, Workdir

MULTI = True


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system one)")
    if name == "status":
        parser.add_argument("--json", action="store_true", help="print JSON")
    else:
        parser.add_argument(
            "daemons", nargs="*", metavar="DAEMON", help=f"any of {', '.join(DAEMONS)} (default: all)"
        )


def run(args: argparse.Namespace) -> int:
    wd = Workdir.resolve(args.workdir)
    if args.command == "status":
        return _status(wd, args.json)
    from engine.daemons import supervisor

    try:
        names = supervisor.names(args.daemons)
    except ValueError as e:
        print(f"vigil {args.command}: {e}", file=sys.stderr)
        return 2
    wd.ensure()
    rc = 0
    if args.command in ("down", "restart"):
        rc |= _down(wd, names)
    if args.command in ("up", "restart"):
        rc |= _up(wd, names)
    return rc


def _prepare(wd: Workdir, names: list[str]) -> None:
    """First start: seed the shipped policy and make the host key serverd needs."""
    from engine.seed import seed_workdir

    for path in seed_workdir(wd):
        print(f"seeded {path} from the shipped policy")
    if "serverd" in names:
        from engine.trust import keys

        if not keys.local_key_exists(wd.ppkeys):
            print(f"created host key {keys.generate(wd.ppkeys)}")


def _up(wd: Workdir, names: list[str]) -> int:
    from engine.daemons import supervisor

    _prepare(wd, names)
    rc = 0
    for d in names:
        r = supervisor.start(wd.root, d)
        if r.ok:
            print(f"{d}: {r.message}")
        else:
            print(f"{d}: failed: {r.message}", file=sys.stderr)
            rc = 1
    return rc


def _down(wd: Workdir, names: list[str]) -> int:
    from engine.daemons import config, supervisor

    grace = config.load(wd.root).grace_seconds
    rc = 0
    for d in names:
        r = supervisor.stop(wd.root, d, supervisor.stop_timeout(d, grace))
        if r.ok:
            print(f"{d}: {r.message}")
        else:
            print(f"{d}: {r.message}", file=sys.stderr)
            rc = 1
    return rc


def _fmt_uptime(s: float | None) -> str:
    if s is None:
        return "—"
    s = int(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _fmt_when(t: float | None, now: float) -> str:
    if t is None:
        return "—"
    clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    d = int(t - now)
    rel = f"in {d} s" if d >= 0 else f"{-d} s ago"
    if abs(d) >= 120:
        rel = f"in {d // 60} min" if d >= 0 else f"{-d // 60} min ago"
    return f"{clock} ({rel})"


def collect(wd: Workdir) -> dict[str, Any]:
    """Everything ``vigil status`` shows, as plain data."""
    from engine.daemons import health as health_mod
    from engine.daemons import status as st

    daemons = st.daemon_statuses(wd)
    info = st.execd_info(wd)
    last = st.last_run(wd)
    return {
        "workdir": str(wd.root),
        "daemons": [asdict(d) for d in daemons],
        "last_run": asdict(last) if last else None,
        "next_run_at": st.next_run_at(wd),
        "policy_ok": info.get("policy_ok") if info else None,
        "policy_error": info.get("policy_error") if info else None,
        "health": [asdict(h) for h in health_mod.health(wd, daemons)],
    }


def _status(wd: Workdir, as_json: bool) -> int:
    data = collect(wd)
    if as_json:
        print(json.dumps(data, indent=2))
        return 1 if data["health"] else 0
    now = time.time()
    print(f"workdir {data['workdir']}")
    print(f"{'daemon':<10}{'state':<10}{'pid':>8}  {'uptime':<9}{'cpu':>7}  {'rss (tree)':>11}  children")
    for d in data["daemons"]:
        cpu = f"{d['cpu_percent']:.1f}%" if d["cpu_percent"] is not None else "—"
        rss = f"{d['rss_bytes'] / 1048576:.1f} MB" if d["rss_bytes"] is not None else "—"
        pid = str(d["pid"]) if d["pid"] else "—"
        print(
            f"{d['name']:<10}{d['state']:<10}{pid:>8}  {_fmt_uptime(d['uptime_s']):<9}{cpu:>7}  "
            f"{rss:>11}  {d['children']}"
        )
    last = data["last_run"]
    if last:
        how = "interrupted" if last["interrupted"] else f"exit {last['exit_code']}"
        print(f"last run  {last['id']}  {last['started_by']}  {how}  {_fmt_when(last['start'], now)}")
    else:
        print("last run  —")
    print(f"next run  {_fmt_when(data['next_run_at'], now)}")
    if data["policy_ok"] is False:
        print(f"policy    INVALID: {data['policy_error']}")
    elif data["policy_ok"]:
        print("policy    ok")
    if not data["health"]:
        print("health    ok")
    for h in data["health"]:
        print(f"! {h['code']}: {h['message']}")
        print(f"    fix: {h['fix']}")
    return 1 if data["health"] else 0
