"""``changes`` bodies, the change log and the entries of a depth search as promises of
their own (``this.promiser`` per entry, classes, transformer), against cf-agent 3.21.

Each test runs a sequence of agent runs and changes to the target tree, in one workdir
per agent, and compares what was printed, what ``state/file_changes.log`` holds and
the tree left (:mod:`tests.engine.promises.files.sequence`)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.engine.promises.files.sequence import T0, Step, run_sequence
from tests.engine.promises.files.sequence import write as _write


def _sequence(tmp_path: Path, policy: str, steps: list[Step]) -> tuple[list[str], list[str]]:
    r = run_sequence(tmp_path, policy, steps)
    return r.lines, r.changes


SINGLE = """
body common control { bundlesequence => { "t" }; }
body changes up { hash => "sha256"; report_changes => "all"; update_hashes => "yes"; }
body changes keep { hash => "best"; report_changes => "all"; update_hashes => "no"; }
body changes stats { report_changes => "stats"; }
body classes k(p) { promise_kept => { "$(p)_kept" }; promise_repaired => { "$(p)_rep" };
  repair_failed => { "$(p)_nk" }; }
bundle agent t {
files:
  "@T@/up" changes => up, classes => k("up");
  "@T@/nosuch" changes => up, classes => k("nosuch");
  "@T@/new" changes => keep, create => "true", classes => k("new");
  "@T@/st" changes => stats, classes => k("st");
reports:
  "$(with)" with => join(",", sort(classesmatching("(up|nosuch|new|st)_.*"), "lex"));
}
"""


def test_changes_on_single_files(tmp_path: Path) -> None:
    def change(t: Path) -> None:
        with open(t / "up", "a") as f:
            f.write("more\n")
        with open(t / "new", "a") as f:
            f.write("more\n")
        (t / "st").chmod(0o604)
        for name in ("up", "new", "st"):
            os.utime(t / name, (T0 + 100, T0 + 100))

    lines, log = _sequence(tmp_path, SINGLE, [
        lambda t: _write(t, {"up": "a\n", "st": "s\n"}), ("-n",), (), (), change, (), (),
    ])
    assert "    info: Stored sha256 hash for '<T>/up' (SHA=87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7)" in lines
    assert "   error: Promised to monitor '<T>/nosuch' for changes, but file does not exist" in lines
    assert "   error: Hash for file '<T>/new' changed, but not updating the records" in lines
    assert "R: new_kept,new_nk,new_rep,nosuch_nk,st_kept,st_rep,up_kept,up_rep" in lines
    # the digest not updated is found changed at each look, in every run
    assert log.count("TIME,promise_p_cf_12,<T>/new,C,Content changed") == 4
    assert log.count("TIME,promise_p_cf_13,<T>/st,S,Permission: 100644 -> 100604") == 4


TREE = """
body common control { bundlesequence => { "t" }; }
body changes up { report_changes => "all"; update_hashes => "true"; }
body changes keep { report_changes => "content"; }
body depth_search inf { depth => "inf"; }
body file_select nox { leaf_name => { "x.*" }; file_result => "!leaf_name"; }
body classes k(p) { promise_kept => { "$(p)_kept" }; promise_repaired => { "$(p)_rep" };
  repair_failed => { "$(p)_nk" }; }
