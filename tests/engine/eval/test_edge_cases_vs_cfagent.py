"""Evaluation edge cases: small policies whose reports cf-agent 3.21 and vigil must agree
on. Each case is written down with the reports cf-agent makes; vigil must make the same,
and where cf-agent is installed it is run too, so the expectation stays true to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential import run_both

CASES: dict[str, tuple[str, list[str]]] = {
    # a vars promise that defines its variable is kept (its classes body's kept classes);
    # one whose function fails defines nothing, and the bundle goes on
    "vars_classes_body": (
        """
bundle agent main
{
  vars:
    "a" string => "x", classes => o("a");
    "b" string => "$(nosuch)", classes => o("b");
    "c" slist => { "1", "2" }, classes => o("c");
    "d" string => execresult("/nonexistent/cmd", "noshell"), classes => o("d");
    "e" string => execresult("/bin/true", "noshell"), classes => o("e");
  reports:
    "$(all)";
}
body classes o(p)
{
  promise_kept => { "$(p)_kept" };
  promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
bundle agent after { vars: "all" slist => sort(classesmatching("^[a-e]_.*"), "lex");
  reports: "$(all)"; }
body common control { bundlesequence => { main, after }; }
""",
        ["R: $(all)", "R: a_kept", "R: b_kept", "R: c_kept", "R: e_kept"],
    ),
    # reports with bundle_return_value_index are the called bundle's return values:
    # not printed, put in the caller's useresult array (a fresh set for every call)
    "bundle_return_values": (
        """
body common control { bundlesequence => { main, child("z") }; }
body file control { namespace => "default"; }
bundle agent main
{
  vars:
    "l" slist => { "a", "b" };
  methods:
    "n1" usebundle => child("one"), useresult => "r1";
    "n2" usebundle => child("two"), useresult => "r2";
    "n3" usebundle => child("$(l)"), useresult => "r3";
    "n4" usebundle => child("x"), useresult => "main.r4";
    "n5" usebundle => ns1:child("y"), useresult => "r5";
  reports:
    "r1=$(r1[k_one]) $(r1[fixed]) r2=$(r2[k_one]) $(r2[k_two]) r3=$(r3[fixed])";
    "r4=$(r4[fixed]) r5=$(r5[k])";
}
bundle agent child(g)
{
  reports:
      "$(g)" bundle_return_value_index => "k_$(g)";
      "fixed $(g)" bundle_return_value_index => "fixed";
      "plain $(g)";
}
body file control { namespace => "ns1"; }
bundle agent child(g)
{
  reports:
      "ns $(g)" bundle_return_value_index => "k";
}
""",
        ["R: plain one", "R: plain two", "R: plain a", "R: plain b", "R: plain x",
         # (a report with a reference that stays unresolved is made last)
         "R: r4=fixed x r5=ns y", "R: r1=one fixed one r2=$(r2[k_one]) two r3=fixed b",
         "R: plain z"],
    ),
    # brackets of the reference's own kind balance inside its name (an array index
    # holding parentheses); a list reference may hold a reference in its index
    "nested_brackets_in_references": (
        """
bundle agent main
{
  vars:
    "a[k(1)]" string => "v1";
    "a[k{1}]" string => "v2";
    "a[k(x(y))]" string => "v3";
    "k" string => "k(1)";
    "one[$(k)]" slist => { "one", "two" };
    "two" slist => { "three" };
    "both" slist => { @(one[$(k)]), @(two) };
  reports:
    "$(a[k(1)]) ${a[k{1}]} ${a[k(1)]} $(a[k{1}]) $(a[k(x(y))]) $(a[$(k)])";
    "$(both)";
}
""",
        ["R: v1 v2 v1 v2 v3 v1", "R: one", "R: two", "R: three"],
    ),
    # a classic array (name[key] variables) is a container to the functions that
    # take a list or a container: its keys' values, nested keys as nested objects
    "classic_array_as_list": (
        """
bundle agent main
{
  vars:
    "arr[b]" string => "2";
    "arr[a]" string => "1";
    "n[x][y]" string => "3";
    "n[x][z]" slist => { "4", "5" };
    "m[0]" string => "debian_12";
    "m[1]" string => "12";
    "r[01]" string => length("arr");
    "r[02]" string => nth("arr", "a");
    "r[03]" string => join(",", "arr");
    "r[04]" string => join(",", sort("arr", "lex"));
    "r[05]" string => join(",", reverse("arr"));
    "r[06]" string => join(",", grep("1", "arr"));
    "r[07]" string => max("arr", "int");
    "r[08]" string => sum("arr");
    "r[09]" string => length("n");
    "r[10]" string => length("n[x]");
    "r[11]" string => join(",", "n[x]");
    "r[12]" string => nth("m", "1");
    "r[13]" string => join(",", intersection("arr", "arr"));
    "k" slist => sort(getindices("r"), "lex");
  reports:
    "$(k) $(r[$(k)])";
}
""",
        ["R: 01 2", "R: 02 1", "R: 03 1,2", "R: 04 1,2", "R: 05 2,1", "R: 06 1", "R: 07 2",
         "R: 08 3.000000", "R: 09 1", "R: 10 2", "R: 11 3", "R: 12 12", "R: 13 1,2"],
    ),
    # a vars promise's value is expanded once more (the items of a list written out
    # twice more): what $(const.dollar), a function's output or a value holding a
    # reference made; other promises take the text as the first expansion left it
    "vars_value_expanded_again": (
        """
bundle agent main
{
  vars:
    "b" string => "B";
    "s2" string => "$(const.dollar)(const.dollar)(b)";
    "s" string => "$(const.dollar)(b)";
    "t" string => "$(s)";
    "f" string => concat("$(const.dollar)", "(b)");
    "l" slist => { "$(const.dollar)(const.dollar)(b)", "x" };
    "j" string => join(",", "l");
  classes:
    "same" expression => strcmp("$(const.dollar)(b)", "B");
  reports:
    "s2=$(s2) s=$(s) t=$(t) f=$(f) j=$(j) r=$(const.dollar)(b)";
    same:: "same";
}
""",
        ["R: s2=$(b) s=B t=B f=B j=B,x r=$(b)"],
    ),
    # bundlesmatching lists the last defined bundle first
    "bundlesmatching_order": (
        """
bundle agent main
{
  vars:
    "all" slist => bundlesmatching("default:p.*");
    "tagged" slist => bundlesmatching(".*", "autorun");
  reports:
    "all=$(all)";
    "tagged=$(tagged)";
}
bundle agent pz { meta: "tags" slist => { "autorun" }; }
bundle agent pb { }
bundle common pc { }
bundle agent pa { meta: "tags" slist => { "autorun" }; }
""",
        ["R: all=default:pa", "R: all=default:pc", "R: all=default:pb", "R: all=default:pz",
         "R: tagged=default:pa", "R: tagged=default:pz"],
    ),
    # @(d) naming a data container (or a container inside one) passes the container
    # to a bundle parameter, not its items
    "data_container_bundle_parameter": (
        """
bundle agent main
{
  vars:
    "d" data => '["a","b"]';
    "o" data => '{"k":{"path":"/x"}}';
    "l" slist => { "x", "y" };
    "bn" string => "main";
  methods:
    "1" usebundle => show("d", @(d));
    "2" usebundle => show("o", @(o));
    "3" usebundle => show("l", @(l));
    "4" usebundle => show("named", "@($(bn).o)");
    "5" usebundle => show("index", @(o[k]));
}
bundle agent show(id, p)
{
  vars:
    "s" string => format("%S", p);
    "k" slist => getindices("p");
    "ks" string => join(",", k);
  reports:
    "$(id): s=$(s) ks=$(ks)";
}
""",
        ['R: d: s=["a","b"] ks=0,1', 'R: o: s={"k":{"path":"/x"}} ks=k',
         'R: l: s={ "x", "y" } ks=', 'R: named: s={"k":{"path":"/x"}} ks=k',
         'R: index: s={"path":"/x"} ks=path'],
    ),
    # action_policy => "warn" on a report: not printed, not kept
    "report_warn_only": (
        """
bundle agent main
{
  reports:
    "Test output" classes => gen("r"), action => warnonly;
    "printed" classes => gen("p");
}
bundle agent check { vars: "c" slist => sort(classesmatching("[rp]_.*"), "lex");
  reports: "$(c)"; }
body common control { bundlesequence => { main, check }; }
body action warnonly { action_policy => "warn"; }
body classes gen(x)
{
  promise_repaired => { "$(x)_repaired" };
  repair_failed => { "$(x)_not_kept" };
  promise_kept => { "$(x)_kept" };
}
""",
        ["R: printed", "R: p_kept", "R: r_not_kept"],
    ),
    # select_class defines its promiser (bundle-scoped in an agent bundle: an iterated
    # promise chooses once) and the class it chose, globally
    "select_class_scope": (
        """
bundle agent main
{
  vars:
      "l" slist => { "c_1", "c_2", "c_3" };
  classes:
    "sel1" select_class => { "only" };
    "sel3" select_class => { $(l) };
    "sel5" select_class => { "b_1" }, scope => "bundle";
  reports:
    sel1.sel3.sel5:: "promisers here";
}
bundle agent after { vars: "x" slist => sort(classesmatching("(sel|only|b_|c_).*"), "lex");
  reports: "$(x)"; }
body common control { bundlesequence => { main, after }; }
""",
        ["R: promisers here", "R: b_1", "R: c_1", "R: only"],
    ),
    # an item of an and/or/xor list that does not resolve counts as false
    "class_list_unresolved_item": (
        """
bundle agent main
{
  classes:
    "X1" or => { "any", "$(never)" };
    "X2" and => { "any", "$(never)" };
    "X3" xor => { "any", classify("$(never)") };
    "X4" and => { "any", classify("$(later)") };
    "X7" or => { "!any", "!$(never)" };
  vars:
    "later" string => "any", if => "inner";
  classes:
    "inner" expression => "any";
  reports:
    X1:: "X1";
    X2:: "X2";
    X3:: "X3";
    X4:: "X4";
    X7:: "X7";
}
""",
        ["R: X1", "R: X3", "R: X4"],
    ),
    # a classic array's entries and variablesmatching's names come in the order of
    # cf-agent's variable table (see engine.eval.varorder); keys chosen so that the
    # order holds whatever the table's size (128 to 1024 buckets)
    "variable_table_order": (
        """
bundle agent main
{
  vars:
    "arr[alpha]" string => "1";
    "arr[zeta]" string => "2";
    "arr[theta]" string => "3";
    "arr[mu]" string => "4";
    "v_red" string => "1";
    "v_green" string => "2";
    "v_blue" string => "3";
    "k" slist => getindices("arr");
    "v" slist => getvalues("arr");
    "m" slist => maparray("$(this.k)", "arr");
    "found" slist => variablesmatching("default:main\\\\.v_.*");
    "keys" string => join(",", k);
    "values" string => join(",", v);
    "mapped" string => join(",", m);
    "names" string => join(",", found);
  reports:
    "keys=$(keys) values=$(values) mapped=$(mapped)";
    "names=$(names)";
}
""",
        ["R: keys=mu,theta,alpha,zeta values=4,3,1,2 mapped=mu,theta,alpha,zeta",
         "R: names=default:main.v_red,default:main.v_blue,default:main.v_green"],
    ),
    # $(this.x) is not the bundle's list x to iterate over; in a delayed argument it
    # waits for the function's own binding
    "this_is_not_the_bundle": (
        """
bundle agent main
{
  vars:
    "arr[b]" string => "2";
    "arr[a]" string => "1";
    "r" string => join(",", sort(maparray("$(this.k)=$(this.v)", "arr"), "lex"));
    "k" slist => { "K1", "K2" };
    "v" string => "V";
  reports:
    "$(r)";
    "this.k=$(this.k) this.v=$(this.v)";
}
""",
        ["R: a=1,b=2", "R: this.k=$(this.k) this.v=V"],
    ),
    # inline JSON: the ':' after a quoted key may be left out, not a second one, nor
    # the one after a bare key
    "json_key_without_colon": (
        """
bundle agent main
{
  vars:
    "a" data => parsejson('{"a": {"p":"x"}, "b" {"p": "y"}}');
    "c" data => parsejson('{"a" 1, "b" true}');
    "d" data => parsejson('{"a" :: "x"}');
    "e" data => parsejson('{a "x"}');
    "f" data => parsejson('{ foo: 1 }');
    "as" string => format("%S", a);
    "cs" string => format("%S", c);
    "ds" string => format("%S", d);
    "es" string => format("%S", e);
    "fs" string => format("%S", f);
  reports:
    "a=$(as) c=$(cs) f=$(fs)";
    "d=$(ds)";
    "e=$(es)";
}
""",
        ['R: a={"a":{"p":"x"},"b":{"p":"y"}} c={"a":1,"b":true} f={"foo":1}',
         "R: d=$(ds)", "R: e=$(es)"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_reports_as_cf_agent_makes_them(tmp_path: Path, name: str) -> None:
    text, expected = CASES[name]
    theirs, ours = run_both(tmp_path, text, "-K")
    assert ours.reports == expected, ours.out
    if theirs is not None:
        assert theirs.reports == expected, theirs.out
