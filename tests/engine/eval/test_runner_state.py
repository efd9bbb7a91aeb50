"""engine.eval.bundles.BundleRunner as the owner of what a run's passes remember: the
done-sets (a promise finished in one pass is not evaluated again), the unresolved note
(a promise whose reference does not resolve yet is tried again on a later pass), and the
plans (each bundle grouped, each promise planned, once per run however often it runs).
Policies are parsed by vigil's front end and run in a temporary workdir; commands
write into a temporary directory, so what ran is what the file holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.eval import bundles
from engine.eval.agent import Agent
from engine.eval.plans import PromisePlan
from engine.log import Level
from engine.policy.ast import Bundle, Promise
from tests.engine.eval.agent_kit import Kit


def _promise(kit: Kit, promiser: str, bundle: str = "main") -> Promise:
    return next(p for p in kit.bundle(bundle).promises if p.promiser == promiser)


def test_a_promise_done_in_pass_one_is_not_evaluated_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command with nothing that can change between passes runs in pass 1; passes 2
    and 3 find its binding in the done-set and pass it by before resolving anything. A
    command naming a bundle variable is resolved again each pass, and the run's set of
    verified promises keeps it from running twice."""
    out = tmp_path / "ran.txt"
    kit = Kit(tmp_path, f"""bundle agent main {{
vars: "word" string => "again";
commands:
  "/bin/sh" args => "-c 'echo once >> {out}'";
  "/bin/echo" args => "$(word)";
}}
""")
    resolved: list[str] = []
    real = bundles.BundleRunner.resolve_attrs

    def resolve_attrs(self: bundles.BundleRunner, agent: Agent, p: Promise,
                      plan: PromisePlan | None = None) -> tuple[dict[str, Any], bool]:
        resolved.append(p.promiser)
        return real(self, agent, p, plan)

    monkeypatch.setattr(bundles.BundleRunner, "resolve_attrs", resolve_attrs)
    kit.run()
    assert out.read_text() == "once\n"
    assert resolved.count("/bin/sh") == 1
    assert resolved.count("/bin/echo") == 3
    assert kit.runner.finished(_promise(kit, "/bin/sh")) == [{}]


