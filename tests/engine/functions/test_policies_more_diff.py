"""Functions compared through whole policies, vigil against cf-agent: the ones that
define arrays, look at this host, the process table, the workdir's modules or
/proc/sys, or whose result is random (there the policy reports properties)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.cfengine import CLEAN_ENV, cf_env, host, requires_cfengine
from tests.differential import report_texts, run_cf, run_vigil
from tests.engine.functions.conftest import FAILSAFE
from tests.engine.functions.policy_diff import reports

pytestmark = requires_cfengine

ARRAYS = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "text" string => "k1:1:2
k2:3.5:x
# comment
k1:7
";
    "itext" string => "1:10:20
2:30
# comment
1:70";
    "rtext" string => "1.5:2.5
3:4e2";
    # every field of an int or real array must be a number (cf-agent stops otherwise)
    "ni" int => parseintarray("pi", "$(itext)", "#[^\n]*", ":", "10", "1000");
    "nr" int => parserealarray("pr", "$(rtext)", "#[^\n]*", ":", "10", "1000");
    "ns" int => parsestringarray("ps", "$(text)", "#[^\n]*", ":", "10", "1000");
    "nx" int => parsestringarrayidx("px", "$(text)", "#[^\n]*", ":", "10", "1000");
    "n1" int => parsestringarray("p1", "$(text)", "#[^\n]*", ":", "1", "1000");
    "fi" int => readintarray("ri", "@F@", "#[^\n]*", ":", "10", "1000");
    "fr" int => readrealarray("rr", "@R@", "#[^\n]*", ":", "10", "1000");
    "fm" int => readintarray("rm", "@F@.missing", "#[^\n]*", ":", "10", "1000");
    "fs" int => readstringarray("rs", "@F@.missing", "#[^\n]*", ":", "10", "1000");
    "fx" int => readstringarrayidx("rx", "@F@.missing", "#[^\n]*", ":", "10", "1000");
    "flat[a]" string => "k1";
    "flat[b]" string => "zz";
    "pik" slist => sort(getindices("pi"), "lex");
    "prk" slist => sort(getindices("pr"), "lex");
    "tagged" string => "t", meta => { "mine", "k=v" };
    "tagged2" string => "u", meta => { "mine" };
    "vm" data => variablesmatching_as_data("default:main\.tagged.*");
    "vt" data => variablesmatching_as_data(".*tagged.*", "k=v");
    "ct" slist => getclassmetatags("tagged_class");
    "ck" slist => getclassmetatags("tagged_class", "k");
    "cn" slist => getclassmetatags("no_such_class");
    "rr1" string => format("%s", rrange("1.5", "2"));
    "rr2" string => format("%s", rrange("3", "-1.25"));

  classes:
    "tagged_class" expression => "any", meta => { "one", "k=w" };
    "ra" expression => regarray("ps", "k[0-9]");
    "rb" expression => regarray("ps", "k");
    "rc" expression => regarray("ps", "z.*");
    "rd" expression => regarray("flat", "k[0-9]");
    "re" expression => regarray("flat", "k");
    "rf" expression => regarray("flat", "z+");
    "h1" expression => hostrange("@PREFIX@", "@RANGE@");
    "h2" expression => hostrange("no-such-prefix", "1-9");
    "i1" expression => iprange("127.0.0.0/8");
    "i2" expression => iprange("127.0.0.1-9");
    "i3" expression => iprange("203.0.113.0/24");

  reports:
    "counts=$(ni) $(nr) $(ns) $(nx) $(n1) $(fi) $(fr) $(fm) $(fs) $(fx)";
    "pi=$(pik)";
    "pr=$(prk)";
    "pi[1][1]=$(pi[1][1]) pi[1][2]=$(pi[1][2]) pi[2][1]=$(pi[2][1]) pr=$(pr[1.5][1]) $(pr[3][1])";
    "ps=$(ps[k1][1]) $(ps[k2][2]) px=$(px[0][0]) $(px[1][2]) $(px[2][1]) p1=$(p1[k1][2])";
    "ri=$(ri[1][1]) $(ri[3][1]) rr=$(rr[1.5][1]) $(rr[3][1])";
    "vm=$(with)" with => format("%S", vm);
    "vt=$(with)" with => format("%S", vt);
    "ct=$(with)" with => join(",", ct);
    "ck=$(with)" with => join(",", ck);
    "cn is not defined" unless => isvariable("cn");
    "rr=$(rr1) $(rr2)";
    ra:: "ra";
    rb:: "rb";
    rc:: "rc";
    rd:: "rd";
    re:: "re";
    rf:: "rf";
    h1:: "h1";
    h2:: "h2";
    i1:: "i1";
    i2:: "i2";
    i3:: "i3";
}
"""


