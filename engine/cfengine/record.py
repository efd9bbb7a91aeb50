"""Run a CFEngine tool and record it: ``python -m engine.cfengine.record ROOT -- ARGV…``.

The console's forced run on a CFEngine workdir goes through here: the output is passed
through line by line (the console streams it) and written, with the exit code and the
times, to :func:`engine.cfengine.runs.record_dir`, so the run is listed in Runs. The
exit code is the tool's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.cfengine import tool, tool_env
from engine.cfengine.runs import record_dir


def run_and_record(root: Path, argv: list[str]) -> int:
    out_dir = record_dir(root)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    start = time.time()
    run_id = time.strftime("%Y%m%dT%H%M%S", time.localtime(start)) + f"-{os.getpid()}"
    log_path = out_dir / f"{run_id}.log"
    meta_path = out_dir / f"{run_id}.json"
    meta = {"id": run_id, "start": start, "end": None, "exit_code": None,
            "command": " ".join(argv), "output": log_path.name, "workdir": str(root)}
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=tool_env(root))
    except OSError as exc:
        print(f"error: cannot start {argv[0]}: {exc.strerror}", flush=True)
        meta.update(end=time.time(), exit_code=127)
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        return 127
    assert proc.stdout is not None
    with open(log_path, "wb") as log:
        for line in proc.stdout:
            log.write(line)
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
    rc = proc.wait()
    meta.update(end=time.time(), exit_code=rc)
    write_atomic(meta_path, json.dumps(meta).encode("utf-8"), 0o644)
    return rc


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m engine.cfengine.record ROOT -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    root = Path(argv[0]).absolute()
    command = argv[2:]
    if "/" not in command[0]:  # a CFEngine tool by name: the workdir's own bin/ first
        command[0] = tool(root, command[0]) or command[0]
    return run_and_record(root, command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
