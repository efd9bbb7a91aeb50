"""engine.eval.bundles.run_bundle on its own: normal order, three passes, the run's
done-set (a promise runs once per expansion), vars again after classes, bundle-scoped
classes, parameters and the returned tally. Policies are parsed by vigil's front end;
the bundle is run directly, without ``vigil agent``."""

from __future__ import annotations

from pathlib import Path

from engine.eval.agent import AGENT_ORDER, PASSES
from engine.eval.bundles import agent_order, by_type
from tests.engine.eval.agent_kit import Kit

ORDER = """bundle agent main {
reports: "x is $(x)";
classes: "c" expression => "any";
vars: "x" string => "set";
reports: c:: "c holds";
}
"""


def test_normal_order_not_text_order(tmp_path: Path) -> None:
    """vars and classes come before reports whatever the text order: both reports see
    them in the first pass."""
    kit = Kit(tmp_path, ORDER)
    kit.run(passes=1)
    assert kit.reports == ["x is set", "c holds"]


def test_agent_order_puts_unknown_types_last_in_first_seen_order(tmp_path: Path) -> None:
    kit = Kit(tmp_path, 'bundle agent main { reports: "r"; zz: "a"; yy: "b"; zz: "c"; }\n')
    grouped = by_type(kit.bundle("main"))
    assert list(grouped) == ["reports", "zz", "yy"]
    assert [p.promiser for p in grouped["zz"]] == ["a", "c"]
    assert agent_order(grouped) == (*AGENT_ORDER, "zz", "yy")


CHAIN = """bundle agent main {
classes:
  "b" expression => "a";
  "a" expression => "any";
reports:
  b:: "b holds";
  any:: "once";
}
"""


def test_a_class_defined_late_is_seen_in_a_later_pass(tmp_path: Path) -> None:
    """``b`` depends on ``a``, defined after it in the text: b holds from pass 2, so its
    report is printed after the unguarded one, and each report once in three passes."""
    kit = Kit(tmp_path, CHAIN)
    kit.run()
    assert kit.reports == ["once", "b holds"]


def test_one_pass_does_not_see_the_late_class(tmp_path: Path) -> None:
    kit = Kit(tmp_path, CHAIN)
    kit.run(passes=1)
    assert kit.reports == ["once"]
    assert PASSES == 3


def test_done_set_runs_each_iteration_once(tmp_path: Path) -> None:
    kit = Kit(tmp_path, """bundle agent main {
vars: "l" slist => { "p", "q", "p" };
reports: "item $(l)"; "plain";
}
""")
    kit.run()
    # the list has "p" twice: the same expansion is one promise, printed once
    assert kit.reports == ["item p", "item q", "plain"]
    report = kit.bundle("main").promises[1]
    assert sorted(b["l"] for b in kit.runner.finished(report)) == ["p", "q"], \
        "the done-set records what ran"


def test_done_set_spans_the_run(tmp_path: Path) -> None:
    """The same bundle run twice in one run (``bundlesequence => { "m", "m" }``) prints
    its report once, as cf-agent 3.21 does; another expansion still runs."""
    kit = Kit(tmp_path, 'bundle agent main(x) { reports: "hello"; "x=$(x)"; }\n')
    kit.run("main", "1")
    kit.run("main", "1")
    kit.run("main", "2")
    assert kit.reports == ["hello", "x=1", "x=2"]


def test_vars_are_resolved_again_right_after_classes(tmp_path: Path) -> None:
    """A variable guarded by a class of the same bundle has its value before the
    reports of the first pass (cf-agent evaluates vars again once classes are set)."""
    kit = Kit(tmp_path, """bundle agent main {
vars: "v" string => "from pass one", if => "c";
classes: "c" expression => "any";
reports: "v=$(v)";
}
""")
    kit.run(passes=1)
    assert kit.reports == ["v=from pass one"]


def test_a_report_that_never_resolves_is_printed_as_written_in_the_last_pass(
        tmp_path: Path) -> None:
    kit = Kit(tmp_path, """bundle agent main {
vars: "late" string => "$(nowhere)";
reports: "value $(missing)"; "known";
}
""")
    kit.run(passes=2)
    assert kit.reports == ["known", "value $(missing)"]


def test_bundle_classes_end_with_the_bundle_namespace_classes_stay(tmp_path: Path) -> None:
    kit = Kit(tmp_path, """bundle agent main {
classes: "local" expression => "any";
reports: local:: "local inside";
}
bundle common g { classes: "global" expression => "any"; }
""")
    kit.run()
    assert kit.reports == ["local inside"]
    assert not kit.has_class("local")
    kit.run("g")
    assert kit.has_class("global")


def test_parameters_are_bound_in_the_bundle_scope(tmp_path: Path) -> None:
    kit = Kit(tmp_path, """bundle agent main(name, items) {
reports: "hello $(name)"; "item $(items)";
}
""")
    kit.run("main", "world", ["a", "b"])
    assert kit.reports == ["hello world", "item a", "item b"]


def test_only_restricts_the_promise_types(tmp_path: Path) -> None:
    kit = Kit(tmp_path, ORDER)
    kit.run(only=("vars",))
    assert kit.reports == []
    assert kit.var("default:main.x") == "set"


def test_tally_counts_the_outcomes_of_the_bundle(tmp_path: Path) -> None:
    kit = Kit(tmp_path, """bundle agent main {
reports: "a"; "b";
commands: "/bin/false";
}
""")
    tally = kit.run()
    assert (tally.kept, tally.repaired, tally.notkept) == (2, 0, 1)


def test_a_methods_bundle_adds_its_tally_to_the_callers(tmp_path: Path) -> None:
    kit = Kit(tmp_path, """bundle agent main { methods: "m" usebundle => inner; }
bundle agent inner { reports: "in inner"; }
""")
    tally = kit.run()
    assert kit.reports == ["in inner"]
    assert tally.kept >= 1
