"""Runs the selected conformance cases in parallel threads, once per session.

Every agent run is a separate process, so threads are enough to keep both CPUs
busy. Work for all selected cases is submitted when the first test asks for it;
each test then waits only for its own case.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.cfengine import HAVE_CFENGINE
from tests.conformance.case import Case, all_cases
from tests.conformance.execute import cfagent_command, run_case, vigil_command

Results = list[dict[str, Any]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance: differential cases, vigil against recorded cf-agent results"
    )


class CaseRunner:
    """Futures of agent runs, keyed by (agent, case name)."""

    def __init__(self, cases: dict[str, Case], wanted: list[tuple[str, str]], base: Path) -> None:
        self.cases = cases
        self.base = base
        jobs = int(os.environ.get("CONFORMANCE_JOBS", (os.cpu_count() or 2) + 1))
        self.pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        self.futures: dict[tuple[str, str], Future[Results]] = {}
        for agent, name in wanted:
            self._submit(agent, name)

    def _submit(self, agent: str, name: str) -> Future[Results]:
        key = (agent, name)
        if key not in self.futures:
            case = self.cases[name]
            build: Callable[..., list[str]] = vigil_command if agent == "vigil" else cfagent_command
            where = self.base / agent / name
            where.mkdir(parents=True)
            self.futures[key] = self.pool.submit(run_case, case, build, agent == "cf-agent", where)
        return self.futures[key]

    def result(self, agent: str, name: str) -> Results:
        return self._submit(agent, name).result()


@pytest.fixture(scope="session")
def case_runner(request: pytest.FixtureRequest) -> Iterator[CaseRunner]:
    cases = {c.name: c for c in all_cases()}
    wanted: list[tuple[str, str]] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        agent = (
            getattr(item.function, "conformance_agent", None) if hasattr(item, "function") else None
        )
        if callspec is None or agent is None or "case" not in callspec.params:
            continue
        if agent == "cf-agent" and (not HAVE_CFENGINE
                                    or os.environ.get("VIGIL_RECHECK_RECORDINGS") != "1"):
            continue
        wanted.append((agent, callspec.params["case"].name))
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        runner = CaseRunner(cases, wanted, Path(tmp))
        try:
            yield runner
        finally:
            runner.pool.shutdown(wait=True, cancel_futures=True)
