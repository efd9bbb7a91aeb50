"""Functions of CFEngine 3.21 vigil leaves out (LDAP, the Windows registry, the
Enterprise hub, url_get without libcurl): a call is an error naming the function, why,
and the file:line of the promise, and the promise is not kept."""

from __future__ import annotations

import re
from pathlib import Path

from engine.eval.functions import registry
from engine.eval.functions.unsupported import UNSUPPORTED
from tests.differential import run_vigil

POLICY = r"""bundle agent main
{
  vars:
    "a" string => ldapvalue("ldap://127.0.0.1", "dc=x", "(uid=a)", "cn", "subtree", "none");
    "b" slist => ldaplist("ldap://127.0.0.1", "dc=x", "(uid=a)", "cn", "subtree", "none");
    "e" string => registryvalue("HKEY_LOCAL_MACHINE\SOFTWARE", "x");
    "f" slist => hostswithclass("linux", "name");
    "g" string => hubknowledge("x");
    "h" string => remotescalar("x", "127.0.0.1", "no");
    "j" data => url_get("http://127.0.0.1:1/", "{}");
  classes:
    "c" expression => ldaparray("arr", "ldap://127.0.0.1", "dc=x", "(uid=a)", "subtree", "none");
    "d" expression => regldap("ldap://127.0.0.1", "dc=x", "(uid=a)", "cn", "subtree", ".*", "none");
    "i" expression => remoteclassesmatching(".*", "127.0.0.1", "no", "p");
  reports:
    "a=$(a) b=$(b) e=$(e) f=$(f) g=$(g) h=$(h)";
    c|d|i:: "some class";
}
"""


def test_the_list_holds_no_supported_function() -> None:
    assert not [n for n in UNSUPPORTED if registry.lookup(n) is not None]


def test_each_call_is_an_error_naming_function_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.cf"
    policy.write_text(POLICY)
    run = run_vigil(policy, tmp_path / "vw", "-K", cwd=tmp_path)
    out = run.stdout + run.stderr
    lines = POLICY.splitlines()
    for name in UNSUPPORTED:
        line_no = next(i for i, text in enumerate(lines, 1) if f"{name}(" in text)
        pattern = (rf"error: Function '{name}' is not supported by vigil: .* "
                   rf"at {re.escape(str(policy))}:{line_no}:")
        assert re.search(pattern, out), (name, out)
    assert "R: a=$(a) b=$(b) e=$(e) f=$(f) g=$(g) h=$(h)" in out
    assert "some class" not in out
    assert "Traceback" not in out
