"""Broken policies: vigil's message and line, and the same line as cf-promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.eval.loading import load as load_policy
from engine.policy.diagnostics import Diagnostic, PolicySyntaxError
from engine.policy.validate import validate
from tests.engine.policy.cases import CASES, Case
from tests.engine.policy.conftest import CfPromises


def diagnose(path: Path, workdir: Path) -> list[Diagnostic]:
    try:
        result = load_policy(path, workdir, classes=set())
    except PolicySyntaxError as e:
        return [e.diagnostic]
    return result.diagnostics + validate(result.policy)


def write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / f"{case.name}.cf"
    path.write_text(case.text)
    return path


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reported_where_and_what(tmp_path: Path, case: Case) -> None:
    path = write(tmp_path, case)
    found = [d for d in diagnose(path, tmp_path) if case.message in d.message]
    assert found, f"no diagnostic containing {case.message!r}"
    d = found[0]
    assert d.pos.file == str(path)
    assert d.pos.line == case.line
    assert d.severity == case.severity
    text = d.format()
    assert text.startswith(f"{path}:{case.line}:{d.pos.col}: {case.severity}: ")
    # The caret line sits under the reported column of the quoted source line.
    lines = text.split("\n")
    assert len(lines) == 3 and lines[2].endswith("^")
    assert len(lines[2]) == max(d.pos.col, 1)


@pytest.mark.cfengine
@pytest.mark.parametrize(
    "case", [c for c in CASES if c.cfengine_line], ids=[c.name for c in CASES if c.cfengine_line]
)
def test_same_line_as_cf_promises(tmp_path: Path, case: Case, cf_promises: CfPromises) -> None:
    path = write(tmp_path, case)
    ours = [d for d in diagnose(path, tmp_path) if d.severity == "error"]
    assert ours, "vigil found no error"
    assert cf_promises.first_error_line(path) == ours[0].pos.line == case.line


def test_syntax_error_exception_carries_the_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "p.cf"
    path.write_text('bundle agent main\n{\n  reports:\n    "x" comment => "y"\n}\n')
    with pytest.raises(PolicySyntaxError) as info:
        load_policy(path, tmp_path)
    d = info.value.diagnostic
    assert (d.pos.line, d.pos.col) == (5, 1)
    assert str(info.value) == d.headline()
