"""What one agent asks the hub for, counted by cf-serverd (``-d`` logs each request).

One agent (vigil's, then cf-agent) against a cf-serverd hub serving Debian's
masterfiles (see :mod:`bench.fleet`), step by step: the bootstrap; an update run with
the policy unchanged (what every scheduled run costs the hub); an update run after the
hub's policy was tagged again (``cf-promises -T``: a new ``cf_promises_validated``, no
file changed); and one after one file changed. Per step: connections accepted and
requests by command.
"""

from __future__ import annotations

import collections
import re
import shutil
import tempfile
import time
from pathlib import Path

from bench._harness import table
from bench.fleet_hosts import (
    Hub,
    cf_agent,
    cf_keys,
    end_leftovers,
    fresh_workdir,
    prepare_masterfiles,
    retag,
    run_step,
    vigil_agent,
    vigil_keys,
)

STEPS = ("bootstrap", "update, policy unchanged", "update, policy re-tagged",
         "update, one file changed")
COMMANDS = ("STAT", "OPENDIR", "MD5", "GET")


def count(client: str, src: Path) -> list[dict[str, object]]:
    """Connections and requests per step of one ``client`` ("vigil" or "cf-agent")."""
    root = Path(tempfile.mkdtemp(prefix="bench-fleet-requests-", dir="/tmp"))
    rows: list[dict[str, object]] = []
    try:
        masterfiles = prepare_masterfiles(src, root)
        hub = Hub("cf-serverd", root, masterfiles, debug=True)
        keys = vigil_keys(root / "k", 1) if client == "vigil" else cf_keys(root / "k", 1)
        make = vigil_agent if client == "vigil" else cf_agent
        agent = make(fresh_workdir(keys[0], root / "agent"), "agent-000", hub.address)
        try:
            marks = [0]
            for i, _step in enumerate(STEPS):
                if i >= 2:
                    retag(masterfiles, change=i == 3)
                outcome = agent.do_bootstrap() if i == 0 else run_step(agent.update, agent.env)
                time.sleep(0.2)
                marks.append(hub.log.stat().st_size)
                rows.append({"client": client, "step": STEPS[i], "rc": outcome.rc})
        finally:
            hub.stop()
        text = hub.log.read_bytes()
        for row, start, end in zip(rows, marks, marks[1:], strict=False):
            chunk = text[start:end].decode(errors="replace")
            ops = collections.Counter(re.findall(r"Received:\s+(\S+)", chunk))
            row["connections"] = len(re.findall(r"Obtained IP address of", chunk))
            row.update({c: ops.get(c, 0) for c in COMMANDS})
            row["requests"] = sum(ops.values())
    finally:
        end_leftovers(str(root))
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main(src: Path) -> list[dict[str, object]]:
    rows = count("vigil", src) + count("cf-agent", src)
    print(table("requests to the hub (cf-serverd -d) for one agent, Debian's masterfiles",
                ["agent", "step", "connections", *COMMANDS, "requests"],
                [[r["client"], r["step"], r.get("connections"), *(r.get(c) for c in COMMANDS),
                  r.get("requests")] for r in rows]))
    return rows


if __name__ == "__main__":
    from bench.realpolicy import find_masterfiles

    found = find_masterfiles()
    if found:
        main(found)
