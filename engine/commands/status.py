"""``vigil status [-w WD | --cfengine [WD]] [--json]``: daemons, last and next run, health.

Reads everything through :mod:`engine.inspect`, as the console does, so both say the
same. On a CFEngine workdir the daemons are cf-execd, cf-serverd, cf-monitord (and
cf-hub), and every fix is CFEngine's own (``systemctl start cf-serverd``). The exit
code is 1 when there are health issues, 2 when the workdir is not one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from typing import Any

from engine.commands.common import add_workdir_arguments, checked_workdir
from engine.text import duration
from engine.workdir import Workdir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workdir_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    act = parser.add_mutually_exclusive_group()
    act.add_argument("--start", nargs="*", metavar="DAEMON", default=None,
                     help="with --cfengine: start these daemons (default: every stopped one) "
                     "as CFEngine does (systemctl, else the workdir's own cf-<daemon>)")
    act.add_argument("--stop", metavar="DAEMON", default=None,
                     help="with --cfengine: stop one daemon (systemctl, else SIGTERM to its pid)")


def _control(wd: Workdir, start: list[str] | None, stop: str | None) -> int:
    """Start or stop CFEngine daemons with CFEngine's own means."""
    import subprocess

    from engine import inspect
    from engine.cfengine import daemons as cfd
    from engine.cfengine import tool_env

    found = {d.name: d for d in inspect.daemon_statuses(wd, 0.0)}
    if stop is not None:
        d = found.get(stop)
        argv = cfd.stop_command(wd.root, stop, d.pid if d and d.state == "running" else None)
        if argv is None:
            print(f"vigil status: cf-{stop} is not running", file=sys.stderr)
            return 1
        return subprocess.run(argv, env=tool_env(wd.root), check=False).returncode
    names = start or [n for n, d in found.items() if d.state != "running"]
    rc = 0
    for n in names:
        argv = cfd.start_command(wd.root, n)
        if argv is None:
            print(f"vigil status: cf-{n} is not installed", file=sys.stderr)
            rc = 1
            continue
        rc |= subprocess.run(argv, env=tool_env(wd.root), check=False,
                             stdin=subprocess.DEVNULL).returncode
        print(f"cf-{n}: started with {' '.join(argv)}")
    return rc


def collect(wd: Workdir) -> dict[str, Any]:
    """Everything ``vigil status`` shows, as plain data."""
    from engine import inspect

    daemons = inspect.daemon_statuses(wd)
    plan = inspect.execd_status(wd)
    runs = inspect.runs(wd, limit=1)
    last = runs[0] if runs else None
    return {
        "workdir": str(wd.root),
        "cfengine": wd.cfengine,
        "daemons": [asdict(d) for d in daemons],
        "last_run": asdict(last) if last else None,
        "next_run_at": plan.next_run_at if plan and plan.running else None,
        "splay": plan.splay_s if plan else None,
        "policy_ok": plan.policy_ok if plan else None,
        "policy_error": plan.policy_error if plan else None,
        "health": [asdict(h) for h in inspect.health(wd, daemons)],
    }


def _fmt_when(t: float | None, now: float) -> str:
    if t is None:
        return "—"
    clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
    d = t - now
    rel = f"in {duration(d)}" if d >= 0 else f"{duration(-d)} ago"
    return f"{clock} ({rel})"


def run(args: argparse.Namespace) -> int:
    wd = checked_workdir(args)
    if wd is None:
        return 2
    if getattr(args, "start", None) is not None or getattr(args, "stop", None):
        if not wd.cfengine:
            print("vigil status: --start/--stop are for --cfengine; use vigil up/down", file=sys.stderr)
            return 2
        return _control(wd, args.start, args.stop)
    data = collect(wd)
    if args.json:
        print(json.dumps(data, indent=2))
        return 1 if data["health"] else 0
    now = time.time()
    print(f"{'CFEngine ' if wd.cfengine else ''}workdir {data['workdir']}")
    print(f"{'daemon':<12}{'state':<10}{'pid':>8}  {'uptime':<9}{'cpu':>7}  {'rss (tree)':>11}  children")
    for d in data["daemons"]:
        cpu = f"{d['cpu_percent']:.1f}%" if d["cpu_percent"] is not None else "—"
        rss = f"{d['rss_bytes'] / 1048576:.1f} MB" if d["rss_bytes"] is not None else "—"
        pid = str(d["pid"]) if d["pid"] else "—"
        name = d["program"] if wd.cfengine else d["name"]
        print(f"{name:<12}{d['state']:<10}{pid:>8}  {duration(d['uptime_s']):<9}{cpu:>7}  "
              f"{rss:>11}  {d['children']}")
    last = data["last_run"]
    if last:
        if last["interrupted"]:
            how = "interrupted"
        elif last["exit_code"] is None:
            how = "exit code not recorded"
        else:
            how = f"exit {last['exit_code']}"
        print(f"last run  {last['id']}  {last['started_by']}  {how}  {_fmt_when(last['start'], now)}")
    else:
        print("last run  —")
    if wd.cfengine:
        print("next run  — (cf-execd does not record its plan)")
    else:
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
