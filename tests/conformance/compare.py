"""Compare recorded cf-agent results with another run's, as a readable diff."""

from __future__ import annotations

import difflib
import json
from typing import Any

from tests.conformance.case import Case


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(str(item).split("\n") if isinstance(item, str) else [json.dumps(item)])
        return out
    return json.dumps(value, indent=2, sort_keys=True).splitlines()


def _diff(label: str, expected: Any, actual: Any, names: tuple[str, str]) -> list[str]:
    if expected == actual:
        return []
    if isinstance(expected, int) and isinstance(actual, int):
        return [f"{label}: expected {expected}, got {actual}"]
    body = difflib.unified_diff(
        _lines(expected), _lines(actual), fromfile=names[0], tofile=names[1], lineterm="", n=3
    )
    return [f"{label}:", *("    " + line for line in body)]


def differences(
    case: Case,
    expected: list[dict[str, Any]],
    actual: list[dict[str, Any]],
    names: tuple[str, str] = ("cf-agent (expected.json)", "vigil"),
) -> list[str]:
    """Human-readable differences over the fields the case compares; empty if equal."""
    problems: list[str] = []
    if len(expected) != len(actual):
        problems.append(f"expected {len(expected)} runs, got {len(actual)}")
    for index, (exp, act) in enumerate(zip(expected, actual, strict=False), start=1):
        prefix = f"run {index} ({' '.join(exp.get('args', []))})"
        for key in case.compare:
            field = "log" if key == "info" else key
            problems += _diff(f"{prefix} {field}", exp.get(field), act.get(field), names)
    return problems


def report(case: Case, problems: list[str], actual: list[dict[str, Any]]) -> str:
    """The failure message: what the case is about, the diff, then the raw other side."""
    head = f"{case.name}: {case.description}\n  policy: {case.policy}\n"
    log_tail = ""
    for index, run in enumerate(actual, start=1):
        if run.get("log"):
            shown = "\n      ".join(run["log"][-15:])
            log_tail += f"\n  run {index} log (last lines):\n      {shown}"
    return head + "\n".join("  " + p for p in problems) + log_tail
