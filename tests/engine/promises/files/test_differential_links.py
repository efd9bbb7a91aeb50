"""link_from, rename bodies and transformer against cf-agent 3.21, in a real run,
a second (kept) run and a dry run."""

from __future__ import annotations

from pathlib import Path

from tests.differential import both

LINKS_POLICY = """
body common control { bundlesequence => { "t" }; }
body action warn { action_policy => "warn"; }
body link_from l(s, t) { source => "$(s)"; link_type => "$(t)"; }
body link_from w(s, t) { source => "$(s)"; link_type => "symlink"; when_no_source => "$(t)"; }
bundle agent t {
files:
  "@T@/rel" create => "true", move_obstructions => "true", link_from => l("@T@/src", "relative");
  "@T@/abs" create => "true", move_obstructions => "true", link_from => l("@T@/src", "absolute");
  "@T@/sym" link_from => l("@T@/src", "symlink");
  "@T@/hard" link_from => l("@T@/src", "hardlink");
  "@T@/obst" link_from => l("@T@/src", "symlink");
  "@T@/obst2" move_obstructions => "true", link_from => l("@T@/src", "symlink");
  "@T@/wrong" link_from => l("@T@/src", "symlink");
  "@T@/wrong2" move_obstructions => "true", link_from => l("@T@/src", "symlink");
  "@T@/missing" link_from => l("@T@/nosuch", "symlink");
  "@T@/f1" link_from => w("@T@/nosuch", "force");
  "@T@/f2" link_from => w("@T@/nosuch", "delete");
  "@T@/f4" link_from => w("src", "nop");
  "@T@/f5" link_from => l("@T@/src", "symlink"), action => warn;
  "@T@/d/sub/deep" link_from => l("@T@/src", "relative");
}
"""


def _links_setup(t: Path) -> None:
    (t / "src").write_text("x\n")
    (t / "obst").write_text("o\n")
    (t / "obst2").write_text("o\n")
    (t / "wrong").symlink_to("/etc/passwd")
    (t / "wrong2").symlink_to("/etc/passwd")
    (t / "d").mkdir()
    (t / "f2").symlink_to(t / "gone")


def test_link_from(tmp_path: Path) -> None:
    lines, files = both(tmp_path, LINKS_POLICY, _links_setup)
    assert "    info: Linked files '<T>/d/sub/deep' -> './../../src'" in lines
    assert "    info: Moved obstructing object '<T>/rel' to '<T>/rel.cfsaved'" in lines
    assert files["obst"][1] == "o\n" and "f2" not in files


RENAME_POLICY = """
body common control { bundlesequence => { "t" }; }
body rename newname(n) { newname => "$(n)"; }
body rename disable { disable => "true"; disable_mode => "0400"; }
body rename rot(n) { rotate => "$(n)"; }
bundle agent t {
files:
  "@T@/a" rename => newname("b");
  "@T@/c" rename => disable;
  "@T@/r" rename => rot("2");
  "@T@/g" transformer => "/bin/cp @T@/g @T@/g2";
  "@T@/n" rename => newname("@T@/n2");
  "@T@/missing" rename => newname("x");
  "@T@/fail" transformer => "/bin/false";
}
"""


def _rename_setup(t: Path) -> None:
    for f in ("a", "c", "r", "g", "n", "fail"):
        (t / f).write_text(f + "\n")
    (t / "r.1").write_text("old\n")


def test_rename_and_transformer(tmp_path: Path) -> None:
    lines, files = both(tmp_path, RENAME_POLICY, _rename_setup)
    assert files["b"][1] == "a\n" and files["c.cfdisabled"] == ("0400", "c\n")
    assert files["r.2"][1] == "old\n" and files["r.1"][1] == "r\n" and files["g2"][1] == "g\n"
    assert "   error: Transformer '<T>/fail' => '/bin/false' returned error" in lines