def _host_range() -> tuple[str, str]:
    """hostrange's arguments that match this host: its name's letters and a range
    around its number (a name without digits has none: the call is then false)."""
    name = host()
    digits = len(name) - len(name.rstrip("0123456789"))
    if not digits:
        return name, "1-9"
    n = int(name[-digits:])
    return name[:-digits], f"{max(n - 1, 0)}-{n + 1}"


def test_arrays_variables_and_host_functions(tmp_path: Path) -> None:
    data, reals = tmp_path / "arr.txt", tmp_path / "reals.txt"
    data.write_text("1:2\n3:4\n# c\n")
    reals.write_text("1.5:2\n3:4.5\n")
    prefix, span = _host_range()
    policy = (ARRAYS.replace("@F@", str(data)).replace("@R@", str(reals))
              .replace("@PREFIX@", prefix)
              .replace("@RANGE@", span))
    theirs, ours = reports(tmp_path, policy)
    assert "FAILSAFE" not in theirs and "rd" in theirs, theirs
    assert ours == theirs


RANDOM = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "i" slist => { "1", "2", "3", "4", "5", "6", "7", "8" };
    "r_$(i)" int => randomint("10", "20");
    "s" int => randomint("5", "5");
    "t" int => randomint("20", "10");
    "big" int => randomint("-1000000", "1000000");
  classes:
    "in_$(i)" expression => isgreaterthan("$(r_$(i))", "9");
    "lt_$(i)" expression => islessthan("$(r_$(i))", "20");
    "t_in" and => { isgreaterthan("$(t)", "9"), islessthan("$(t)", "20") };
    "big_in" and => { isgreaterthan("$(big)", "-1000001"), islessthan("$(big)", "1000000") };
  reports:
    "r_$(i) in range" if => and("in_$(i)", "lt_$(i)");
    "s=$(s)";
    t_in:: "t in range";
    big_in:: "big in range";
}
"""


def test_randomint_properties(tmp_path: Path) -> None:
    """randomint is random by definition: both agents must keep every value in
    [low, high) (either order of the bounds) and give low when low == high."""
    theirs, ours = reports(tmp_path, RANDOM)
    assert len(theirs) == 11, theirs
    assert ours == theirs


PROCESSES = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "found" data => findprocesses(".*@MARK@.*");
    "partial" data => findprocesses("@MARK@");
    "none" data => findprocesses(".*@MARK@-not-running.*");
    "n" int => length("found");
    "np" int => length("partial");
    "nn" int => length("none");
  reports:
    "counts=$(n) $(np) $(nn)";
    "pid=$(found[0][pid])";
    "line=$(found[0][line])";
    # cf-agent caches a call's result by its arguments alone: these differ from the
    # findprocesses calls above, or processexists would get their lists
    "exists" if => processexists("^.*@MARK@.*$");
    "not running" if => processexists("^.*@MARK@-not-running.*$");
}
"""


def test_process_table_functions(tmp_path: Path) -> None:
    """A process this test starts (and ends, by its pid). cf-agent's ``line`` is the
    whole ``ps`` line (user, pid, CPU, times..., command), which its reference leaves
    to the platform and the release, and whose times move between the two runs: the
    lines are compared by the command line they end with. (processexists is compared
    through ``if``: in a ``classes`` promise cf-agent 3.21 takes the list it returns
    for a class expression and stops with a fatal error, match or not.)"""
    mark = f"vigil-proc-{uuid.uuid4().hex[:12]}"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", mark])
    try:
        policy = PROCESSES.replace("@MARK@", mark)
        theirs, ours = reports(tmp_path, policy)
    finally:
        proc.kill()
        proc.wait()
    command = f"{sys.executable} -c import time; time.sleep(300) {mark}"

    def normal(lines: list[str]) -> list[str]:
        return [f"line=...{command}" if ln.startswith("line=") and ln.endswith(command) else ln
                for ln in lines]

    assert f"pid={proc.pid}" in theirs, theirs
    assert normal(ours) == normal(theirs)
    assert sorted(normal(theirs)) == sorted(
        ["counts=1 1 0", f"pid={proc.pid}", f"line=...{command}", "exists"])


