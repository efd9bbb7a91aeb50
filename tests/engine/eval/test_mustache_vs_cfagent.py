"""``string_mustache`` against cf-agent 3.21: what each template renders to (or that it
is refused) and the lines logged about it. The renderer's own cases run without
cf-agent; the differential one also runs cf-agent where it is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.eval.mustache import MustacheError, render
from tests.differential import run_both

DATA = {"name": "Lars", "s": "str", "n": 3, "o": {"a": {"x": 1}, "b": {"x": 2}},
        "l": [1, 2], "lo": [{"a": 1}], "z": None, "t": True, "f": False, "e": []}

# template -> what cf-agent 3.21 renders, or None where it refuses the template
CASES: dict[str, str | None] = {
    "{{{name": None,
    "{{name": None,
    "{{#o}}x": None,  # an unclosed section
    "{{/o}}": None,  # a close with nothing open
    "{{#o}}x{{/l}}": "x",  # a close ends the innermost section, whatever its name
    "{{= a =}}x": None,
    "{{=<%%%%%%%%%% %>=}}": None,  # a delimiter longer than 10 characters
    "{{o}}": None,  # a container needs {{%o}} or {{$o}}
    "{{&o}}": None,
    "{{#lo}}{{.}}{{/lo}}": None,
    "{{#s}}x{{/s}}": None,  # a section over a string, number or null
    "{{^s}}x{{/s}}": None,
    "{{#n}}x{{/n}}": None,
    "{{#z}}x{{/z}}": None,
    "{{^z}}x{{/z}}": None,
    "{{@}}": None,
    "ab\ncd {{{name": None,
    "{{#o}}x{{/o}} {{name": None,
    "{{#name}}{{/name}}{{x": None,  # the first complaint in the text is the one made
    "{{}}": "{{}}",  # an empty tag prints the delimiters
    "{{ }}": "{{}}",
    "{{&}}": "{{}}",
    "{{=<% %>=}}<%{name}%>": "Lars",
    "{{= | | =}}|name|": "Lars",
    "x {{>part}} y": "x  y",  # no partials: a variable named >part
    "a\n  {{>part}}  \nb": "a\n    \nb",
    "a\n  {{!c}}  \nb": "a\nb",  # a standalone comment takes its line with it
    "{{#o}}[{{a.x}}]{{/o}}": "[1]",  # no {{@}}: the object is the context, once
    "{{#o}}{{@}}{{/o}}|{{x}}|{{a.x}}": "ab||1",  # an iterated object stays in view
    "{{#l}}{{.}}{{/l}}<{{.}}>": None,  # ... and so does a list ({{.}} is the list)
    "{{#l}}{{#t}}{{@}}{{/t}}{{/l}}": None,  # a boolean section has no key
    "{{#o}}{{#t}}{{/t}}{{@}}{{/o}}": None,  # {{@}} after a nested section: no iteration
    "{{#o}}{{ @ }}{{/o}}": None,  # only {{@}} written exactly so makes it iterate
    "{{#l}}{{.}}{{=<% %>=}}<%/l%>|": "1{{.}}{{=<%%>=}}|",  # delimiters outlive the pass
    "{{l.0}}": "",  # dotted names walk objects only
    "{{#f}}{{^e}}X{{/e}}{{/f}}": "X",  # an empty list's inverted section always shows
    "{{#e}}{{/e}}{{.}}": None,
    "{{#l}}{{#.}}x{{/.}}{{/l}}": "",
    "{{#o}}<{{x}}>{{/o}}": "<>",
    "{{%l}}|{{$o}}": '[\n  1,\n  2\n]|{"a":{"x":1},"b":{"x":2}}',
    "<{{name}}> {{z}} {{t}} {{-top-.s}}": "<Lars>  true str",
    "{{#o}}{{=a=}}{{/o}}": None,
}


@pytest.mark.parametrize("template", list(CASES))
def test_renderer(template: str) -> None:
    want = CASES[template]
    if want is None:
        with pytest.raises(MustacheError):
            render(template, DATA)
    else:
        assert render(template, DATA) == want


def test_refusals_carry_cf_agent_lines() -> None:
    with pytest.raises(MustacheError) as e:
        render("ab\ncd {{{name", DATA)
    assert e.value.lines == [("error", "Broken mustache template, couldn't find end tag for "
                              "quoted begin tag at '       ab\ncd {{{name'...")]
    with pytest.raises(MustacheError) as e:
        render("{{#o}}{{=a=}}{{/o}}", DATA)  # the look-ahead for {{@}} complains too
    assert [text for _, text in e.value.lines] == [
        "Could not parse delimiter mustache, number of tokens is 1, expected 2 in "
        "'a=}}{{/o}}'"] * 2
    with pytest.raises(MustacheError) as e:
        render("{{o}}", DATA)
    assert e.value.lines == []  # cf-agent refuses it without a word


def _policy() -> str:
    tpl = {f"c{i}": t for i, t in enumerate(CASES)}
    # the policy quotes the data in single quotes: none of the templates holds one
    return f"""
body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main
{{
  vars:
    "d" data => '{json.dumps(DATA)}';
    "tpl" data => '{json.dumps(tpl)}';
    "k" slist => getindices(tpl);
    "out_$(k)" string => string_mustache("$(tpl[$(k)])", d);
    "plain" string => string_mustache("{{{{#a}}}}{{{{/b}}}}");
  reports:
    "$(k): '$(out_$(k))'" if => isvariable("out_$(k)");
    "$(k): refused" if => not(isvariable("out_$(k)"));
    "plain='$(plain)'";
}}
"""


def test_string_mustache_vs_cf_agent(tmp_path: Path) -> None:
    theirs, ours = run_both(tmp_path, _policy(), "-K")

    def seen(out: str) -> list[str]:  # cf-agent repeats a complaint once per pass
        return sorted(set(out.split("\n")))

    if theirs is not None:
        assert seen(ours.out) == seen(theirs.out)
    got = dict(ln[3:].split(": ", 1) for ln in ours.reports if ln.startswith("R: c"))
    for i, (template, want) in enumerate(CASES.items()):
        shown = "refused" if want is None else f"'{want}'"
        if "\n" not in template and (want is None or "\n" not in want):
            assert got[f"c{i}"] == shown, template
    assert "R: plain=''" in ours.reports
