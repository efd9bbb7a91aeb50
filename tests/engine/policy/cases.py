"""Broken policies: each with the line vigil must report and words its message must contain.

``cfengine_line`` is True when cf-promises 3.21 reports the same problem with a line
(the differential test checks that line equals ours); False when cf-promises does not
report it or reports it without a position.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    line: int
    message: str
    cfengine_line: bool = True
    severity: str = "error"


CASES: list[Case] = [
    Case(
        "missing_semicolon_before_brace",
        'bundle agent main\n{\n  reports:\n    "x" comment => "y"\n}\n',
        5,
        "expected ';' or ',' after constraint, found '}'",
    ),
    Case(
        "missing_semicolon_before_promise",
        'bundle agent main\n{\n  reports:\n    "x" comment => "y"\n    "z";\n}\n',
        5,
        "expected ';' or ',' after constraint, found '\"z\"'",
    ),
    Case(
        "unbalanced_brace_eof",
        'bundle agent main\n{\n  reports:\n    "x";\n\n',
        6,
        "found end of file",
    ),
    Case(
        "extra_closing_brace",
        'bundle agent main\n{\n  reports:\n    "x";\n}\n}\n',
        6,
        "expected 'bundle' or 'body', found '}'",
    ),
    Case(
        "unterminated_string",
        'bundle agent main\n{\n  reports:\n    "x\n    ;\n}\n',
        4,
        "unterminated string",
    ),
    Case(
        "arrow_missing",
        'bundle agent main\n{\n  reports:\n    "x" comment "y";\n}\n',
        4,
        "expected '=>' after attribute 'comment'",
    ),
    Case(
        "bad_guard_double_dot",
        'bundle agent main\n{\n  reports:\n  linux..debian::\n    "x";\n}\n',
        4,
        "class guard",
    ),
    Case(
        "bad_guard_trailing_or",
        'bundle agent main\n{\n  reports:\n  linux|::\n    "x";\n}\n',
        4,
        "class guard",
    ),
    Case(
        "bad_guard_open_paren",
        'bundle agent main\n{\n  reports:\n  (linux::\n    "x";\n}\n',
        4,
        "expected ')'",
    ),
    Case(
        "bad_guard_in_body",
        'body perms p\n{\n  linux::\n    mode => "1";\n  bad..x::\n    mode => "2";\n}\n',
        5,
        "class guard",
    ),
    Case(
        "unknown_body",
        'bundle agent main\n{\n  files:\n    "/tmp/x"\n      perms => nobody("1");\n}\n',
        5,
        "Undefined body nobody with type perms",
    ),
    Case(
        "body_wrong_arity",
        'bundle agent main\n{\n  files:\n    "/tmp/x"\n      perms => p("1", "2");\n}\n'
        'body perms p(a)\n{\n  mode => "$(a)";\n}\n',
        5,
        "takes 1 argument(s), 2 given",
        cfengine_line=False,
    ),
    Case(
        "quoted_body_name",
        'bundle agent main\n{\n  files:\n    "/tmp/g" perms => "m";\n}\nbody perms m { mode => "1"; }\n',
        4,
        "needs an unquoted body name",
    ),
    Case(
        "bundle_wrong_arity",
        'bundle agent main\n{\n  methods:\n    "y" usebundle => other("extra");\n}\n'
        'bundle agent other\n{\n  reports: "x";\n}\n',
        4,
        "bundle 'other' takes 0 argument(s), 1 given",
    ),
    Case(
        "promise_type_not_in_common",
        'bundle common main\n{\n  files:\n    "/tmp/y" create => "true";\n}\n',
        3,
        "promise type 'files' is not allowed in a 'common' bundle",
    ),
    Case(
        "unknown_promise_type",
        'bundle agent main\n{\n  bogus_type:\n    "y";\n}\n',
        3,
        "undefined promise type 'bogus_type'",
        cfengine_line=False,
        severity="warning",
    ),
    Case(
        "unknown_attribute",
        'bundle agent main\n{\n  files:\n    "/tmp/x"\n      bogus_attr => "1",\n      create => "true";\n}\n',
        5,
        "unknown attribute 'bogus_attr' for promise type 'files'",
    ),
    Case(
        "unknown_body_attribute",
        'body perms q\n{\n  mode => "644";\n  bogus => "1";\n}\n',
        4,
        "unknown attribute 'bogus' for 'body perms q'",
    ),
    Case(
        "missing_bundle_in_bundlesequence",
        'body common control\n{\n  bundlesequence => { "main",\n    "missing" };\n}\n'
        'bundle agent main\n{\n  reports: "x";\n}\n',
        4,
        "bundle 'missing' listed in the bundlesequence is not defined",
        cfengine_line=False,
    ),
    Case(
        "stray_token_in_bundle",
        'bundle agent main\n{\n  reports:\n    "x";\n  => "y";\n}\n',
        5,
        "found '=>'",
    ),
    Case(
        "bareword_promiser",
        "bundle agent main\n{\n  reports:\n    bareword;\n}\n",
        4,
        "found 'bareword'",
    ),
    Case(
        "nested_list",
        'bundle agent main\n{\n  vars:\n    "l" slist => { "a", { "b" } };\n}\n',
        4,
        "lists cannot be nested",
    ),
    Case(
        "empty_list_item",
        'bundle agent main\n{\n  vars:\n    "l" slist => { , };\n}\n',
        4,
        "expected a list item or '}', found ','",
    ),
    Case(
        "list_in_function_argument",
        'bundle agent main\n{\n  vars:\n    "x" string => format("%s", { "a" });\n}\n',
        4,
        "expected a function argument in call to 'format'",
    ),
    Case(
        "comma_in_body",
        'body perms p\n{\n  mode => "644", owners => { "x" };\n}\n',
        3,
        "expected ';' after attribute 'mode', found ','",
    ),
    Case(
        "trailing_comma_before_semicolon",
        'bundle agent main\n{\n  reports:\n    "x" comment => "y",;\n}\n',
        4,
        "expected an attribute name after ',', found ';'",
    ),
    Case(
        "duplicate_bundle",
        'bundle agent main\n{\n  reports: "x";\n}\nbundle agent main\n{\n  reports: "y";\n}\n',
        1,
        "duplicate definition of bundle 'main'",
    ),
    Case(
        "duplicate_body",
        'bundle agent main\n{\n  reports: "x";\n}\nbody perms p { mode => "1"; }\n'
        'body perms p { mode => "2"; }\n',
        5,
        "duplicate definition of body 'p' of type perms",
    ),
    Case(
        "scalar_for_list",
        'bundle agent main\n{\n  vars:\n    "y" slist => "notalist";\n}\n',
        4,
        "'slist' needs a list, found a string",
    ),
    Case(
        "list_for_scalar",
        'bundle agent main\n{\n  vars:\n    "z" string => { "a" };\n}\n',
        4,
        "'string' needs a single value, found a list",
    ),
    Case(
        "option_out_of_range",
        'bundle agent main\n{\n  files:\n    "/tmp/x"\n      create => "maybe";\n}\n',
        5,
        "'create' must be one of",
    ),
    Case(
        "bad_integer",
        'bundle agent main\n{\n  vars:\n    "x" int => "abc";\n}\n',
        4,
        "'int' needs an integer, found 'abc'",
    ),
    Case(
        "unknown_function",
        'bundle agent main\n{\n  vars:\n    "w" string => nosuchfunc("a");\n}\n',
        4,
        "unknown function 'nosuchfunc'",
    ),
    Case(
        "unknown_bundle_type",
        'bundle bogus main\n{\n  reports: "x";\n}\n',
        1,
        "Unknown bundle type 'bogus'",
    ),
    Case(
        "promiser_before_type",
        'bundle agent main\n{\n    "x";\n}\n',
        3,
        "expected a promise type",
    ),
    Case(
        "nested_if_macro",
        '@if minimum_version(3.0)\n@if minimum_version(3.0)\nbundle agent main { reports: "x"; }\n@endif\n@endif\n',
        2,
        "nested @if",
    ),
    Case(
        "indented_macro",
        '  @if minimum_version(3.0)\nbundle agent main { reports: "x"; }\n  @endif\n',
        1,
        "must be at the beginning of the line",
    ),
    Case(
        "endif_without_if",
        'bundle agent main { reports: "x"; }\n@endif\n',
        2,
        "@endif without a matching @if",
    ),
    Case(
        "if_without_endif",
        '@if minimum_version(3.0)\nbundle agent main { reports: "x"; }\n',
        3,
        "waiting for @endif",
    ),
    Case(
        "missing_bundle_name",
        'bundle agent\n{\n  reports: "x";\n}\n',
        2,
        "expected a bundle name, found '{'",
    ),
]
