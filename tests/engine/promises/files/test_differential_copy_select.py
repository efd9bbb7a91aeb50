"""A recursive copy_from against cf-agent 3.21: what depth_search's exclude_dirs and
include_dirs and the promise's file_select leave out of the copy.

cf-agent judges them while it reads the source: a directory is left out (neither made
nor entered) when an exclude_dirs pattern names it, or no include_dirs pattern does, by
its name or its whole source path; a file is copied only when file_select selects the
source file. What is left out still counts as the source's for purge. A repository
checkout copied without its version-control directories, and only the policy files of
it, is the case every update policy relies on.
"""

from __future__ import annotations

from pathlib import Path

from tests.differential import AGENTS, both, run_agent, tree

FILES = ("a.cf", "b.txt", "notes.md", ".git/HEAD", ".git/objects/x", ".svn/entries",
         "sub/c.cf", "sub/d.dat", "sub/deep/e.cf", "sub/.git/g", "other/f.cf")


def _source(t: Path) -> None:
    for rel in FILES:
        p = t / "src" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(rel + "\n")


def _setup(t: Path) -> None:
    _source(t)
    # destinations that hold something already: an excluded directory and stale files
    (t / "ex" / ".git").mkdir(parents=True)
    (t / "ex" / ".git" / "keep").write_text("mine\n")
    (t / "ex" / "stale.txt").write_text("stale\n")
    (t / "sel" / "sub").mkdir(parents=True)
    for rel in ("a.cf", "b.txt", "gone.txt", "sub/d.dat", "sub/gone.dat"):
        (t / "sel" / rel).write_text("old\n")


DIRS_POLICY = r"""
body common control { bundlesequence => { "t" }; }
body copy_from cp(from) { source => "$(from)"; purge => "true"; compare => "digest"; }
body depth_search vcs { depth => "inf"; exclude_dirs => { "\.git", "\.sv.*" }; }
body depth_search only_sub { depth => "inf"; include_dirs => { "sub", ".*/src/sub/deep" }; }
body depth_search by_path { depth => "inf"; exclude_dirs => { "@T@/src/sub", "sub/deep" }; }
body depth_search links { depth => "inf"; traverse_links => "true"; }
bundle agent t {
files:
  "@T@/ex/" copy_from => cp("@T@/src"), depth_search => vcs;
  "@T@/inc/" copy_from => cp("@T@/src"), depth_search => only_sub;
  "@T@/path/" copy_from => cp("@T@/src"), depth_search => by_path;
  "@T@/links/" copy_from => cp("@T@/src"), depth_search => links;
}
"""


def test_exclude_and_include_dirs_leave_source_directories_out(tmp_path: Path) -> None:
    lines, files = both(tmp_path, DIRS_POLICY, _setup)
    ex = {k for k in files if k.startswith("ex/")}
    # by name, at every level; the excluded directory already there is not purged
    assert ex == {"ex/.git", "ex/.git/keep", "ex/a.cf", "ex/b.txt", "ex/notes.md",
                  "ex/other", "ex/other/f.cf", "ex/sub", "ex/sub/c.cf", "ex/sub/d.dat",
                  "ex/sub/deep", "ex/sub/deep/e.cf"}
    assert "    info: Purged '<T>/ex/stale.txt' copy dest directory" in lines
    # include_dirs: each directory entered must be named, by name or by source path
    assert {k for k in files if k.startswith("inc/")} == {
        "inc/a.cf", "inc/b.txt", "inc/notes.md", "inc/sub", "inc/sub/c.cf", "inc/sub/d.dat",
        "inc/sub/deep", "inc/sub/deep/e.cf"}
    # a whole source path names a directory; a partial path names nothing
    assert "path/sub" not in files and "path/other/f.cf" in files and "path/.git/HEAD" in files
    # traverse_links: cf-agent prunes every subdirectory of a copy
    assert {k for k in files if k.startswith("links/")} == {
        "links/a.cf", "links/b.txt", "links/notes.md"}


SELECT_POLICY = r"""
body common control { bundlesequence => { "t" }; }
body copy_from cp(from) { source => "$(from)"; purge => "true"; compare => "digest"; }
body copy_from plain(from) { source => "$(from)"; }
body depth_search vcs { depth => "inf"; exclude_dirs => { "\.git", "\.svn" }; }
body file_select policy_files { leaf_name => { ".*\.cf", ".*\.dat" }; file_result => "leaf_name"; }
body file_select under_sub { path_name => { "@T@/src/sub/.*" }; file_result => "path_name"; }
body file_select small_or_md { leaf_name => { ".*\.md" }; search_size => irange("0", "6");
  file_result => "leaf_name|size"; }
bundle agent t {
files:
  "@T@/sel/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => policy_files;
  "@T@/path/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => under_sub;
  "@T@/expr/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => small_or_md;
  "@T@/one_txt" copy_from => plain("@T@/src/b.txt"), file_select => policy_files;
  "@T@/one_cf" copy_from => plain("@T@/src/a.cf"), file_select => policy_files;
}
"""


