"""Validate a policy for execd, in a child process, and read its executor control.

``python -m engine.daemons.execd.policycheck ENTRY WORKDIR`` prints one JSON object:
``{"ok": bool, "error": "file:line:col: message" | null, "errors": [...],
"executor": {"schedule": [...], "splaytime": "N", "agent_expireafter": "M"}}``.

execd runs this in a subprocess so the parser never lives in the daemon (its
memory stays low) and a parser crash cannot take the scheduler down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.policy.ast import Policy
    from engine.policy.diagnostics import Diagnostic

EXECUTOR_KEYS = ("schedule", "splaytime", "agent_expireafter")
FAILING = ("error",)  # as `vigil promises`: unsupported findings do not fail


@dataclass
class CheckResult:
    ok: bool
    error: str | None = None
    errors: list[str] = field(default_factory=list)
    executor: dict[str, Any] = field(default_factory=dict)


def check(entry: Path, workdir: Path, timeout: float = 60.0) -> CheckResult:
    """Run the check in a child process and return its verdict."""
    argv = [sys.executable, "-m", "engine.daemons.execd.policycheck", str(entry), str(workdir)]
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return CheckResult(False, f"{entry}: policy check took longer than {timeout:.0f} s")
    try:
        data = json.loads(cp.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (cp.stderr.strip().splitlines() or ["no output"])[-1]
        return CheckResult(False, f"{entry}: policy check failed: {tail}")
    return CheckResult(
        bool(data.get("ok")), data.get("error"), list(data.get("errors") or []), data.get("executor") or {}
    )


def check_in_process(entry: Path, workdir: Path) -> CheckResult:
    """Load, validate and extract; used by the child process."""
    from engine.policy.diagnostics import PolicySyntaxError

    if not entry.is_file():
        return CheckResult(False, f"{entry}: no such policy file")
    try:
        policy, diags = _load(entry, workdir)
    except PolicySyntaxError as e:
        return CheckResult(False, e.diagnostic.headline(), [e.diagnostic.headline()])
    except OSError as e:
        return CheckResult(False, f"{entry}: {e}")
    bad = [d.headline() for d in diags if getattr(d, "severity", "error") in FAILING]
    if bad:
        return CheckResult(False, bad[0], bad)
    return CheckResult(True, executor=_executor(policy))


def _load(entry: Path, workdir: Path) -> tuple[Policy, list[Diagnostic]]:
    from engine.eval.loading import load as load_policy
    from engine.policy.validate import validate

    result = load_policy(entry, workdir)
    diags = list(result.diagnostics)
    diags.extend(validate(result.policy, inputs_pending=result.inputs_pending))
    return result.policy, diags


def _executor(policy: Any) -> dict[str, Any]:
    """Literal values of ``body executor control`` (the last setting wins)."""
    from engine.policy.ast import RList, Scalar

    out: dict[str, Any] = {}
    for body in policy.control_bodies("executor"):
        for c in body.constraints:
            if c.lval not in EXECUTOR_KEYS or c.guard not in ("any", ""):
                continue
            if isinstance(c.rval, Scalar):
                out[c.lval] = c.rval.value
            elif isinstance(c.rval, RList):
                out[c.lval] = [i.value for i in c.rval.items if isinstance(i, Scalar)]
    return out


def main(argv: list[str]) -> int:
    entry, workdir = Path(argv[0]), Path(argv[1])
    try:
        r = check_in_process(entry, workdir)
    except Exception as e:  # noqa: BLE001 - any failure is a verdict, not a crash
        r = CheckResult(False, f"{entry}: {type(e).__name__}: {e}")
    print(json.dumps({"ok": r.ok, "error": r.error, "errors": r.errors, "executor": r.executor}))
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
