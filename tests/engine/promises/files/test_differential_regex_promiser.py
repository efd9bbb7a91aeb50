"""Files promisers that are patterns, against cf-agent 3.21: one promise per path
the pattern stands for (this.promiser the path, match.N its groups), classes for
the pattern itself with the worst outcome, a pattern that matches nothing made
literally under create, and what does not count as a pattern (``x(.)``)."""

from __future__ import annotations

from pathlib import Path

from engine.eval.file_regex import looks_like_regex
from tests.differential import both

POLICY = """
body common control { bundlesequence => { "t" }; }
body classes c(n) { promise_repaired => { "$(this.promiser)_$(n)_rep" };
  promise_kept => { "$(this.promiser)_$(n)_kept" }; repair_failed => { "$(this.promiser)_$(n)_fail" }; }
body classes m { promise_kept => { "m_$(match.1)_$(match.2)" }; }
body perms p(m) { mode => "$(m)"; rxdirs => "false"; }
body copy_from cp(s) { source => "$(s)"; }
body edit_defaults nb { edit_backup => "false"; }
bundle edit_line ins(x) { insert_lines: "$(x)"; }
bundle agent t {
files:
  "@T@/d[12]/f.*" edit_line => ins("in $(this.promiser)"), edit_defaults => nb, classes => c("1");
  "@T@/d[13]/f.*" edit_line => ins("hello"), edit_defaults => nb, classes => c("2");
  "@T@/x(.)" perms => p("600"), classes => c("3");
  "@T@/nomatch.*" create => "true", classes => c("4");
  "@T@/none.*" perms => p("644"), classes => c("5");
  "@T@/(d|e)(\\d)" perms => p("755"), classes => m;
  "@T@/nodir.*/x" create => "true", classes => c("6");
  "@T@/lit.*" pathtype => "literal", create => "true";
  "@T@/g_u+s" perms => p("600");
  "@T@/cp.*" copy_from => cp("@T@/xa");
reports:
  "class: $(short)";
vars:
  "cl" slist => sort(classesmatching(".*_(rep|kept|fail)|m_.*"), "lex");
  "short" slist => maplist(regex_replace("$(this)", "^.*_T_", "T_", ""), cl);
}
"""


def _setup(t: Path) -> None:
    for d in ("d1", "d2", "d3", "e1"):
        (t / d).mkdir()
        (t / d).chmod(0o755)
    (t / "d1" / "fa").write_text("in <T>/d1/fa\nhello\n")
    (t / "d2" / "fb").write_text("other\n")
    (t / "d3" / "fc").mkdir()
    (t / "xa").write_text("")
    (t / "xa").chmod(0o644)
    for name in ("g_us", "g_u+s", "cpx"):
        (t / name).write_text("")
        (t / name).chmod(0o644)


def test_regex_promisers(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        _setup(t)
        (t / "d1" / "fa").write_text(f"in {t}/d1/fa\nhello\n")

    lines, files = both(tmp_path, POLICY, setup, compare_tree=False)  # contents name T
    assert "R: class: T_d_12__f___1_rep" in lines and "R: class: T_d2_fb_1_rep" in lines
    assert "R: class: T_d_13__f___2_fail" in lines and "R: class: T_d1_fa_2_kept" in lines
    assert files["d2/fb"][1].startswith("other\nin ")
    assert files["xa"][0] == "0644"  # "x(.)" is no pattern: nothing by that name
    assert "nomatch.*" in files and "nodir.*/x" in files and "lit.*" in files
    assert "none.*" not in files and "cp.*" in files  # a copy's promiser is literal
    assert files["g_us"][0] == files["g_u+s"][0] == "0600"  # the pattern's own text matches
    assert "R: class: m_d_1" in lines and "R: class: m_e_1" in lines
    assert "   error: Errors encountered when actuating files promise '<T>/d[13]/f.*'" in lines


def test_what_looks_like_a_pattern() -> None:
    for text in ("a.*", "[ab]c", "(a|b)", "x+", "a\\.*"):
        assert looks_like_regex(text), text
    for text in ("x(.)", "a.b", "a?", "*a", "(a", "a]", "a|b", "a\\", "[[a]]"):
        assert not looks_like_regex(text), text
