"""insert_lines placement against cf-agent 3.21: repeated lines, regions, whitespace
policies, insert types, CFEngine templates, and edit promises' own classes bodies."""

from __future__ import annotations

from pathlib import Path

from tests.differential import both

INSERT_POLICY = """
body common control { bundlesequence => { "t" }; }
body location ba(x) { before_after => "$(x)"; }
body location loc { before_after => "before"; select_line_matching => "y"; }
body select_region reg { select_start => "\\[s\\]"; select_end => "\\[t\\]"; }
body edit_defaults empty { empty_file_before_editing => "true"; }
bundle edit_line ins(s, ty, ba) { insert_lines: "$(s)" insert_type => "$(ty)", location => ba("$(ba)"); }
bundle edit_line two(s, ty, ba) { insert_lines: "x
[s]
y
[t]
z"; "$(s)" insert_type => "$(ty)", location => ba("$(ba)"); }
bundle edit_line reg(s, ba) { insert_lines: "x
[s]
y
[t]
z"; "$(s)" select_region => reg, location => ba("$(ba)"); }
bundle edit_line atloc(s) { insert_lines: "x
y
b
z"; "$(s)" location => loc; }
bundle agent t {
vars:
  "s" string => "a
b
a
c
b";
files:
  "@T@/empty" create => "true", edit_line => ins("$(s)", "literal", "after"), edit_defaults => empty;
  "@T@/emptybefore" create => "true", edit_line => ins("$(s)", "literal", "before");
  "@T@/after" create => "true", edit_line => two("$(s)", "literal", "after");
  "@T@/before" create => "true", edit_line => two("$(s)", "literal", "before");
  "@T@/pb" create => "true", edit_line => two("$(s)", "preserve_block", "before");
  "@T@/pal" create => "true", edit_line => two("$(s)", "preserve_all_lines", "before");
  "@T@/regafter" create => "true", edit_line => reg("$(s)", "after");
  "@T@/regbefore" create => "true", edit_line => reg("$(s)", "before");
  "@T@/loc" create => "true", edit_line => atloc("$(s)");
}
"""


def test_insert_placement(tmp_path: Path) -> None:
    _, files = both(tmp_path, INSERT_POLICY, lambda t: None)
    assert files["empty"][1] == "a\nb\na\nc\nb\n"  # an empty file keeps repeats
    assert files["emptybefore"][1] == "c\nb\na\nb\n"
    assert files["regbefore"][1].startswith("a\nb\na\nc\nb\nx\n")
    assert files["regafter"][1] == "x\n[s]\ny\na\nb\nc\n[t]\nz\n"


WHITESPACE_POLICY = """
body common control { bundlesequence => { "t" }; }
bundle edit_line w(f, i, p) { insert_lines: "$(f)"; "$(i)" whitespace_policy => { "$(p)" }; }
bundle edit_line w2(f, i, p, q) {
insert_lines: "$(f)"; "$(i)" whitespace_policy => { "$(p)", "$(q)" };
}
bundle agent t {
files:
  "@T@/e1" create => "true", edit_line => w("a b", "a  b", "ignore_embedded");
  "@T@/e2" create => "true", edit_line => w("a b", "a b  ", "ignore_trailing");
  "@T@/e3" create => "true", edit_line => w("  a b", "a b", "ignore_leading");
  "@T@/e4" create => "true", edit_line => w2("a b", "a  b ", "ignore_embedded", "ignore_trailing");
  "@T@/e5" create => "true", edit_line => w(" a b ", "  a b  ", "ignore_embedded");
  "@T@/e6" create => "true", edit_line => w("xzy", "x.y", "ignore_leading");
}
"""


def test_whitespace_policy(tmp_path: Path) -> None:
    _, files = both(tmp_path, WHITESPACE_POLICY, lambda t: None)
    assert files["e1"][1] == "a b\n"
    assert files["e2"][1] == "a b\na b  \n"  # the promised line's own trailing blanks count
    assert files["e3"][1] == "  a b\n"


