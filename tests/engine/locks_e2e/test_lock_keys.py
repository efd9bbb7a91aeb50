"""Lock names: vigil writes the keys cf-agent writes, up to their ``_MD5=`` part.

Each policy runs once without -K under cf-agent and under vigil, at the same
workdir path; the two ``state/cf_lock.lmdb`` key sets (internal keys left out)
must be equal, checksum included.
"""

from __future__ import annotations

import pytest

from tests.cfengine import requires_cfengine
from tests.engine.locks_e2e.harness import SamePath, policy_keys, without_host

FILES = """
body common control { bundlesequence => { "lockkeys" }; }
body action base_act { ifelapsed => "5"; }
body action child_act { inherit_from => base_act; expireafter => "30"; }
body action arg_act(n) { ifelapsed => "$(n)"; }
body classes outcome(prefix) {
  promise_repaired => { "$(prefix)_repaired" };
  promise_kept => { "$(prefix)_kept" };
}
body classes kept_long(prefix) { inherit_from => outcome("$(prefix)"); scope => "namespace"; }
bundle agent lockkeys {
 vars:
   "d" string => "$(sys.workdir)/tmp";
 files:
   "$(d)/plain" create => "true";
   "$(d)/touched" create => "true", touch => "true";
   "$(d)/acted" create => "true", action => base_act;
   "$(d)/inherited" create => "true", action => child_act;
   "$(d)/witharg" create => "true", action => arg_act("7");
   "$(d)/classes" create => "true", classes => kept_long("c");
   "$(d)/meta" create => "true", comment => "a comment", handle => "the_handle", if => "any";
   "$(d)/guards" create => "true", depends_on => { }, unless => "nothing", if => "any",
     ifvarclass => "any";
   "$(d)/late_if" depends_on => { }, create => "true", unless => "nothing";
   "$(d)/handle_meta" create => "true", handle => "h5", meta => { "a" };
 reports:
   "report line";
   "report with action" action => base_act;
   "report with guard" comment => "x", unless => "nothing";
}
"""

COMMANDS = """
body common control { bundlesequence => { "cmdkeys" }; }
body action a1 { ifelapsed => "5"; expireafter => "9"; }
body contain sh { useshell => "useshell"; }
body contain inchdir(d) { chdir => "$(d)"; useshell => "noshell"; }
bundle agent cmdkeys {
 commands:
   "/bin/echo hi" contain => sh;
   "/bin/echo" args => "with args", contain => inchdir("/tmp");
   "/bin/true" arglist => { "a", "b" };
   "/bin/echo a b" args => "c", arglist => { "d e", "f" };
   "/bin/echo 1" args => "x", contain => sh, action => a1;
   "/bin/echo 2" contain => sh, args => "x", action => a1;
   "/bin/echo 3" contain => sh, action => a1, args => "x";
}
"""

METHODS = """
body common control { bundlesequence => { "methkeys" }; }
body action base_act { ifelapsed => "5"; }
bundle agent methkeys {
 vars:
   "l" slist => { "p", "q" };
   "s" string => "sv";
 methods:
   "m1" usebundle => callee;
   "m2" usebundle => callee2("x", "y");
   "m3" usebundle => callee3("one", "two words", "three");
   "m4" usebundle => callee1(@(l));
   "m5" usebundle => callee1("z"), action => base_act;
   "m6" usebundle => callee2(@(l), "a");
   "m7" usebundle => callee1("");
   "m8" usebundle => callee1("$(s)");
   "m9" usebundle => callee1("$(l)");
   "callee";
}
bundle agent callee { reports: "in callee"; }
bundle agent callee1(a) { reports: "in callee1 $(a)"; }
bundle agent callee2(a, b) { reports: "in callee2 $(a) $(b)"; }
bundle agent callee3(a, b, c) { reports: "in callee3 $(a) $(b) $(c)"; }
"""

PROCESSES = """
body common control { bundlesequence => { "prockeys" }; }
body action base_act { ifelapsed => "5"; }
body process_count none { match_range => "0,0"; in_range_define => { "none_there" }; }
bundle agent prockeys {
 processes:
   "vigil_e2e_absent_one";
   "vigil_e2e_absent_two" signals => { "term" };
   "vigil_e2e_absent_three" process_count => none;
   "vigil_e2e_absent_four" restart_class => "restart_four", action => base_act;
}
"""

POLICIES = {"files-reports": FILES, "commands": COMMANDS, "methods": METHODS,
            "processes": PROCESSES}


@requires_cfengine
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_vigil_writes_cf_agents_lock_keys(site: SamePath, name: str) -> None:
    site.write_policy(POLICIES[name])
    (cf_run,), cf_wd = site.runs("cf", ("-I",))
    (vg_run,), vg_wd = site.runs("vigil", ("-I",))
    assert cf_run.rc == 0 and vg_run.rc == 0, cf_run.out + vg_run.out
    cf_keys = without_host(policy_keys(cf_wd / "state" / "cf_lock.lmdb"))
    vg_keys = without_host(policy_keys(vg_wd / "state" / "cf_lock.lmdb"))
    assert cf_keys, "cf-agent wrote no lock"
    assert sorted(vg_keys) == sorted(cf_keys)
    # a key with nothing but last.* entries: the run released every lock it took
    assert all(k.startswith("last.") for k in vg_keys)

