"""Functions on the process table: processexists, findprocesses.

The regex is searched (unanchored) in each process's command line, as
``processes`` promises match their promiser; the agent's own process is part of the
table, as it is for cf-agent.
"""

from __future__ import annotations

from engine.eval.functions._util import pcre
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data


def _matching(regex: str) -> list[tuple[int, str]]:
    rx = pcre(regex)
    try:
        import psutil
    except ImportError as e:  # pragma: no cover - psutil is a dependency
        raise FunctionError("the process table cannot be read (psutil missing)") from e
    out = []
    for proc in psutil.process_iter(["pid", "cmdline", "name"]):
        info = proc.info
        args = " ".join(info.get("cmdline") or []) or f"[{info.get('name') or ''}]"
        if rx.search(args):
            out.append((int(info["pid"]), args))
    return out


@function("processexists", "class", 1, 1)
def processexists(env: FnEnv, regex: str) -> bool:
    """processexists(regex): true when a process's command line matches ``regex``."""
    return bool(_matching(regex))


@function("findprocesses", "data", 1, 1)
def findprocesses(env: FnEnv, regex: str) -> Data:
    """findprocesses(regex): the processes whose command line matches, as a list of
    ``{"pid": n, "line": "command line"}`` objects."""
    return Data([{"pid": pid, "line": line} for pid, line in _matching(regex)])