bundle agent t {
files:
  "@T@/a" depth_search => inf, changes => up, classes => k("a");
  "@T@/b" depth_search => inf, changes => keep, file_select => nox, classes => k("b");
reports:
  "$(with)" with => join(",", sort(classesmatching("[ab]_.*"), "lex"));
}
"""


def test_changes_in_a_depth_search(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        _write(t, {"a/f1": "1\n", "a/f2": "2\n", "a/f3": "3\n", "a/sub/s1": "s\n",
                   "b/f1": "1\n", "b/xf": "x\n", "b/sub/s1": "s\n"})
        (t / "a" / "lnk").symlink_to("f1")
        os.mkfifo(t / "a" / "fifo")
        for d in ("a", "a/sub", "b", "b/sub"):
            os.utime(t / d, (T0, T0))

    def change(t: Path) -> None:
        (t / "a" / "f2").unlink()
        (t / "b" / "f1").unlink()
        _write(t, {"a/f4": "4\n", "a/sub/s1": "changed\n", "b/xf": "y\n", "b/f5": "5\n"})
        for d in ("a", "a/sub", "b", "b/sub"):
            os.utime(t / d, (T0 + 100, T0 + 100))

    lines, log = _sequence(tmp_path, TREE, [setup, (), (), change, ("-n",), (), ()])
    assert "  notice: New file '<T>/a/sub' found" in lines
    assert "    info: Recorded directory listing for '<T>/a'" in lines
    # without update_hashes a listing cannot be recorded: the promise fails each time
    assert "    info: Failed to record directory listing for '<T>/b'" in lines
    assert "  notice: File '<T>/a/f2' no longer exists" in lines
    assert "TIME,promise_p_cf_11,<T>/a/f2,R,File removed" in log
    assert "TIME,promise_p_cf_11,<T>/a/sub/s1,C,Content changed" in log
    assert not any("<T>/b/xf" in ln for ln in log)


WARN = TREE.replace("changes => up,", "changes => up, action => w,").replace(
    "changes => keep,", "changes => keep, action => w,") + """
body action w { action_policy => "warn"; }
"""


def test_changes_only_warned_about(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        _write(t, {"a/f1": "1\n", "a/sub/s1": "s\n", "b/f1": "1\n"})

    lines, log = _sequence(tmp_path, WARN, [setup, (), ("-n",)])
    assert " warning: Should record change of hash for file '<T>/a/f1', but only warning promised" in lines
    assert " warning: Should record directory listing for '<T>/a', but only warning promised" in lines
    # a new file is logged even when nothing else may be recorded, as cf-agent does
    found = [f"TIME,promise_p_cf_1{n},<T>/{p},N,New file found"
             for n, p in ((1, "a/f1"), (1, "a/sub/s1"), (1, "a/sub"), (2, "b/f1"))]
    assert log == found + found


ENTRIES = """
body common control { bundlesequence => { "t" }; }
body depth_search inf { depth => "inf"; }
body file_select plain { file_types => { "plain" }; file_result => "file_types"; }
body file_select aonly { leaf_name => { "a.*" }; file_result => "leaf_name"; }
body perms m { mode => "640"; rxdirs => "false"; }
body delete tidy { dirlinks => "delete"; rmdirs => "true"; }
body classes k(p) { promise_kept => { "$(p)_$(this.promiser)_kept" };
  promise_repaired => { "$(p)_$(this.promiser)_rep" };
  repair_failed => { "$(p)_$(this.promiser)_nk" }; }
bundle agent t {
vars:
  "found" slist => maplist(regex_replace("$(this)", "^.*_T_", "", ""),
                           classesmatching("[pzd]__.*_T_.*"));
files:
  "@T@/p" depth_search => inf, perms => m, classes => k("p");
  "@T@/z" depth_search => inf, file_select => plain,
          transformer => "/bin/gzip $(this.promiser)", classes => k("z");
  "@T@/d" depth_search => inf, file_select => aonly, delete => tidy, classes => k("d");
reports:
  "$(with)" with => join(" ", sort("found", "lex"));
}
"""


def test_depth_search_entries_are_promises_of_their_own(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        _write(t, {"p/a": "", "p/s/b": "", "z/a": "", "z/s/b": "", "d/a": "", "d/b": "",
                   "d/s/a1": ""})
        (t / "p" / "a").chmod(0o644)
        (t / "p" / "s").chmod(0o755)

    lines, _ = _sequence(tmp_path, ENTRIES, [setup, (), ()])
    assert ("R: d_a_rep d_rep d_s_a1_rep p_a_rep p_rep p_s_b_rep p_s_rep z_a_rep z_rep "
            "z_s_b_rep") in lines
    assert "    info: gzip: <T>/z/a.gz already has .gz suffix -- unchanged" in lines
