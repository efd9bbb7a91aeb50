"""A bundle's vars are not evaluated again while nothing they could read has changed
(engine.eval.context.EvalContext.revision): the context counts every variable set to
another value, every class defined or undefined, every actuator run and every vars
promise that failed, and the runner skips a vars section when the count is where it was
after the last section that changed nothing. What the run defines is cf-agent's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from engine.eval import bundles
from tests.differential import report_lines, run_both
from tests.engine.eval.agent_kit import Kit


def _counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    real = bundles._evaluator("vars")

    def evaluate(agent: object, p: object, promiser: str, last: bool) -> None:
        seen[promiser] += 1
        real(agent, p, promiser, last)  # type: ignore[arg-type]

    monkeypatch.setitem(bundles._EVALUATORS, "vars", evaluate)
    return seen


def test_vars_that_settled_are_not_evaluated_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _counting(monkeypatch)
    kit = Kit(tmp_path, 'bundle agent main { vars: "a" string => "x"; "b" string => "$(a)y"; '
              'reports: "$(b)"; }\n')
    kit.run()
    assert kit.reports == ["xy"]
    # pass 1 defines both, pass 2 finds nothing new (a report changes nothing either),
    # so pass 3 does not run them
    assert seen == Counter({"a": 2, "b": 2})


def test_a_change_makes_them_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An actuator (here a command writing a file the vars read) and a class defined
    in a later pass both move the revision: the vars see what changed."""
    seen = _counting(monkeypatch)
    out = tmp_path / "f"
    kit = Kit(tmp_path, f"""bundle agent main {{
vars:
  "have" string => ifelse(fileexists("{out}"), "yes", "no");
classes:
  "late" expression => strcmp("$(have)", "yes");
commands:
  "/bin/sh -c 'echo > {out}'";
reports:
  "have=$(have)";
  late:: "late";
}}
""")
    kit.run()
    assert kit.reports[-2:] == ["have=yes", "late"]
    assert seen["have"] > 2


def test_a_failing_function_is_still_reported_on_the_last_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _counting(monkeypatch)
    kit = Kit(tmp_path, 'bundle agent main { vars: "x" string => readfile("/nonexistent/f", 0); }\n')
    kit.run()
    assert seen["x"] == 6  # every section of the three passes, as before
    assert any("readfile" in line for line in kit.lines), kit.lines


POLICY = """body common control { bundlesequence => { "main" }; }
bundle agent main
{
vars:
  "first" string => "$(second)-1";
  "second" string => "$(third)-2";
  "third" string => "3";
  "later" string => "$(main.defined_later)";
  ready::
    "defined_later" string => "now";
classes:
  "ready" expression => isvariable("third");
files:
  "$(sys.workdir)/settle-probe" create => "true";
vars:
  "probe" string => ifelse(fileexists("$(sys.workdir)/settle-probe"), "there", "absent");
reports:
  "first=$(first) later=$(later) probe=$(probe)";
}
"""


def test_orders_of_definition_and_actuators_match_cfagent(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, POLICY, "-K")
    assert report_lines(ours.stdout) == ["R: first=3-2-1 later=now probe=there"]
    if theirs is not None:
        assert report_lines(theirs.stdout) == report_lines(ours.stdout)
