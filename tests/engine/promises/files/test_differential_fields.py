"""field_edits, the ``content`` attribute and literal range checks against cf-agent 3.21."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cfengine import CLEAN_ENV
from tests.differential import ROOT, both

LINES = ("able:baker,booker,banker:charlie:delta:echo\napple:banana:carrot:dogfood\n"
         "aardvark:baboon:colugo:dingo::fox\nampallang:: :dydoe:,:::::\n"
         ":blowfish:conger:dogfish:eel:flounder\nanoseps\n")

FIELDS_POLICY = """
body common control { bundlesequence => { "t" }; }
bundle agent t {
files:
  "@T@/f1" edit_line => e("a.*", "2", "XXX", "append", ",", "false", "false");
  "@T@/f2" edit_line => e("a.*", "2", "XXX", "prepend", ",", "true", "false");
  "@T@/f3" edit_line => e("a.*", "2", "booker", "delete", ",", "true", "false");
  "@T@/f4" edit_line => e("a.*", "7", "XXX", "set", ",", "true", "true");
  "@T@/f5" edit_line => e("a.*", "7", "XXX", "set", ",", "true", "false");
  "@T@/f6" edit_line => e("a.*", "2", "aaa", "alphanum", ",", "true", "false");
  "@T@/f7" edit_line => n("a.*", "2", "XXX", "set", "true", "false");
  "@T@/f8" edit_line => n("a.*", "3", "XXX", "delete", "false", "false");
  "@T@/f9" edit_line => n("apple.*", "3", "carrot", "set", "true", "false");
  "@T@/f10" edit_line => e("apple.*", "3", "carrot", "append", ",", "true", "false");
  "@T@/f11" edit_line => d("a[bp].*", "2", "ZZ");
  "@T@/f12" edit_line => d("a.*", "0", "ZZ");
}
bundle edit_line e(re, n, v, op, vs, blanks, ext) {
field_edits: "$(re)" edit_field => f("$(n)", "$(v)", "$(op)", "$(vs)", "$(blanks)", "$(ext)");
}
bundle edit_line n(re, n, v, op, blanks, ext) {
field_edits: "$(re)" edit_field => g("$(n)", "$(v)", "$(op)", "$(blanks)", "$(ext)");
}
bundle edit_line d(re, n, v) { field_edits: "$(re)" edit_field => h("$(n)", "$(v)"); }
body edit_field f(n, v, op, vs, blanks, ext) {
  field_separator => ":"; select_field => "$(n)"; field_value => "$(v)";
  field_operation => "$(op)"; value_separator => "$(vs)"; allow_blank_fields => "$(blanks)";
  extend_fields => "$(ext)";
}
body edit_field g(n, v, op, blanks, ext) {
  field_separator => ":"; select_field => "$(n)"; field_value => "$(v)";
  field_operation => "$(op)"; allow_blank_fields => "$(blanks)"; extend_fields => "$(ext)";
}
body edit_field h(n, v) { field_separator => ":"; select_field => "$(n)"; field_value => "$(v)"; }
"""


def test_field_edits(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        for n in range(1, 13):
            (t / f"f{n}").write_text(LINES)

    lines, files = both(tmp_path, FIELDS_POLICY, setup,
                        drop=lambda ln: "Promise belongs to bundle" in ln)
    # blank fields are dropped unless allowed; a value separator means append by default
    assert files["f1"][1].splitlines()[2] == "aardvark:baboon,XXX:colugo:dingo:fox"
    assert files["f11"][1].splitlines()[1] == "apple:ZZ:carrot:dogfood"
    assert files["f9"][1] == LINES
    assert "   error: Field edit, no fields found by promised pattern ':' in '<T>/f1'" in lines


CONTENT_POLICY = """
body common control { bundlesequence => { "t" }; }
body action warn { action_policy => "warn"; }
bundle agent t {
files:
  "@T@/a" create => "true", content => "hello
world
";
  "@T@/b" content => "no newline";
  "@T@/d" create => "true", content => "";
  "@T@/e" content => "same
";
  "@T@/f" content => "new
", action => warn;
  "@T@/l" content => "through the link";
}
"""


def test_content(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "e").write_text("same\n")
        (t / "f").write_text("old\n")
        (t / "target").write_text("old\n")
        (t / "l").symlink_to(t / "target")

    _, files = both(tmp_path, CONTENT_POLICY, setup)
    assert files["a"][1] == "hello\nworld\n" and files["b"][1] == "no newline"
    assert files["f"][1] == "old\n" and files["target"][1] == "through the link"


def test_literal_out_of_range_is_invalid(tmp_path: Path) -> None:
    policy = tmp_path / "p.cf"
    policy.write_text("""
body common control { bundlesequence => { "t" }; }
bundle agent t { files: "/tmp/x" edit_line => e, edit_template => "rel.tmpl"; }
bundle edit_line e { field_edits: "x" edit_field => f; }
body edit_field f { select_field => "-1"; value_separator => ",+"; field_separator => ":"; }
""")
    out = subprocess.run([sys.executable, "-m", "engine", "agent", "-K", "-f", str(policy),
                          "-w", str(tmp_path / "wd")], env={**CLEAN_ENV, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "'select_field' is out of range 0..99999999: '-1'" in out.stdout + out.stderr
    assert "'value_separator' is out of range '^.$': ',+'" in out.stdout + out.stderr
    assert "'edit_template' needs an absolute path, found 'rel.tmpl'" in out.stdout + out.stderr
