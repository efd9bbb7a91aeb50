"""A recursive copy_from from a server (cf-serverd, and vigil's serverd speaking CFEngine's
protocol), by cf-agent 3.21 and by vigil's agent: depth_search's exclude_dirs and
include_dirs and the promise's file_select leave the same entries out of the copy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.engine.cfnet.conftest import cf_env, cf_workdir, needs_cfengine, vigil, vigil_workdir

pytestmark = needs_cfengine

FILES = ("a.cf", "b.txt", ".git/HEAD", ".git/objects/x", ".svn/entries", "sub/c.cf",
         "sub/d.dat", "sub/deep/e.cf", "sub/.git/g", "other/f.cf")


def _policy(tmp: Path, port: int, share: Path, dest: Path) -> Path:
    p = tmp / f"{dest.name}.cf"
    p.write_text(rf"""body common control {{ bundlesequence => {{ "main" }}; }}
bundle agent main {{
  files:
    "{dest}/vcs/" copy_from => remote("{share}"), depth_search => vcs;
    "{dest}/inc/" copy_from => remote("{share}"), depth_search => only_sub;
    "{dest}/sel/" copy_from => remote("{share}"), depth_search => vcs, file_select => cf_files;
    "{dest}/bypath/" copy_from => remote("{share}"), depth_search => vcs,
      file_select => under_sub;
    "{dest}/one_txt" copy_from => remote("{share}/b.txt"), file_select => cf_files;
    "{dest}/one_cf" copy_from => remote("{share}/a.cf"), file_select => cf_files;
}}
body copy_from remote(source) {{
  servers => {{ "127.0.0.1" }};
  portnumber => "{port}";
  source => "$(source)";
  compare => "digest";
  purge => "true";
  trustkey => "true";
}}
body depth_search vcs {{ depth => "inf"; exclude_dirs => {{ "\.git", "\.svn" }}; }}
body depth_search only_sub {{ depth => "inf"; include_dirs => {{ "sub", "{share}/sub/deep" }}; }}
body file_select cf_files {{ leaf_name => {{ ".*\.cf" }}; file_result => "leaf_name"; }}
body file_select under_sub {{ path_name => {{ "{share}/sub/.*" }}; file_result => "path_name"; }}
""")
    return p


def _dest(root: Path) -> Path:
    """A destination where an excluded directory and a file not selected are already."""
    (root / "vcs" / ".git").mkdir(parents=True)
    (root / "vcs" / ".git" / "mine").write_text("kept\n")
    (root / "sel").mkdir()
    (root / "sel" / "b.txt").write_text("kept\n")
    return root


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("server", ["cf-serverd", "vigil-serverd"])
def test_remote_tree_copy_leaves_out_what_the_promise_says(
        server: str, cf_serverd, vigil_serverd, tmp_path: Path) -> None:
    share = tmp_path / "share"
    for rel in FILES:
        (share / rel).parent.mkdir(parents=True, exist_ok=True)
        (share / rel).write_text(rel + "\n")
    srv = (cf_serverd([str(share)]) if server == "cf-serverd"
           else vigil_serverd("hub", [str(share)]))
    theirs = _dest(tmp_path / "cf_dest")
    r = subprocess.run(["cf-agent", "-KI", "-f", str(_policy(tmp_path, srv.port, share, theirs))],
                       env=cf_env(cf_workdir(tmp_path / "cf")), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    ours = _dest(tmp_path / "vigil_dest")
    v = vigil(vigil_workdir(tmp_path / "agent"), "agent", "-KI", "-f",
              str(_policy(tmp_path, srv.port, share, ours)))
    assert v.returncode == 0, v.stdout + v.stderr
    assert _tree(ours) == _tree(theirs), v.stdout + v.stderr + "\n--- cf-agent\n" + r.stdout
    got = _tree(ours)
    assert got["vcs/.git/mine"] == "kept\n" and "vcs/.svn" not in got
    assert "vcs/sub/.git" not in got and got["vcs/sub/deep/e.cf"] == "sub/deep/e.cf\n"
    assert "inc/other" not in got and got["inc/sub/deep/e.cf"] == "sub/deep/e.cf\n"
    assert got["sel/b.txt"] == "kept\n" and got["sel/other/f.cf"] == "other/f.cf\n"
    assert "sel/sub/d.dat" not in got and got["bypath/sub/d.dat"] == "sub/d.dat\n"
    assert "bypath/a.cf" not in got and got["bypath/other"] == "dir"
    assert "one_txt" not in got and got["one_cf"] == "a.cf\n"
