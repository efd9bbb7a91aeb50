"""bundlestate, datastate, variable tags, stored int/real forms, cf_null, $(with) and
inline JSON with variable references: whole policies, vigil against cf-agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import requires_cfengine
from tests.engine.functions.policy_diff import cf_output, reports, vigil_output

STATE = r"""
bundle agent holder
{
  vars:
    "s" string => "hello";
    "i1" int => "0600";
    "i2" int => "1k";
    "i3" int => "2M";
    "i4" int => "10%";
    "i5" int => "inf";
    "r1" real => "1.5";
    "r2" real => "1k";
    "l" slist => { "a", "cf_null", "b" };
    "il" ilist => { "010", "2" };
    "d" data => '{"x": [1, 2.5, true, null, "q"], "e": {}, "f": []}';
    "arr[k1]" string => "v1";
    "arr[k2][z]" string => "v2";
    "tagged" string => "t", meta => { "mine", "k=v" };
}
bundle agent main
{
  methods:
    "holder";
  vars:
    "st" data => bundlestate("holder");
    "all" data => datastate();
    "hs" string => format("%S", "all[vars][holder]");
    "tags" slist => getvariablemetatags("holder.tagged");
    "kv" slist => getvariablemetatags("holder.tagged", "k");
    "n" int => length("holder.l");
  reports:
    "state=$(with)" with => format("%S", st);
    "hs=$(hs)";
    "tags=$(tags)";
    "kv=$(kv)";
    "n=$(n)";
    "it=$(holder.l)";
}
"""

INLINE = r"""
bundle agent main
{
  vars:
    "foo" string => "bar";
    "l" slist => { "a", "b" };
    "d1" data => '[ foo, l ]';
    "d2" data => '{ k: "v", }';
    "d3" data => mergedata('[ foo, l, missing ]');
    "d4" data => mergedata('{ "x": d1 }', '{ "y": d1[0] }');
    "d5" data => parsejson('[ foo ]');
    "d6" data => mergedata('{ "a": 1 } trailing');
    "n" int => length('[1,2,3]');
    "j" string => join(",", '["x","y"]');
  reports:
    "d1=$(with)" with => format("%S", d1);
    "d2=$(with)" with => format("%S", d2);
    "d4=$(with)" with => format("%S", d4);
    "d5=$(with)" with => format("%S", d5);
    "d6=$(with)" with => format("%S", d6);
    "n=$(n) j=$(j)";
    "w=$(with)" with => "a$(foo)";
}
"""

DELAYED = r"""
bundle agent main
{
  vars:
    "a" string => ifelse("any", "pass", "!any", "$(foo)", "bar");
    "b" string => ifelse("any", "pass", "$(foo)");
    "c" string => ifelse("!any", "$(foo)", "fallback");
    "d" string => ifelse(isvariable("nosuch.x"), "$(nosuch.x)", "");
    "e" string => ifelse(and("any", not("!any")), "yes", "no");
    "t1" string => type("d");
    "t2" int => "0600";
    "t3" string => type("t2", "true");
    "s" string => "plain";
    "gv" slist => getvalues("s");
    "m" slist => maplist(canonify("$(this) x"), '["a b", "c"]');
  reports:
    "a=$(a) b=$(b) c=$(c) d=$(d) e=$(e) t1=$(t1) t3=$(t3) gv=$(gv)";
    "m=$(m)";
}
"""

ITERATION = r"""
bundle agent main
{
  classes:
    "from_$(json)" expression => "$(json)";
    "t" expression => "true";
  vars:
    "json" data => '{ "yes": true, "no": false, "maybe": null, "s": "x" }';
    "arr" data => '[ 1, null, "two", [3] ]';
    "var_$(json)" string => "$(json)";
    "d" data => '{ "things": [ { "T": "a" }, { "T": "b" } ] }';
    "di" slist => getindices("d[things]");
    "x" slist => { "xyz" };
    "x1" slist => { @(x), @(undefined1) }, policy => "ifdefined";
    "x2" slist => { @(x), @(undefined1) };
    "u" string => nth(getuserinfo("root"), "uid");
    "e" data => data_expand('{ "$(u)": "$(nosuch)" }');
    "es" string => format("%S", e);
  reports:
    "it=$(json) arr=$(arr)";
    "di=$(di) T=$(d[things][$(di)][T])";
    "x1=$(x1) x2=$(x2) u=$(u) es=$(es)";
    from_true.t.!from_false:: "classes ok";
}
"""

MUSTACHE_TEMPLATES = [
    "{{s}}|{{{s}}}|{{&s}}|{{n}}|{{r}}|{{t}}|{{f}}|{{nul}}|{{missing}}",
    "{{#o}}[{{@}}={{k1}}]{{/o}}",
    "{{#o}}{{k1}}{{/o}}|{{o.k1}}|{{o.k2.z}}",
    "{{#lo}}{{a}},{{/lo}}|{{#lo}}{{@}}{{/lo}}",
    "{{#o}}{{#k2}}{{z}}{{/k2}}{{/o}}|{{#l}}{{@}}{{/l}}",
    "{{$r}}|{{%r}}|{{$t}}|{{$nul}}",
    "{{#l}}{{$.}}{{/l}}|{{#lo}}{{$.}}{{/lo}}|{{$-top-}}",
    "{{%o}}",
    "{{#t}}{{s}}{{/t}}|{{#-top-}}{{@}},{{/-top-}}",
    "{{#l}}{{#t}}{{.}}{{/t}}{{/l}}",
    "{{#eo}}EO{{/eo}}|{{^eo}}noEO{{/eo}}|{{^e}}empty{{/e}}|{{^f}}notF{{/f}}",
    "a$(const.n)  {{#l}}$(const.n)  - {{.}}$(const.n)  {{/l}}$(const.n)b {{! c }}c$(const.n){{=<% %>=}}<%s%>",
    "{{l}}",
    "{{#s}}x{{/s}}",
    "{{@}}",
]
MUSTACHE_DATA = ('{ "s": "a<b>&c", "n": 3, "r": 2.5, "t": true, "f": false, "nul": null, '
                 '"l": ["x","y"], "o": {"k1":"v1","k2":{"z":1}}, "e": [], "eo": {}, '
                 '"lo": [{"a":1},{"a":2}] }')


def _mustache_policy() -> str:
    lines = ["bundle agent main", "{", "  vars:", f"    \"d\" data => '{MUSTACHE_DATA}';"]
    for i, t in enumerate(MUSTACHE_TEMPLATES):
        lines.append(f'    "m{i}" string => string_mustache("{t}", d);')
    lines.append("  reports:")
    lines.extend(f'    "M{i}=$(m{i})";' for i in range(len(MUSTACHE_TEMPLATES)))
    lines.append("}")
    return "\n".join(lines) + "\n"


@requires_cfengine
@pytest.mark.parametrize("policy", [STATE, INLINE, DELAYED, ITERATION, _mustache_policy()],
                         ids=["state", "inline", "delayed", "iteration", "mustache"])
def test_reports_match_cf_agent(tmp_path: Path, policy: str) -> None:
    theirs, ours = reports(tmp_path, policy)
    assert ours == theirs


SHOW = r"""
bundle common g
{
  classes:
    "myc" expression => "any", meta => { "x", "y=1" }, comment => "class comment";
  vars:
    "averyveryverylongvariablenamethatgoesonandon" string => "1", meta => { "t1", "t2" };
    "x" string => "va\"lue", comment => "var comment";
    "l" slist => { "a", "b" };
}
bundle agent main { }
"""


@requires_cfengine
def test_show_evaluated_tables_match_cf_agent(tmp_path: Path) -> None:
    """The filters are not anchored ("g\\." finds default:g.x); the columns and the
    meta tags and comment columns are cf-agent's."""
    args = ("--show-evaluated-vars=g\\.", "--show-evaluated-classes=my")
    theirs = cf_output(tmp_path, SHOW, *args).splitlines()
    ours = vigil_output(tmp_path, SHOW, *args).splitlines()
    assert ours == theirs
