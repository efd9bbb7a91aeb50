"""The module protocol end to end: the same module output read by ``vigil agent`` and
by cf-agent 3.21 (see test_differential for the harness). Each policy reports what
it found; the reports of both agents must be the same."""

from __future__ import annotations

from pathlib import Path

from tests.cfengine import HAVE_CFENGINE
from tests.differential import AGENTS, rerun, run_agent

MODULE_OUTPUT = """\
^context=ctx_one
=scalar=a=b
=empty
=arr[dot.dash-test]=42
@good=  { "x,y", 'z"w' }\t
@empty={ }
@trailing={ "a", }
@bare={ a }
%obj={"k": [1, 2]}
%broken={"x":"y"
%scalar="just a string"
%after=[1,2,],
&fromfile=@T@/data.json
&missing=@T@/none.json
^meta=one,two=2
=tagged=t
+tagged_class
^meta=
=still_tagged=t
^context=ctx_two
=other=2
+spaced class\t
-never_there
+later_cancelled
-later_cancelled
^context=bad-name
^bogus=1
=last=L
"""

POLICY = """
body common control { bundlesequence => { "t" }; }
bundle agent t {
commands:
  "/bin/cat @T@/out.txt" module => "true";
vars:
  "names" slist => { "scalar", "empty", "good", "empty", "trailing", "bare", "obj",
                     "broken", "scalar", "after", "fromfile", "missing", "tagged" };
  "show_$(names)" string => format("%S", "ctx_one.$(names)");
  "tags" string => join(",", getvariablemetatags("ctx_one.tagged"));
  "tags2" string => join(",", getvariablemetatags("ctx_one.still_tagged"));
  "ctags" string => join(",", getclassmetatags("tagged_class"));
classes:
  "arr_ok" expression => strcmp("$(ctx_one.arr[dot.dash-test])", "42");
reports:
  "scalar=$(ctx_one.scalar) empty=[$(ctx_one.empty)] other=$(ctx_two.other) last=$(ctx_two.last)";
  "good=$(show_good) obj=$(show_obj) after=$(show_after) file=$(show_fromfile)";
  "tags=$(tags) tags2=$(tags2) ctags=$(ctags)";
  "this=$(this.tags)";
  arr_ok:: "array index with a dot and a dash";
  tagged_class:: "tagged_class";
  spaced_class_:: "spaced_class_";
  later_cancelled:: "later_cancelled is set";
  bad_name:: "bad";
}
"""


def _run(which: str, tmp_path: Path) -> list[str]:
    base = tmp_path / which
    base.mkdir()
    target = base / "T"
    target.mkdir()
    (target / "out.txt").write_text(MODULE_OUTPUT.replace("@T@", str(target)))
    (target / "data.json").write_text('{ "hello": "world" }\n')
    lines = run_agent(which, POLICY, base, target)
    return [ln.split("R: ", 1)[1] for ln in lines if "R: " in ln]


def test_module_protocol_as_cf_agent(tmp_path: Path) -> None:
    vigil = _run("vigil", tmp_path)
    assert "scalar=a=b empty=[] other=2 last=L" in vigil
    assert ('good={ "x,y", "z\\"w" } obj={"k":[1,2]} after=[1,2] '
            'file={"hello":"world"}') in vigil
    assert "tags=one,two=2,source=module tags2=one,two=2,source=module " \
           "ctags=one,two=2,source=module" in vigil
    assert "array index with a dot and a dash" in vigil
    assert "later_cancelled is set" not in vigil
    if HAVE_CFENGINE:
        assert sorted(vigil) == sorted(_run("cf", tmp_path))


PERSIST_POLICY = """
body common control { bundlesequence => { "t" }; }
bundle agent t {
commands:
  "/bin/echo '^persistence=20$(const.n)+kept_a_while$(const.n)^persistence=0$(const.n)+not_kept'"
    module => "true";
  "/bin/echo '+fresh_module'" module => "true";
}
"""


def test_module_persistent_classes(tmp_path: Path) -> None:
    """``^persistence=N`` stores the classes after it; the next run (another policy)
    still has them, and only them."""
    check = ("\nbody common control { bundlesequence => { \"c\" }; }\n"
             "bundle agent c { reports:\n"
             "  kept_a_while:: \"kept_a_while\";\n"
             "  not_kept:: \"not_kept\";\n"
             "  fresh_module:: \"fresh_module\";\n}\n")
    for which in AGENTS:
        base = tmp_path / which
        base.mkdir()
        target = base / "T"
        target.mkdir()
        first = run_agent(which, PERSIST_POLICY, base, target)
        assert not [ln for ln in first if "error" in ln], first
        # the second run reuses the first one's workdir (its state holds the class)
        policy = base / "second.cf"
        policy.write_text(check)
        second = _rerun(which, base, policy)
        assert "R: kept_a_while" in second and "R: not_kept" not in second, (which, second)
        assert "R: fresh_module" not in second


def _rerun(which: str, base: Path, policy: Path) -> list[str]:
    return rerun(which, base, policy, "-K").out.splitlines()
