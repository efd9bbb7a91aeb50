"""vigil's agent against cf-agent's recorded behaviour, one test per case.

Run alone with ``pytest tests/conformance`` or ``pytest -m conformance``; one case
with ``-k 007``. ``test_vigil`` is the differential check; ``test_recording`` re-runs
cf-agent (where installed) to catch expectations that no longer match it, when asked
(``VIGIL_RECHECK_RECORDINGS=1``, ``make test-recordings``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tests.cfengine import requires_cfengine
from tests.conformance import index
from tests.conformance.case import Case, all_cases
from tests.conformance.compare import differences, report

if TYPE_CHECKING:
    from tests.conformance.conftest import CaseRunner

pytestmark = pytest.mark.conformance

CASES = all_cases()
# The recordings were made from cf-agent; checking them against it again on every
# run doubles the suite's time for a question that only changes with cf-agent itself.
RECHECK = os.environ.get("VIGIL_RECHECK_RECORDINGS") == "1"
F = TypeVar("F", bound=Callable[..., Any])


def _agent(name: str) -> Callable[[F], F]:
    """Tag a test with the agent it runs, so the session can start its cases early."""

    def mark(func: F) -> F:
        func.conformance_agent = name  # type: ignore[attr-defined]
        return func

    return mark


def test_every_case_is_recorded() -> None:
    missing = [c.name for c in CASES if not c.expected_path.exists()]
    assert len(CASES) >= 120
    assert not missing, f"cases without expected.json: {missing}"
    mismatched = [
        c.name for c in CASES if c.expected_path.exists() and len(c.load_expected()) != len(c.runs)
    ]
    assert not mismatched, f"expected.json has another number of runs than case.toml: {mismatched}"


def test_readme_index_is_current() -> None:
    assert index.render(index.README.read_text(), CASES) == index.README.read_text(), (
        "run: python -m tests.conformance.index"
    )


@_agent("vigil")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_vigil(case: Case, case_runner: CaseRunner) -> None:
    expected = case.load_expected()
    actual = case_runner.result("vigil", case.name)
    problems = differences(case, expected, actual)
    if problems:
        pytest.fail(report(case, problems, actual), pytrace=False)


@_agent("cf-agent")
@requires_cfengine
@pytest.mark.skipif(not RECHECK, reason="re-checking recordings is opt-in: "
                    "VIGIL_RECHECK_RECORDINGS=1 (or make test-recordings)")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_recording(case: Case, case_runner: CaseRunner) -> None:
    expected = case.load_expected()
    actual = case_runner.result("cf-agent", case.name)
    problems = differences(case, expected, actual, ("expected.json", "cf-agent now"))
    if problems:
        pytest.fail(report(case, problems, actual), pytrace=False)