def test_file_select_judges_the_source_files(tmp_path: Path) -> None:
    lines, files = both(tmp_path, SELECT_POLICY, _setup)
    sel = {k: v[1] for k, v in files.items() if k.startswith("sel/")}
    assert sel["sel/a.cf"] == "a.cf\n" and sel["sel/sub/d.dat"] == "sub/d.dat\n"
    assert sel["sel/sub/deep/e.cf"] == "sub/deep/e.cf\n"
    # not selected, yet the source has it: neither copied nor purged
    assert sel["sel/b.txt"] == "old\n"
    # the destination's own files are purged, and so is the backup of a.cf
    assert "sel/gone.txt" not in sel and "sel/sub/gone.dat" not in sel
    assert "sel/a.cf.cfsaved" not in sel and "sel/notes.md" not in sel
    # directories are made whatever file_select says; path_name is the source's path
    assert files["path/other"][1] == "dir" and "path/other/f.cf" not in files
    assert files["path/sub/c.cf"][1] == "sub/c.cf\n"
    assert "path/a.cf" not in files
    # file_result combines the criteria (a short name, or a .md file)
    assert files["expr/a.cf"][1] == "a.cf\n" and "expr/notes.md" in files
    assert "expr/sub/c.cf" not in files
    # a single copy is judged by its source too
    assert "one_txt" not in files and files["one_cf"][1] == "a.cf\n"


PERMS_POLICY = r"""
body common control { bundlesequence => { "t" }; }
body depth_search by_path { depth => "inf"; exclude_dirs => { "@T@/src/sub" }; }
body perms m { mode => "0640"; rxdirs => "false"; }
bundle agent t {
files:
  "@T@/src/" perms => m, depth_search => by_path, file_select => plain_files;
}
body file_select plain_files { file_types => { "plain" }; file_result => "file_types"; }
"""


def test_exclude_dirs_by_whole_path_in_a_depth_search(tmp_path: Path) -> None:
    _, files = both(tmp_path, PERMS_POLICY, _source)
    assert files["src/a.cf"][0] == "0640" and files["src/other/f.cf"][0] == "0640"
    assert files["src/sub/c.cf"][0] != "0640"


RESULT_POLICY = r"""
body common control { bundlesequence => { "t" }; }
body copy_from cp(from) { source => "$(from)"; }
body depth_search vcs { depth => "inf"; exclude_dirs => { "\.git", "\.svn" }; }
body file_select cf_or(what) { leaf_name => { ".*\.cf" }; file_result => "leaf_name|$(what)"; }
body file_select dat_or_leaf { path_name => { "/.*\.dat" }; file_result => "path_name|leaf_name"; }
body file_select bsd { search_bsdflags => { "nodump" }; file_result => "!bsdflags"; }
bundle agent t {
vars:
  "left_out" slist => { "size", "owner", "group", "mode", "file_types", "path_name", "mtime",
                        "issymlinkto" };
files:
  "@T@/r_$(left_out)/" copy_from => cp("@T@/src"), depth_search => vcs,
    file_select => cf_or("$(left_out)");
  "@T@/r_leaf/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => dat_or_leaf;
  "@T@/r_bsd/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => bsd;
}
"""


def test_file_result_names_and_criteria_the_body_leaves_out(tmp_path: Path) -> None:
    """file_result speaks of size, mode, owner and group; a criterion the body leaves
    out is met for leaf_name, owner and group, and not for the others."""
    _, files = both(tmp_path, RESULT_POLICY, _source)
    copied = {k.split("/")[0]: set() for k in files}
    for k, v in files.items():
        if v[1] != "dir" and "/" in k:
            copied[k.split("/")[0]].add(k.split("/", 1)[1])
    everything = {f for f in FILES if not f.startswith((".git", ".svn", "sub/.git"))}
    policy = {f for f in everything if f.endswith(".cf")}
    assert copied["r_owner"] == copied["r_group"] == copied["r_leaf"] == everything
    for left_out in ("size", "mode", "file_types", "path_name", "mtime", "issymlinkto"):
        assert copied[f"r_{left_out}"] == policy, left_out
    assert copied["r_bsd"] == everything  # Linux has no BSD flags: never met


def test_file_select_without_file_result_refuses_the_promise(tmp_path: Path) -> None:
    policy = r"""
body common control { bundlesequence => { "t" }; }
body copy_from cp(from) { source => "$(from)"; }
body depth_search all { depth => "inf"; }
body file_select no_result { leaf_name => { ".*\.cf" }; }
bundle agent t {
files:
  "@T@/none/" copy_from => cp("@T@/src"), depth_search => all, file_select => no_result;
}
"""
    lines, files = _refused(tmp_path, policy)
    assert "none" not in files
    assert ("   error: File select constraint body promised no result (check body "
            "definition)") in lines


