"""A concrete RunContext for actuator tests: real files, a logger that keeps lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.log import Level, LineLogger
from engine.policy.ast import Pos
from engine.promises.base import BundleCall, ResolvedPromise


class FakeRun:
    """Enough of the agent for one actuator call; ``lines`` holds what was logged."""

    def __init__(self, workdir: str = "/tmp", warn: bool = False) -> None:
        self.lines: list[str] = []
        self.log = LineLogger(threshold=Level.VERBOSE, sink=self.lines.append)
        self.dry_run = False
        self.workdir = workdir
        self.host = "testhost"
        self.warn = warn
        self.classes: set[str] = {"any", "linux"}
        self.vars: dict[str, dict[str, Any]] = {}
        self.edits: dict[str, Callable[[str], list[ResolvedPromise]] | list[ResolvedPromise]] = {}
        self.edit_calls: list[tuple[BundleCall, str]] = []
        self.run_state: dict[str, Any] = {}  # RunContext's state kept for one run
        self.shadow: Any = None  # no --simulate
        self.outcomes: list[tuple[str, Any]] = []  # per-entry outcomes (apply_outcome)

    def warn_only(self, promise: ResolvedPromise) -> bool:
        return self.dry_run or self.warn or (
            promise.body("action").get("action_policy") in ("warn", "nop"))

    def edit_promises(self, bundle_ref: BundleCall, filename: str,
                      bundle_type: str = "edit_line") -> list[ResolvedPromise]:
        self.edit_calls.append((bundle_ref, filename))
        got = self.edits.get(bundle_ref.name, [])
        return got(filename) if callable(got) else list(got)

    def class_defined(self, expr: str) -> bool:
        from engine.promises._boolexpr import evaluate

        return evaluate(expr, lambda c: c in self.classes)

    def datastate(self) -> dict[str, Any]:
        return {"classes": {c: True for c in self.classes}, "vars": self.vars}

    def resolve_for(self, promise: ResolvedPromise, promiser: str) -> ResolvedPromise:
        return promise  # attributes here are already resolved: none names this.promiser

    def apply_outcome(self, p: Any, rp: ResolvedPromise, result: Any) -> None:
        self.outcomes.append((rp.promiser, result.outcome))

    def info_lines(self) -> list[str]:
        """Lines at info level and above, as ``-I`` shows them."""
        return [ln for ln in self.lines if not ln.startswith(" verbose:")]


def promise(ptype: str, promiser: str, **attrs: Any) -> ResolvedPromise:
    """A resolved promise; body attributes are plain dicts."""
    return ResolvedPromise(promise_type=ptype, promiser=promiser, attrs=attrs, bundle="test",
                           namespace="default", pos=Pos("/p/test.cf", 7, 3))


def body(btype: str, name: str = "b", **attrs: Any) -> dict[str, Any]:
    return {"__name__": name, "__type__": btype, **attrs}


@pytest.fixture
def run(tmp_path: Any) -> FakeRun:
    return FakeRun(workdir=str(tmp_path / "wd"))