TEMPLATE_POLICY = """
body common control { bundlesequence => { "t" }; }
bundle edit_line e {
insert_lines: "A"; "C"; "C"; "A" insert_type => "preserve_block"; "B";
  "A" insert_type => "preserve_all_lines"; "B" insert_type => "preserve_all_lines";
}
bundle agent t {
files:
  "@T@/o" create => "true", edit_template => "@T@/tmpl.txt";
  "@T@/o2" create => "true", edit_line => e;
}
"""


def test_template_keeps_repeated_lines(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "tmpl.txt").write_text("A\nC\nC\n\nC\n\n[%CFEngine BEGIN %]\nX\nX\n"
                                    "[%CFEngine END %]\n[%CFEngine BEGIN %]\nX\nX\n"
                                    "[%CFEngine END %]\nA\n")

    _, files = both(tmp_path, TEMPLATE_POLICY, setup)
    assert files["o"][1] == "A\nC\nC\n\nC\n\nX\nX\nX\nX\nA\n"
    assert files["o2"][1] == "A\nC\nB\nA\nB\n"


CLASSES_POLICY = """
body common control { bundlesequence => { "t" }; }
body location l { select_line_matching => "nope"; }
body edit_field f { field_separator => ":"; select_field => "2"; field_value => "k"; extend_fields => "true"; }
body replace_with v(x) { replace_value => "$(x)"; }
body classes c(p) {
  promise_kept => { "$(p)_kept" }; promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
bundle edit_line e {
insert_lines: "x" classes => c("ins"); "y"; "q
r" classes => c("insm");
delete_lines: "y" classes => c("del"); "nomatch" classes => c("delnm");
replace_patterns: "x" replace_with => v("z"), classes => c("rep");
field_edits: "r" edit_field => f, classes => c("fld");
insert_lines: "x" classes => c("insbad"), location => l;
}
bundle agent t {
files:
  "@T@/c" create => "true", edit_line => e;
reports:
  "defined: $(c)" if => "$(c)";
vars:
  "names" slist => { "ins", "insm", "del", "delnm", "rep", "fld", "insbad" };
  "c" slist => maplist("$(this)_kept", names);
  "r" slist => maplist("$(this)_repaired", names);
  "f" slist => maplist("$(this)_failed", names);
reports:
  "defined: $(r)" if => "$(r)";
  "defined: $(f)" if => "$(f)";
}
"""


def test_edit_promise_classes(tmp_path: Path) -> None:
    lines, _ = both(tmp_path, CLASSES_POLICY, lambda t: None)
    defined = sorted(ln.split("defined: ")[1] for ln in lines if "defined: " in ln)
    assert defined == ["del_kept", "delnm_kept", "fld_failed", "ins_repaired",
                       "insbad_failed", "insm_repaired", "rep_repaired"]


FILE_BLOCK_POLICY = """
body common control { bundlesequence => { "t" }; }
body location before_last(x) { before_after => "before"; first_last => "last";
  select_line_matching => "$(x)"; }
bundle edit_line block(f) { insert_lines: "$(f)" insert_type => "file_preserve_block",
  location => before_last("\\s+<b>"); }
bundle agent t { files: "@T@/doc" edit_line => block("@T@/block"); }
"""


def test_a_file_block_with_blank_lines_goes_in_whole_before_its_locator(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "doc").write_text("<a>\n  <b>\n  </b>\n  <b>\n  </b>\n</a>\n")
        (t / "block").write_text("<c>\n\n  <d/>\n\n</c>\n")

    _, files = both(tmp_path, FILE_BLOCK_POLICY, setup)
    assert files["doc"][1] == "<a>\n  <b>\n  </b>\n<c>\n\n  <d/>\n\n</c>\n  <b>\n  </b>\n</a>\n"