USEMODULE = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  classes:
    "ran" expression => usemodule("mymod", "first second");
    "failed" expression => usemodule("failing", "");
    "absent" expression => usemodule("no-such-module", "");
  reports:
    "v=$(mymod.v) args=$(mymod.args) l=$(with)" with => join(",", "mymod.l");
    ran:: "ran";
    failed:: "failed";
    absent:: "absent";
    from_module:: "from_module";
    from_failing:: "from_failing";
}
"""

MODULE = """#!/bin/sh
echo "=v=value"
echo "=args=$*"
echo "@l= { \\"a\\", \\"b\\" }"
echo "+from_module"
"""
FAILING = """#!/bin/sh
echo "+from_failing"
exit 3
"""


def test_usemodule(tmp_path: Path) -> None:
    """Each agent runs the modules of its own workdir (``cfw``, ``vw``: see policy_diff)."""
    for wd in (tmp_path / "cfw", tmp_path / "vw"):
        (wd / "modules").mkdir(parents=True)
        for name, text in (("mymod", MODULE), ("failing", FAILING)):
            (wd / "modules" / name).write_text(text)
            (wd / "modules" / name).chmod(0o755)
    theirs, ours = reports(tmp_path, USEMODULE)
    assert "from_module" in theirs, theirs
    assert ours == theirs


SYSCTL = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "all" data => data_sysctlvalues();
    "one" string => sysctlvalue("net.ipv4.ip_forward");
  reports:
    "all=$(with)" with => format("%S", all);
    "one=$(one)";
}
"""


def test_data_sysctlvalues(tmp_path: Path) -> None:
    """On a /proc/sys of the test's own (``CFENGINE_TEST_OVERRIDE_PROCDIR``, which both
    agents honour): the real one changes between two runs."""
    procdir = tmp_path / "proc"
    tree = {"kernel/ostype": "Linux\n", "kernel/hostname": "testhost\n",
            "net/ipv4/ip_forward": "1\n", "net/ipv4/conf/lo/forwarding": "0\n",
            "fs/file-max": "9223372036854775807\n", "vm/multi": "a\tb\nc\n",
            "vm/empty": ""}
    for rel, text in tree.items():
        path = procdir / "proc" / "sys" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    policy = tmp_path / "p.cf"
    policy.write_text(SYSCTL)
    env = {**CLEAN_ENV, "CFENGINE_TEST_OVERRIDE_PROCDIR": str(procdir)}
    cf = run_cf(policy, tmp_path / "cfw", "-K", env=cf_env(tmp_path / "cfw", env),
                cwd=tmp_path, failsafe=FAILSAFE)
    ours = run_vigil(policy, tmp_path / "vw", "-K", env={**env, "PYTHONPATH": os.getcwd()},
                     cwd=tmp_path)
    theirs = sorted(report_texts(cf.stdout))
    assert "one=1" in theirs, cf.out
    assert sorted(report_texts(ours.stdout)) == theirs


def test_isreadable_is_not_cfengine_3_21(tmp_path: Path) -> None:
    """isreadable() came after CFEngine 3.21: cf-agent 3.21 refuses a policy calling
    it (and runs the failsafe), and vigil, which validates against 3.21's function
    table, refuses it too; its registry entry serves only newer policies' checks."""
    policy = tmp_path / "p.cf"
    policy.write_text('body common control { bundlesequence => { "main" }; }\n'
                      'bundle agent main { classes: "r" expression => isreadable("/etc/hostname");'
                      ' reports: r:: "readable"; }\n')
    cf = run_cf(policy, tmp_path / "cfw", "-K", cwd=tmp_path, failsafe=FAILSAFE)
    ours = run_vigil(policy, tmp_path / "vw", "-K", cwd=tmp_path)
    assert "Unknown function" in cf.out and "R: FAILSAFE" in cf.out, cf.out
    assert "unknown function 'isreadable'" in ours.out and ours.rc != 0, ours.out
    assert "R: readable" not in ours.out


@pytest.fixture(autouse=True)
def _no_stray_agents() -> None:
    """Nothing here starts a daemon; the failsafe of these workdirs is inert."""


LIST_CALLS = [
    '"r" slist => { irange("1", "2") };',
    '"r" rlist => { rrange("1", "2") };',
    '"r" slist => { length("l") };',
    '"r" slist => { parsejson("[1]") };',
    '"r" slist => { "a", readintlist("/nonexistent", "", " ", "1", "10") };',
    '"r" ilist => { string_length("x") };',
    '"r" slist => { "a", getindices("l") };',
    '"r" string => format("%s", rrange("1", "2"));',
]


@pytest.mark.parametrize("line", LIST_CALLS)
def test_calls_in_lists_are_typed_alike(tmp_path: Path, line: str) -> None:
    """A call among a list's items must return the list's type or its items' type:
    cf-promises refuses the policy otherwise, and so does vigil's validator (rrange,
    whose result no attribute takes, is only ever seen through a string)."""
    policy = ('body common control { bundlesequence => { "main" }; }\n'
              f'bundle agent main {{ vars: "l" slist => {{ "a" }}; {line} reports: "ok"; }}\n')
    theirs, ours = reports(tmp_path, policy)
    assert ("ok" in ours) == ("ok" in theirs), (theirs, ours)


