"""Validation on valid and nearly valid policy (the broken cases are in test_errors)."""

from __future__ import annotations

from engine.policy.ast import Policy
from engine.policy.parser import parse_text
from engine.policy.validate import validate


def check(text: str, bundlesequence: list[str] | None = None) -> list[tuple[int, str, str]]:
    p = Policy()
    p.add(parse_text(text, "v.cf"))
    return [(d.pos.line, d.severity, d.message) for d in validate(p, bundlesequence)]


def test_valid_policy_has_no_findings() -> None:
    text = (
        'body common control { bundlesequence => { "main", g("x"), @(x.list), "$(v)" }; }\n'
        "bundle agent main\n{\n  files:\n"
        '    "/tmp/x" perms => m("644"), edit_line => lines("a"), create => "yes",\n'
        "      classes => default:outcome, action => $(body_name);\n"
        '  methods:\n    "g" usebundle => g("1");\n    "dyn" usebundle => "$(b)";\n'
        '  vars:\n    "i" int => "12k";\n    "r" real => "1.5e3";\n'
        '    "l" slist => { @(x.y), canonify("a b") };\n'
        "}\n"
        "bundle agent g(a) {}\n"
        'bundle edit_line lines(s) { insert_lines: "$(s)"; }\n'
        'body perms m(mode) { mode => "$(mode)"; inherit_from => base; }\n'
        'body perms base { owners => { "root" }; }\n'
        'body classes outcome { promise_repaired => { "r" }; }\n'
    )
    assert check(text) == []


def test_namespaced_body_is_found_in_its_namespace() -> None:
    text = (
        'body file control { namespace => "lib"; }\n'
        'body perms p { mode => "1"; }\n'
        'bundle agent b { files: "/x" perms => p; }\n'
    )
    assert check(text) == []
    assert check(text.replace("perms => p;", "perms => default:p;")) == [
        (3, "error", "Undefined body default:p with type perms")
    ]


def test_edit_line_must_name_an_edit_line_bundle() -> None:
    text = 'bundle agent main { files: "/x" edit_line => main; }\n'
    assert check(text) == [
        (1, "error", "'edit_line' needs an edit_line bundle; 'main' is a agent bundle")
    ]


def test_missing_bundle_reference_is_a_warning() -> None:
    assert check('bundle agent main { methods: "m" usebundle => nowhere; }\n') == [
        (1, "warning", "bundle 'nowhere' is not defined")
    ]


def test_given_bundlesequence_replaces_the_policy_one() -> None:
    text = 'body common control { bundlesequence => { "gone" }; }\nbundle agent main {}\n'
    assert check(text, ["main"]) == []
    assert [m for _, _, m in check(text)] == [
        "bundle 'gone' listed in the bundlesequence is not defined"
    ]


def test_unsupported_attribute() -> None:
    text = (
        'bundle agent main { files: "/x" acl => a; }\nbody acl a { aces => { "user:root:r" }; }\n'
    )
    assert check(text) == [(1, "unsupported", "unsupported attribute 'acl' for 'files'")]
