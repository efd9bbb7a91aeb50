"""Local copies as cf-agent 3.21 makes them: links copied as links (``link_type``,
``copylink_patterns``, ``linkcopy_patterns``), holes kept, ``files_single_copy``, and
backups kept in a repository (``repository``, ``default_repository``) or rotated
(``edit_backup => "rotate"``)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.engine.promises.files.sequence import run_sequence, write

LINKS = """
body common control { bundlesequence => { "t" }; }
body copy_from cp(f) { source => "$(f)"; }
body copy_from typed(f, t) { source => "$(f)"; link_type => "$(t)"; }
body copy_from follow(f) { source => "$(f)"; copylink_patterns => { ".*" }; }
body copy_from linkto(f) { source => "$(f)"; linkcopy_patterns => { "de.*" }; }
body depth_search inf { depth => "inf"; }
bundle agent t {
files:
  "@T@/b" copy_from => cp("@T@/a"), depth_search => inf;
  "@T@/one" copy_from => cp("@T@/a/rel");
  "@T@/abs" copy_from => typed("@T@/a", "absolute"), depth_search => inf;
  "@T@/rel" copy_from => typed("@T@/a", "relative"), depth_search => inf;
  "@T@/e" copy_from => follow("@T@/a"), depth_search => inf;
  "@T@/lc" copy_from => linkto("@T@/a"), depth_search => inf;
}
"""


def _links_setup(t: Path) -> None:
    write(t, {"a/dest": "D\n", "a/sd/f": "s\n"})
    (t / "a" / "rel").symlink_to("dest")
    (t / "a" / "dot").symlink_to("./dest")
    (t / "a" / "abs").symlink_to(t / "a" / "dest")
    (t / "a" / "dlink").symlink_to("sd")
    (t / "a" / "dangle").symlink_to("nowhere")


def test_links_in_a_copy(tmp_path: Path) -> None:
    r = run_sequence(tmp_path, LINKS, [_links_setup, (), ()])
    assert "b/rel -> dest" in r.tree and "b/dangle -> nowhere" in r.tree
    assert "one -> dest" in r.tree and "abs/dot -> <T>/a/dest" in r.tree
    assert "e/rel 0600 b'D\\n'" in r.tree and "lc/dest -> <T>/a/dest" in r.tree
    assert "   error: Copy from 'localhost:<T>/a/nowhere' failed" in r.lines


SINGLE = """
body common control { bundlesequence => { "t" }; }
body agent control { files_single_copy => { ".*/t[0-9]" }; }
body copy_from cp(f) { source => "$(f)"; compare => "digest"; }
bundle agent t {
vars:
  "src" slist => { "one", "two" };
files:
  "@T@/t1" copy_from => cp("@T@/$(src)");
  "@T@/t2" copy_from => cp("@T@/one");
  "@T@/t2" copy_from => cp("@T@/two"), handle => "again";
  "@T@/u" copy_from => cp("@T@/$(src)");
}
"""


def test_files_single_copy(tmp_path: Path) -> None:
    r = run_sequence(tmp_path, SINGLE, [
        lambda t: write(t, {"one": "one\n", "two": "two\n", "t2": "one\n"}), (), ()])
    assert "t1 0600 b'one\\n'" in r.tree and "t2 0644 b'one\\n'" in r.tree
    assert "u 0600 b'two\\n'" in r.tree  # not named by the list: copied each time


SPARSE = """
body common control { bundlesequence => { "t" }; }
body copy_from cp(f) { source => "$(f)"; compare => "digest"; }
bundle agent t {
files:
  "@T@/copy" copy_from => cp("@T@/sparse");
}
"""


def _sparse(t: Path) -> None:
    with open(t / "sparse", "wb") as f:
        f.write(b"head")
        f.seek(1 << 20)
        f.write(b"tail")
        f.truncate(2 << 20)


def test_a_local_copy_keeps_holes(tmp_path: Path) -> None:
    r = run_sequence(tmp_path, SPARSE, [_sparse, ()])
    copy = tmp_path / "vigil" / "T" / "copy"
    assert os.lstat(copy).st_size == 2 << 20
    assert any(ln.startswith("copy 0600 (holes)") for ln in r.tree)


BACKUPS = """
body common control { bundlesequence => { "t" }; }
body agent control { default_repository => "@T@/repo/sub"; }
body copy_from cp(f, b) { source => "$(f)"; compare => "digest"; copy_backup => "$(b)"; }
body edit_defaults eb(b) { edit_backup => "$(b)"; }
body edit_defaults rot(n) { edit_backup => "rotate"; rotate => "$(n)"; }
body edit_defaults rot1 { edit_backup => "rotate"; }
bundle edit_line add(x) { insert_lines: "$(x)"; }
bundle agent t {
files:
  "@T@/d/c1" copy_from => cp("@T@/src", "true");
  "@T@/d/c2" copy_from => cp("@T@/src", "timestamp");
  "@T@/d/c3" copy_from => cp("@T@/src", "false");
  "@T@/d/c4" copy_from => cp("@T@/src", "true"), repository => "@T@/own";
  "@T@/d/e1" edit_line => add("x"), edit_defaults => eb("true");
  "@T@/d/e2" edit_line => add("x"), edit_defaults => eb("timestamp");
  "@T@/r/f" edit_line => add("$(sys.date)"), edit_defaults => rot("2");
  "@T@/r/g" edit_line => add("$(sys.date)"), edit_defaults => rot1;
}
"""


def _backups(t: Path) -> None:
    write(t, {"src": "new\n", **{f"d/{n}": "old\n" for n in ("c1", "c2", "c3", "c4", "e1", "e2")},
              "r/f": "0\n", "r/g": "0\n"})


def _change_rotated(t: Path) -> None:
    for n in ("f", "g"):
        with open(t / "r" / n, "w") as f:
            f.write("changed\n")


def test_backups_in_a_repository_and_rotated(tmp_path: Path) -> None:
    r = run_sequence(tmp_path, BACKUPS, [_backups, (), _change_rotated, (), _change_rotated, ()])
    assert ("    info: Moved '<T>/d/c1.cfsaved' to repository location "
            "'<T>/repo/sub/<CT>_d_c1_cfsaved'") in r.lines
    assert "    info: Archived backup '<T>/d/c1.cfsaved'" in r.lines
    assert "own/<CT>_d_c4_cfsaved 0644 b'old\\n'" in r.tree
    assert "repo/sub/<CT>_d_e1_cf_before_edit 0644 b'old\\n'" in r.tree
    assert {"r/f.cf-before-edit.1", "r/f.cf-before-edit.2", "r/g.cf-before-edit.1"} <= {
        ln.split()[0] for ln in r.tree}
    assert not any(ln.startswith(("d/c1.cfsaved", "r/g.cf-before-edit.2")) for ln in r.tree)