PACKAGES = r"""
body common control { bundlesequence => { "init", "test" }; }
bundle agent init
{
  packages:
    "bfoobar" package_policy => "add",
      package_method => listing("/usr/bin/printf", "'bfoobar-1-besm6\nzed-2.5-noarch\n'");
    "aaa" package_policy => "add", package_method => listing("/bin/echo", "aaa-1-x");
    # another listing under the same manager name (env stripped): the first one is kept
    "bfoobar" package_policy => "add",
      package_method => listing("/usr/bin/env X=Y /usr/bin/printf", "'bfoobar-1-besm6\nyy-2-z\n'");
}
body package_method listing(cmd, out)
{
  package_changes => "individual";
  package_list_command => "$(cmd) $(out)";
  package_list_name_regex => "^([^-]+)";
  package_list_version_regex => "^[^-]+-([^-]+)";
  package_list_arch_regex => "^[^-]+-[^-]+-(\S+)";
  package_installed_regex => ".*";
  package_add_command => "/bin/false";
  package_delete_command => "/bin/false";
}
bundle agent test
{
  vars:
    "all" data => packagesmatching(".*", ".*", ".*", ".*");
    "z" data => packagesmatching("z.*", ".*", "noarch", "printf.*");
    "u" data => packageupdatesmatching(".*", ".*", ".*", ".*");
  reports:
    "all=$(with)" with => format("%S", all);
    "z=$(with)" with => format("%S", z);
    "u=$(with)" with => format("%S", u);
}
"""


def test_package_inventory(tmp_path: Path) -> None:
    """Legacy package promises leave the installed packages they listed in the
    workdir's inventory, named after the listing program (env stripped), where
    packagesmatching() reads them in the same run."""
    theirs, ours = reports(tmp_path, PACKAGES)
    assert any("bfoobar" in t for t in theirs), theirs
    assert ours == theirs
    inventory = Path("state") / "software_packages.csv"
    assert ((tmp_path / "vw" / inventory).read_bytes()
            == (tmp_path / "cfw" / inventory).read_bytes())


FAILED_WITH = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "bad" data => readjson("@D@/none.json", "100");
    "s" string => "x";
  reports:
    "A=$(with)" with => format("%S", bad);
    "B=$(with)" with => join(",", nosuchlist);
    "C=$(with)" with => readfile("@D@/none", "10");
    "D=$(nosuch)";
    "E=$(with)" with => "$(nosuch)";
    "F=$(with)" with => concat("$(s)");
}
"""


def test_reports_whose_with_fails(tmp_path: Path) -> None:
    """A report whose ``with`` call fails is still made, ``$(with)`` as written; a
    ``with`` text that does not resolve is its text as written."""
    theirs, ours = reports(tmp_path, FAILED_WITH.replace("@D@", str(tmp_path)))
    assert "A=$(with)" in theirs and "E=$(nosuch)" in theirs, theirs
    assert ours == theirs


COMMANDS = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  vars:
    "a" string => execresult("/nonexistent/prog arg", "useshell");
    "b" data => execresult_as_data("/nonexistent/prog2", "useshell");
    "c" string => execresult("/nonexistent/prog3; echo hi", "useshell");
    "d" string => execresult("nosuchprogram-q9", "useshell");
    "e" string => execresult("echo ok", "useshell");
  classes:
    "r1" expression => returnszero("echo to-stdout; echo to-stderr >&2", "useshell");
    "r2" expression => returnszero("/bin/sh -c 'echo hidden; echo hidden2 >&2'", "noshell");
    "r3" expression => returnszero("/nonexistent/prog4", "useshell");
  reports:
    "a=$(a)";
    "b=$(with)" with => format("%S", b);
    "c=$(c)";
    "d=$(d)";
    "e=$(e)";
    r1:: "r1";
    r2:: "r2";
    r3:: "r3";
}
"""


def test_commands_through_the_shell(tmp_path: Path) -> None:
    """useshell: a command starting with an absolute path that does not exist fails
    the call; the shell is ``sh`` in its messages; a useshell returnszero writes to the
    agent's own output, a noshell one's output is dropped. Compared: every line that is
    not a log line, stdout and stderr."""
    policy = tmp_path / "p.cf"
    policy.write_text(COMMANDS)
    cf = run_cf(policy, tmp_path / "cfw", "-K", cwd=tmp_path, failsafe=FAILSAFE)
    ours = run_vigil(policy, tmp_path / "vw", "-K", cwd=tmp_path)

    def lines(text: str) -> list[str]:
        return sorted(ln for ln in text.splitlines()
                      if ln.strip() and not ln.lstrip().startswith(("error:", "warning:")))

    assert "R: d=sh: 1: nosuchprogram-q9: not found" in lines(cf.out), cf.out
    assert lines(ours.out) == lines(cf.out)
