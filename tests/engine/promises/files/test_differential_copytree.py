"""Recursive copy_from against cf-agent 3.21: obstructions where a copied directory
goes (a link or a file, with and without move_obstructions) and preserve giving a
copied subdirectory the source directory's mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential import both

TREE_POLICY = """
body common control { bundlesequence => { "t" }; }
body copy_from cp(from) { source => "$(from)"; purge => "true"; preserve => "true"; type_check => "true"; }
body depth_search recurse { depth => "inf"; }
bundle agent t {
files:
  "@T@/linked/" copy_from => cp("@T@/src"), depth_search => recurse, move_obstructions => "@M@";
  "@T@/file/" copy_from => cp("@T@/src"), depth_search => recurse, move_obstructions => "@M@";
  "@T@/inner/" copy_from => cp("@T@/src"), depth_search => recurse, move_obstructions => "@M@";
  "@T@/fresh/" copy_from => cp("@T@/src"), depth_search => recurse, move_obstructions => "@M@";
}
"""


def _setup(t: Path) -> None:
    (t / "src" / "sub").mkdir(parents=True)
    (t / "src" / "sub" / "foo").write_text("foo\n")
    (t / "src" / "sub").chmod(0o755)
    (t / "real").mkdir()
    (t / "linked").symlink_to("real")
    (t / "file").write_text("in the way\n")
    (t / "inner").mkdir()
    (t / "inner" / "sub").write_text("in the way\n")
    (t / "inner" / "sub").chmod(0o600)


@pytest.mark.parametrize("move", ["true", "false"])
def test_tree_copy_obstructions(tmp_path: Path, move: str) -> None:
    lines, files = both(tmp_path, TREE_POLICY.replace("@M@", move), _setup)
    if move == "true":
        assert "    info: Backed up '<T>/linked'" in lines
        assert files["linked"][1] == "dir" and files["linked/sub/foo"][1] == "foo\n"
        assert files["file.cf-moved"][1] == "in the way\n" and files["file/sub"][1] == "dir"
        assert "inner/sub.cf-moved" not in files  # purged: the source has no such entry
    else:
        assert ("   error: Path '<T>/linked' is a symlink. Unable to move it aside without "
                "move_obstructions is set") in lines
        assert files["inner/sub"] == ("0755", "in the way\n")
    assert files["fresh/sub"][0] == "0755"
