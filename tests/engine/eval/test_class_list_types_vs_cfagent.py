"""Class lists (``and``, ``or``, ``xor``) given something that is not a list: a quoted
value or a function of another return type is refused before the run, a class
function (``and => userexists("root")``) stops the run when evaluated. Differential:
cf-agent and vigil on the same policy agree on failing and on what is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import requires_cfengine
from tests.differential import Run, run_both

HEAD = (
    'bundle agent main {\nvars: "x" string => "any"; "l" slist => { "any" };\n'
    '  "a[k]" string => "any";\nclasses:\n'
)
TAIL = '\nreports:\n  ok:: "ok";\n  !ok:: "not ok";\n}\n'
VALUES = {
    "class_function_and": 'and => userexists("root")',
    "class_function_or_false": 'or => userexists("no-such-user-here")',
    "class_function_in_braces": 'and => { userexists("root") }',
    "quoted_scalar": 'and => "$(x)"',
    "quoted_list": 'or => "@(l)"',
    "string_function": 'and => concat("any")',
    "list_function": 'or => splitstring("any,x", ",", "9")',
    "bare_list": "or => @(l)",
    "expression_string_function": 'expression => concat("any")',
    "expression_list_function": 'expression => splitstring("any", ",", "9")',
}


def _outcome(run: Run) -> tuple[bool, list[str]]:
    out = run.out
    # cf-agent falls back to its failsafe after a policy error (vigil runs nothing):
    # what must agree is that an error was reported, and the reports made
    failed = "error:" in out
    return failed, [ln.strip() for ln in out.splitlines() if ln.strip().startswith("R: ")]


@requires_cfengine
@pytest.mark.parametrize("name", sorted(VALUES))
def test_same_outcome_as_cf_agent(tmp_path: Path, name: str) -> None:
    theirs, ours = run_both(tmp_path, HEAD + f'  "ok" {VALUES[name]};' + TAIL, "-K")
    assert theirs is not None
    assert _outcome(ours) == _outcome(theirs)