def _refused(tmp_path: Path, policy: str) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """Both agents' distinct lines and trees (cf-agent says the refusal again in each of
    its passes; the lines naming the promise's place differ only in the policy's name)."""
    seen: dict[str, tuple[list[str], dict[str, tuple[str, str]]]] = {}
    for which in AGENTS:
        base = tmp_path / which
        base.mkdir()
        target = base / "T"
        target.mkdir()
        _source(target)
        lines = run_agent(which, policy, base, target)
        seen[which] = (sorted(set(ln for ln in lines if "near line" not in ln)), tree(target))
    if "cf" in seen:
        assert seen["vigil"] == seen["cf"]
    return seen["vigil"]


EXEC_POLICY = r"""
body common control { bundlesequence => { "t" }; }
body copy_from cp(from) { source => "$(from)"; }
body depth_search vcs { depth => "inf"; exclude_dirs => { "\.git", "\.svn" }; }
body file_select says_sub { exec_program => "/bin/grep -q sub $(this.promiser)";
  file_result => "exec_program"; }
body file_select has_slash { exec_program => "/bin/cat ${this.promiser}"; exec_regex => ".*/.*";
  file_result => "exec_regex"; }
body file_select not_dest { exec_program => "/bin/echo $(this.promiser)";
  exec_regex => ".*/T/src/.*"; file_result => "!exec_regex"; }
bundle agent t {
files:
  "@T@/prog/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => says_sub;
  "@T@/regex/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => has_slash;
  "@T@/source/" copy_from => cp("@T@/src"), depth_search => vcs, file_select => not_dest;
}
"""


def test_exec_program_and_exec_regex_run_for_each_source_file(tmp_path: Path) -> None:
    """$(this.promiser) in file_select's command is each file judged (the source file of
    a copy); exec_program's own output is the agent's (not compared: where it lands among
    the log lines is the two programs' buffering)."""
    _, files = both(tmp_path, EXEC_POLICY, _source,
                    drop=lambda ln: not ln.lstrip().startswith(("info:", "error:", "warning:")))
    assert {k for k, v in files.items() if k.startswith("prog/") and v[1] != "dir"} == {
        "prog/sub/c.cf", "prog/sub/d.dat", "prog/sub/deep/e.cf"}
    assert "regex/a.cf" not in files and files["regex/other/f.cf"][1] == "other/f.cf\n"
    assert not [k for k, v in files.items() if k.startswith("source/") and v[1] != "dir"]


DEAD_LINKS_POLICY = r"""
body common control { bundlesequence => { "t" }; }
body depth_search dead { depth => "inf"; rmdeadlinks => "true"; }
body file_select plain { file_types => { "plain" }; file_result => "file_types"; }
body perms m { mode => "0644"; rxdirs => "false"; }
body copy_from cp(from) { source => "$(from)"; }
body action w { action_policy => "warn"; }
bundle agent t {
files:
  "@T@/all/" perms => m, depth_search => dead;
  "@T@/plain/" perms => m, depth_search => dead, file_select => plain;
  "@T@/copy/" copy_from => cp("@T@/src"), depth_search => dead;
  "@T@/warn/" perms => m, depth_search => dead, action => w;
}
"""


def _dead_links(t: Path) -> None:
    for d in ("all", "plain", "copy", "warn"):
        (t / d / "sub").mkdir(parents=True)
        (t / d / "sub").chmod(0o755)
        (t / d / "dead").symlink_to("/nonexistent/target")
        (t / d / "sub" / "dead2").symlink_to("../not-here")
        (t / d / "live").symlink_to("sub")
    (t / "src").mkdir()
    (t / "src" / "f").write_text("f\n")


def test_rmdeadlinks_in_a_search_for_attributes(tmp_path: Path) -> None:
    """Dead links go while cf-agent searches a tree for attributes, whatever file_select
    says; a copy alone does not search the destination, so they stay there."""
    lines, files = both(tmp_path, DEAD_LINKS_POLICY, _dead_links,
                        drop=lambda ln: "Warnings encountered" in ln)
    for d in ("all", "plain"):
        assert f"{d}/dead" not in files and f"{d}/sub/dead2" not in files
        assert f"    info: Removed dead link '<T>/{d}/sub/dead2'" in lines
        assert files[f"{d}/live"][1] == "dir"  # a live link stays
    assert "copy/dead" in files and files["copy/f"][1] == "f\n"
    assert "warn/dead" in files
    assert (" warning: Should remove dead link '<T>/warn/dead', but only warning promised"
            in lines)