def test_three_passes_run_a_command_once(tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"
    kit = Kit(tmp_path, f"""bundle agent main {{
vars: "word" string => "ran";
commands: "/bin/sh" args => "-c 'echo $(word) >> {out}'";
}}
""", level=Level.VERBOSE)
    tally = kit.run()
    assert out.read_text() == "ran\n"
    assert tally.repaired == 1
    begins = [ln for ln in kit.lines if 'of type "commands"' in ln]
    assert len(begins) == 1 and "(pass 1)" in begins[0]
    # the expanded promise is finished for this run once the last pass met it again
    assert kit.runner.finished(_promise(kit, "/bin/sh")) == [{}]


def test_an_unresolved_reference_is_retried_on_a_later_pass(tmp_path: Path) -> None:
    """``v`` exists only once class ``b`` holds, from pass 2 (``b`` depends on ``a``,
    defined after it): the command waits for it instead of running with ``$(v)``."""
    out = tmp_path / "ran.txt"
    kit = Kit(tmp_path, f"""bundle agent main {{
classes:
  "b" expression => "a";
  "a" expression => "any";
vars:
  b:: "v" string => "late";
commands:
  "/bin/sh" args => "-c 'echo $(v) >> {out}'";
}}
""", level=Level.VERBOSE)
    kit.run()
    assert out.read_text() == "late\n"
    begins = [ln for ln in kit.lines if 'of type "commands"' in ln]
    assert len(begins) == 1 and "(pass 2)" in begins[0]
    assert not [r for r in kit.agent.records if r[7] == "unresolved"]


def test_a_reference_that_never_resolves_waits_for_the_last_pass(tmp_path: Path) -> None:
    """Passes 1 and 2 leave the command alone; the last pass runs it as written, once,
    as cf-agent 3.21 does (its shell then sees ``$(nowhere)``)."""
    kit = Kit(tmp_path, """bundle agent main {
commands: "/bin/echo" args => "$(nowhere)";
}
""", level=Level.VERBOSE)
    kit.run()
    begins = [ln for ln in kit.lines if 'of type "commands"' in ln]
    assert len(begins) == 1 and "(pass 3)" in begins[0]
    assert [r[6] for r in kit.agent.records if r[1] == "commands"] == ["repaired"]


def test_the_unresolved_note_belongs_to_the_runner(tmp_path: Path) -> None:
    """The resolver notes an unresolved reference through the agent; the runner holds it
    until it is cleared for the next resolution."""
    kit = Kit(tmp_path, 'bundle agent main { vars: "x" string => "1"; }\n')
    kit.run()
    runner = kit.runner
    runner.clear_unresolved()
    assert kit.agent.resolver.scalar("$(x)", kit.agent.lookup) == "1"
    assert not runner.unresolved
    assert kit.agent.resolver.scalar("$(nosuch)", kit.agent.lookup) == "$(nosuch)"
    assert runner.unresolved
    runner.clear_unresolved()
    assert not runner.unresolved


CALLED = """bundle agent main {
methods:
  "one" usebundle => inner("1");
  "two" usebundle => inner("2");
  "three" usebundle => inner("3");
}
bundle agent inner(n) {
vars: "seen" string => "$(n)";
reports: "inner $(seen)"; "static";
}
"""


def test_plans_and_groups_are_built_once_per_run(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    grouped: list[str] = []
    planned: list[str] = []
    real_by_type, real_plan = bundles.by_type, bundles.PromisePlan

    def by_type(bundle: Bundle) -> dict[str, list[Promise]]:
        grouped.append(bundle.name)
        return real_by_type(bundle)

    def plan(p: Promise) -> PromisePlan:
        planned.append(p.promiser)
        return real_plan(p)

    monkeypatch.setattr(bundles, "by_type", by_type)
    monkeypatch.setattr(bundles, "PromisePlan", plan)
    kit = Kit(tmp_path, CALLED)
    kit.run()
    assert kit.reports == ["inner 1", "static", "inner 2", "inner 3"]
    assert sorted(grouped) == ["inner", "main"]
    assert sorted(planned) == sorted(p.promiser for b in ("main", "inner")
                                     for p in kit.bundle(b).promises)
    inner = kit.bundle("inner")
    assert kit.runner.grouped(inner) is kit.runner.grouped(inner)
    p = inner.promises[0]
    assert kit.runner.plan(p) is kit.runner.plan(p)


def test_the_handle_comes_from_the_plan(tmp_path: Path) -> None:
    kit = Kit(tmp_path, 'bundle agent main { reports: "r" handle => "h1"; "s"; }\n')
    kit.run()
    first, second = kit.bundle("main").promises
    assert (kit.runner.handle(first), kit.runner.handle(second)) == ("h1", None)
    assert [r[12] for r in kit.agent.records] == ["h1", None]


def test_a_method_row_in_the_run_report_carries_its_own_handle(tmp_path: Path) -> None:
    """The promise being evaluated is the method's own again once the bundle it called
    returns: its row names its handle, not the last handle run inside the bundle."""
    from engine.state.runs import load_report
    from engine.workdir import Workdir
    from tests.differential import run_vigil

    policy = tmp_path / "p.cf"
    policy.write_text("""body common control { bundlesequence => { "main" }; }
bundle agent main { methods: "call" usebundle => inner, handle => "outer_h"; }
bundle agent inner { reports: "hello" handle => "inner_h"; }
""")
    wd = tmp_path / "wd"
    run = run_vigil(policy, wd, "-K")
    assert "R: hello" in run.stdout
    (path,) = Workdir(wd).runs.glob("*.json")
    handles = {(r.bundle, r.promise_type): r.handle for r in load_report(path).promises}
    assert handles == {("main", "methods"): "outer_h", ("inner", "reports"): "inner_h"}
