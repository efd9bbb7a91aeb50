"""A stand-in for ``vigil agent`` in execd tests: behaves as ``<wd>/standin.json`` says.

Invoked as ``python standin_agent.py -m engine agent -f POLICY --started-by X
--output-file F -w WD`` so that its command line looks like an agent's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    wd = Path(argv[argv.index("-w") + 1])
    try:
        conf = json.loads((wd / "standin.json").read_text())
    except (OSError, ValueError):
        conf = {}
    policy = Path(argv[argv.index("-f") + 1])
    marker = next((ln for ln in policy.read_text().splitlines() if ln.startswith("# marker")), "none")
    print(f"standin: started_by={argv[argv.index('--started-by') + 1]} {marker}", flush=True)
    if conf.get("child"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        (wd / "standin_child.pid").write_text(str(child.pid))
    time.sleep(float(conf.get("sleep", 0)))
    return int(conf.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
