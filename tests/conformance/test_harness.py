"""The conformance harness itself: case loading, normalisation, comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.case import CaseError, load_case
from tests.conformance.compare import differences
from tests.conformance.normalise import split_output, substitute

pytestmark = pytest.mark.conformance


def _case(tmp_path: Path, toml: str) -> Path:
    folder = tmp_path / "900-sample"
    folder.mkdir()
    (folder / "policy.cf").write_text('bundle agent __main__ { reports: "x"; }\n')
    (folder / "case.toml").write_text(toml)
    return folder


def test_case_defaults_and_defines(tmp_path: Path) -> None:
    case = load_case(_case(tmp_path, 'description = "d"\ndefines = ["a", "b"]\n'))
    assert case.compare == ("R", "rc", "files")
    assert case.run_args(case.runs[0]) == ["-K", "-D", "a,b"]


def test_case_setup_forms(tmp_path: Path) -> None:
    toml = (
        'runs = [{ args = ["-I"], setup = { "tmp/a" = "text", '
        '"tmp/b" = { content = "x", mode = "0755", age = 60 }, "tmp/d" = { dir = true } } }]\n'
    )
    setup = load_case(_case(tmp_path, toml)).runs[0].setup
    assert setup["tmp/a"].content == "text"
    assert (setup["tmp/b"].mode, setup["tmp/b"].age) == (0o755, 60)
    assert setup["tmp/d"].content is None


@pytest.mark.parametrize(
    "toml",
    ['descripton = "typo"\n', 'compare = ["R", "stdout"]\n', 'runs = [{ argz = ["-K"] }]\n'],
)
def test_case_rejects_mistakes(tmp_path: Path, toml: str) -> None:
    with pytest.raises(CaseError):
        load_case(_case(tmp_path, toml))


def test_split_output_routes_and_continues() -> None:
    raw = (
        "    info: Created file '/w/d/tmp/a', mode 0600\n"
        "R: first\n"
        "second line of the report\n"
        '  notice: Q: ".../bin/echo": one\n'
        'Q: ".../bin/echo": two\n'
        "R: _w_d_tmp on myhost\n"
    )
    out = split_output(raw, "/w/d", host="myhost")
    assert out.R == ["first\nsecond line of the report", "<wd_canon>_tmp on <host>"]
    assert out.log == [
        "    info: Created file '<wd>/tmp/a', mode 0600",
        '  notice: Q: ".../bin/echo": one\nQ: ".../bin/echo": two',
    ]


def test_split_output_drops_failsafe_chatter() -> None:
    raw = (
        "/w/d/inputs/policy.cf:3:1: error: syntax error\n"
        "}\n"
        "   error: CFEngine was not able to get confirmation of promises from cf-promises, so going to failsafe\n"
        "   error: Comment is 'If we failed to fetch policy we try again using\n"
        "                    shortcut.'\n"
        "R: Built-in failsafe policy triggered\n"
    )
    out = split_output(raw, "/w/d", host="myhost")
    assert out.R == []
    assert out.log == ["<wd>/inputs/policy.cf:3:1: error: syntax error\n}"]


def test_host_is_replaced_as_a_whole_word_only() -> None:
    text = substitute("vm vmstat vm.example a.vm", "/nowhere", host="vm")
    assert text == "<host> vmstat <host>.example a.vm"


def test_differences_name_the_run_and_field(tmp_path: Path) -> None:
    case = load_case(_case(tmp_path, 'compare = ["R", "rc"]\n'))
    expected = [{"args": ["-K"], "rc": 0, "R": ["a", "b"], "log": ["x"], "files": {}}]
    actual = [{"args": ["-K"], "rc": 1, "R": ["a", "c"], "log": ["y"], "files": {}}]
    problems = differences(case, expected, actual)
    assert "run 1 (-K) rc: expected 0, got 1" in problems
    assert "    -b" in problems and "    +c" in problems
    assert not any("log" in p for p in problems)
