"""monitord's policy, read in a child process (as serverd reads its own).

The parser and the evaluator would stay in monitord's memory for its whole life
once imported, so monitord never imports them: :func:`read_monitor_policy` runs
this module as a child (same interpreter, same ``sys.path``), which evaluates the
monitor bundles (:mod:`engine.daemons.monitord.policy_eval`) and prints the measurements as
JSON. The child's problems come back as log lines for monitord's own log; a child
that cannot run at all raises :class:`PolicyReadError` and monitord keeps the
measurements it had.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.daemons.monitord.measurements import Measurement

CHILD_TIMEOUT = 120.0  # seconds for one policy read
_CHILD = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from engine.daemons.monitord.policy import child_main; sys.exit(child_main())"
)


class PolicyReadError(Exception):
    """The child could not read the policy (it crashed, hung or said nothing useful)."""


@dataclass(frozen=True, slots=True)
class MonitorPolicy:
    ok: bool  # False: the policy did not load or validate (see ``lines``)
    measurements: tuple[Measurement, ...] = ()
    files: tuple[str, ...] = ()  # every policy file read
    forgetrate: float | None = None  # body monitor control
    lines: tuple[tuple[str, str], ...] = ()  # (level, message) the child logged


def read_monitor_policy(workdir: Path, entry: Path, cfengine: bool = False) -> MonitorPolicy:
    """Evaluate ``entry``'s monitor bundles in a child process."""
    request = {"workdir": str(workdir), "cfengine": cfengine, "entry": str(entry)}
    if not sys.executable:
        raise PolicyReadError("no Python interpreter to run")
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(sys.path)],
            input=json.dumps(request).encode("utf-8"), capture_output=True,
            timeout=CHILD_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        raise PolicyReadError(f"reading '{entry}' took more than {CHILD_TIMEOUT:g} s") from None
    except OSError as e:
        raise PolicyReadError(f"cannot start the policy reader: {e}") from None
    if out.returncode != 0:
        tail = out.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise PolicyReadError(f"the policy reader exited with {out.returncode}: {tail[0]}")
    try:
        return policy_from_json(json.loads(out.stdout))
    except (ValueError, TypeError, KeyError) as e:
        raise PolicyReadError(f"the policy reader's reply did not parse: {e}") from None


def policy_from_json(reply: dict[str, Any]) -> MonitorPolicy:
    lines = tuple((str(a), str(b)) for a, b in reply.get("lines", ()))
    if not reply.get("ok"):
        return MonitorPolicy(False, lines=lines)
    rate = reply.get("forgetrate")
    return MonitorPolicy(
        True,
        tuple(Measurement.from_dict(d) for d in reply["measurements"]),
        tuple(str(f) for f in reply.get("files", ())),
        float(rate) if rate is not None else None,
        lines,
    )


def child_main() -> int:
    """The child: a request on stdin, the measurements (or why not) on stdout."""
    req = json.load(sys.stdin)
    out, sys.stdout = sys.stdout, sys.stderr  # nothing but the reply goes to stdout
    from engine.log import Level, LineLogger
    from engine.workdir import Workdir

    lines: list[list[str]] = []

    def sink(line: str) -> None:
        level, sep, msg = line.partition(": ")
        level = level.strip().lower()
        if sep and level in ("error", "warning", "critical"):
            lines.append(["error" if level == "critical" else level, msg])

    log = LineLogger(Level.WARNING, sink=sink)
    workdir = Workdir(Path(req["workdir"]), cfengine=bool(req.get("cfengine")))
    try:
        from engine.daemons.monitord.policy_eval import evaluate

        reply = evaluate(workdir, str(req["entry"]), log)
    except Exception as e:  # noqa: BLE001 - whatever happens, monitord gets a reply
        reply = {"ok": False}
        lines.append(["error", f"Reading the monitor policy failed: {type(e).__name__}: {e}"])
    reply["lines"] = lines
    json.dump(reply, out)
    out.flush()
    return 0
