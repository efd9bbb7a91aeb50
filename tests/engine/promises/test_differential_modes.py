"""Warn-only (``action_policy => "warn"``), dry run (``-n``) and partial outcomes,
side by side with cf-agent 3.21.

Each policy runs under ``vigil agent`` and, where installed, cf-agent, in fresh
workdirs with the same target tree; the printed lines (target path as ``<T>``) and
the resulting trees must be equal. Without cf-agent the vigil side is still
checked against the lines written here (recorded from cf-agent).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests import differential

Setup = Callable[[Path], None]


def both(tmp_path: Path, policy: str, setup: Setup, args: list[str]) -> tuple[list[str], dict]:
    """Run vigil (and cf-agent when installed) with ``args``; assert they agree."""
    return differential.both(tmp_path, policy, setup, args=tuple(args), policy_name="policy.cf",
                             mask_base=True)


FILES = """
body common control { bundlesequence => { "t" }; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
body delete tidy { dirlinks => "delete"; rmdirs => "true"; }
body action w { action_policy => "warn"; }
bundle agent t {
files:
  "@T@/sub/deep/new" create => "true";
  "@T@/newdir/x/." create => "true";
  "@T@/ex" perms => m("0644");
  "@T@/del" delete => tidy;
  "@T@/deld/." delete => tidy;
  "@T@/ex2" touch => "true";
  "@T@/pt" perms => m("0640"), touch => "true";
  "@T@/wfile" create => "true", action => w;
}
"""


def files_setup(t: Path) -> None:
    (t / "deld").mkdir()
    for name in ("ex", "del", "ex2", "pt"):
        (t / name).write_text("x\n")
    (t / "ex").chmod(0o600)


def test_files_dry_run_wording(tmp_path: Path) -> None:
    lines, files = both(tmp_path, FILES, files_setup, ["-n"])
    assert lines[:5] == [
        " warning: Should make directory '<T>/sub' for '<T>/sub/deep/new'",
        " warning: Should make directory '<T>/sub/deep' for '<T>/sub/deep/new'",
        " warning: Should create file '<T>/sub/deep/new', mode '0600'",
        " warning: Warnings encountered when actuating files promise '<T>/sub/deep/new'",
        " warning: Should create directory '<T>/newdir/x/.'",
    ]
    # a file is looked at twice, a directory once; the promise on 'deld/.' is named 'deld'
    assert lines.count(" warning: Should delete file '<T>/del'") == 2
    assert lines.count(" warning: Should delete directory '<T>/deld'") == 1
    assert " warning: Warnings encountered when actuating files promise '<T>/deld'" in lines
    # a promise that says warn keeps its words under -n
    assert (" warning: Should create file '<T>/wfile', mode '0600', but only warning promised"
            in lines)
    assert "sub" not in files and "wfile" not in files and files["ex"][0] == "0600"


def test_files_warn_and_fix(tmp_path: Path) -> None:
    warn_policy = FILES.replace('create => "true";', 'create => "true", action => w;')
    warn_policy = warn_policy.replace('m("0644");', 'm("0644"), action => w;')
    (tmp_path / "w").mkdir()
    lines, _ = both(tmp_path / "w", warn_policy, files_setup, [])
    assert lines[0] == (" warning: Should make directory '<T>/sub' for '<T>/sub/deep/new', "
                        "but only warning promised")
    (tmp_path / "f").mkdir()
    lines, files = both(tmp_path / "f", FILES, files_setup, [])
    # touch and perms on an existing file: checked before and after the rest
    assert [ln for ln in lines if "<T>/pt" in ln] == [
        "    info: Touched (updated time stamps) for path '<T>/pt'",
        "    info: Object '<T>/pt' had permissions 0644, changed it to 0640",
        "    info: Updated timestamps on '<T>/pt'",
        "    info: Touched (updated time stamps) for path '<T>/pt'",
        "    info: Updated timestamps on '<T>/pt'",
    ]
    assert files["newdir"][0] == "0700" and files["sub/deep/new"][0] == "0600"


EDITS = """
body common control { bundlesequence => { "t" }; }
body action w { action_policy => "warn"; }
body location start { before_after => "before"; first_last => "first"; }
body location afterx { select_line_matching => "x.*"; before_after => "after"; }
body location beforex { select_line_matching => "x.*"; before_after => "before"; }
body replace_with rw(v) { replace_value => "$(v)"; occurrences => "all"; }
body edit_field col(n, v) { field_separator => ":"; select_field => "$(n)"; value_separator => ","; field_value => "$(v)"; field_operation => "set"; }
bundle edit_line ed {
delete_lines: "del.*";
field_edits: "f:.*" edit_field => col("2", "NEW");
insert_lines:
  "atend";
  "atstart" location => start;
  "afterx" location => afterx;
  "beforex" location => beforex;
  "two
lines";
replace_patterns: "rep" replace_with => rw("REP");
}
bundle edit_line add { insert_lines: "new"; "n2"; }
bundle edit_line tail { delete_lines: "t.*"; }
bundle edit_line own { insert_lines: "mine" action => w; }
bundle agent t {
files:
  "@T@/e" edit_line => ed, action => w;
  "@T@/empty" edit_line => add, action => w;
  "@T@/tail" edit_line => tail, action => w;
  "@T@/own" edit_line => own;
  "@T@/fix" edit_line => ed;
}
"""


def edits_setup(t: Path) -> None:
    for name in ("e", "fix"):
        (t / name).write_text("x1\ndelme\nf:old:z\nrep rep\nlast\n")
    (t / "empty").write_text("")
    (t / "tail").write_text("a\nt1\nt2\n")
    (t / "own").write_text("a\n")


def test_edits_warn(tmp_path: Path) -> None:
    lines, files = both(tmp_path, EDITS, edits_setup, [])
    # the in-memory result compared line by line with the file, as cf-agent does
    assert [ln for ln in lines if "promised" in ln and "<T>/" not in ln] == [
        " warning: edit_line warning promised: - x1",
        " warning: edit_line warning promised: - delme",
        " warning: edit_line warning promised: - f:old:z",
        " warning: edit_line warning promised: - rep rep",
        " warning: edit_line warning promised: - last",
        " warning:  ! edit_line change warning promised: (add) REP REP",
        " warning:  ! edit_line change warning promised: (add) last",
        " warning:  ! edit_line change warning promised: (add) atend",
        " warning:  ! edit_line change warning promised: (add) two",
        " warning:  ! edit_line change warning promised: (add) lines",
        " warning: File content wants to change from from/to full/empty but only a warning "
        "promised",
        " warning: File content wants to change from from/to full/empty but only a warning "
        "promised",
        " warning:  ! edit_line change warning promised: (remove) t1",
        " warning:  ! edit_line change warning promised: (remove) t2",
    ]
    assert (" warning: Should insert line 'mine' into '<T>/own' after locator, but only "
            "warning promised") in lines
    assert files["e"][1] == "x1\ndelme\nf:old:z\nrep rep\nlast\n"
    assert files["own"][1] == "a\n"
    assert files["fix"][1] == "atstart\nbeforex\nx1\nafterx\nf:NEW:z\nREP REP\nlast\natend\ntwo\nlines\n"


def test_edits_dry_run(tmp_path: Path) -> None:
    lines, files = both(tmp_path, EDITS, edits_setup, ["-n"])
    first = lines.index(" warning: Should delete line 'delme' from <T>/fix")
    assert lines[first:first + 8] == [
        " warning: Should delete line 'delme' from <T>/fix",
        " warning: Warnings encountered when actuating delete_lines promise 'del.*'",
        " warning: Should edit field 'NEW' in '<T>/fix'",
        " warning: Warnings encountered when actuating fields_edit promise 'f:.*'",
        " warning: Should insert line 'atend' into '<T>/fix' after locator",
        " warning: Warnings encountered when actuating insert_lines promise 'atend'",
        " warning: Should prepend promised line 'atstart' to '<T>/fix'",
        " warning: Warnings encountered when actuating insert_lines promise 'atstart'",
    ]
    # replace_patterns asks once per line of the region, matching or not
    assert lines.count(" warning: Should replace pattern 'rep' in '<T>/fix'") == 5
    assert files["fix"][1] == "x1\ndelme\nf:old:z\nrep rep\nlast\n"


REPLACE = """
body common control { bundlesequence => { "t" }; }
body replace_with f(v) { replace_value => "$(v)"; occurrences => "first"; }
body replace_with al(v) { replace_value => "$(v)"; occurrences => "all"; }
bundle edit_line r1 { replace_patterns: "x" replace_with => f("y"); }
bundle edit_line r2 { replace_patterns: "a" replace_with => al("ab"); }
bundle edit_line r3 { replace_patterns: "^a.*$" replace_with => al("abc"); }
bundle edit_line r5 { replace_patterns: "xx" replace_with => al("x"); insert_lines: "added"; }
bundle agent t {
files:
  "@T@/r1" edit_line => r1;
  "@T@/r2" edit_line => r2;
  "@T@/r3" edit_line => r3;
  "@T@/r5" edit_line => r5;
}
"""


def test_replace_convergence(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "r1").write_text("x\nxx\nx\n")
        (t / "r2").write_text("c\na\n")
        (t / "r3").write_text("a1\nb\n")
        (t / "r5").write_text("xx\n" + "x" * 30 + "\n")

    lines, files = both(tmp_path, REPLACE, setup, [])
    assert files["r1"][1] == "y\nxx\nx\n"  # "first": the first matching line only
    assert files["r2"][1] == "c\na\n"
    assert ("   error: Promised replacement 'a" + "b" * 20 + "' on line 'a' for pattern 'a' is "
            "not convergent while editing '<T>/r2' (regular expression matches the replacement "
            "string)") in lines
    assert files["r3"][1] == "abc\nb\n"  # anchored both ends: replaced, then refused
    assert any("is not properly convergent while editing '<T>/r3'" in ln for ln in lines)
    assert files["r5"][1] == "x\n" + "x" * 30 + "\nadded\n"  # lines before the refusal kept


COPY = """
body common control { bundlesequence => { "t" }; }
body action w { action_policy => "warn"; }
body copy_from cp(s) { source => "$(s)"; compare => "digest"; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
body depth_search d { depth => "inf"; }
bundle agent t {
files:
  "@T@/dst_new" copy_from => cp("@T@/src"), perms => m("0640");
  "@T@/dst_old" copy_from => cp("@T@/src"), perms => m("0640");
  "@T@/dsub/x/dst" copy_from => cp("@T@/src");
  "@T@/touched" copy_from => cp("@T@/src"), touch => "true";
  "@T@/dtree" copy_from => cp("@T@/stree"), depth_search => d;
  "@T@/wnew" copy_from => cp("@T@/src"), action => w;
}
"""


def copy_setup(t: Path) -> None:
    (t / "src").write_text("src\n")
    (t / "dst_old").write_text("old\n")
    (t / "touched").write_text("old\n")
    (t / "stree").mkdir()
    (t / "stree" / "a").write_text("a\n")


def test_copy_fix(tmp_path: Path) -> None:
    lines, files = both(tmp_path, COPY, copy_setup, [])
    assert [ln for ln in lines if "dst_new" in ln] == [
        "    info: Copied file '<T>/src' to '<T>/dst_new.cfnew' (mode '600')",
        "    info: Moved '<T>/dst_new.cfnew' to '<T>/dst_new'",
        "    info: Object '<T>/dst_new' had permissions 0600, changed it to 0640",
        "    info: Updated file '<T>/dst_new' from 'localhost:<T>/src'",
    ]
    # perms first on an existing destination: the copy and its backup get the new mode
    assert lines[lines.index("    info: Object '<T>/dst_old' had permissions 0644, changed it "
                             "to 0640") + 1] == (
        "    info: Copied file '<T>/src' to '<T>/dst_old.cfnew' (mode '640')")
    assert "   error: Failed to chdir into '<T>/dsub/x'. (chdir: 'No such file or directory')" in lines
    assert "    info: Created parent directory for '<T>/dsub/x/dst'" in lines
    assert "    info: Updated timestamps on '<T>/touched'" in lines
    assert "    info: Created parent directory for '<T>/dtree'" in lines
    assert files["dsub"][0] == "0700" and files["dsub/x"][0] == "0700"


def test_copy_dry_run(tmp_path: Path) -> None:
    lines, _ = both(tmp_path, COPY, copy_setup, ["-n"])
    assert " warning: Should copy '<T>/dst_new' to '<T>/src'" in lines
    assert " warning: Should update file '<T>/dst_old' from '<T>/src' on 'localhost'" in lines
    assert lines.count(" warning: Should make directory '<T>/dsub/x' for '<T>/dsub/x/dst'") == 2
    assert ("   error: Unable to stat newly created directory '<T>/dtree'. "
            "(lstat: No such file or directory)") in lines
    assert " warning: Should copy '<T>/wnew' to '<T>/src', but only warning promised" in lines


OUTCOMES_HEAD = """
body common control { bundlesequence => { "t" }; }
body classes o(p) { promise_kept => { "$(p)_kept" }; promise_repaired => { "$(p)_repaired" }; repair_failed => { "$(p)_failed" }; }
body copy_from cp(s) { source => "$(s)"; compare => "digest"; }
body perms m(x) { mode => "$(x)"; rxdirs => "false"; }
body action w { action_policy => "warn"; }
bundle edit_line add { insert_lines: "new"; }
bundle agent t {
files:
  "@T@/cpnew" copy_from => cp("@T@/src"), classes => o("cpnew");
  "@T@/cpsame" copy_from => cp("@T@/src"), classes => o("cpsame");
  "@T@/create" create => "true", classes => o("create");
  "@T@/createtouch" create => "true", touch => "true", classes => o("createtouch");
  "@T@/touch" touch => "true", classes => o("touch");
  "@T@/perms" perms => m("0640"), classes => o("perms");
  "@T@/edit" edit_line => add, classes => o("edit");
  "@T@/dcperm/." create => "true", perms => m("0750"), classes => o("dcperm");
  "@T@/wtouch" touch => "true", action => w, classes => o("wtouch");
commands:
  "/bin/true" classes => o("cmd");
"""
OUTCOME_NAMES = ("cpnew", "cpsame", "create", "createtouch", "touch", "perms", "edit", "dcperm",
                 "wtouch", "cmd")
OUTCOMES = OUTCOMES_HEAD + "reports:\n" + "".join(
    f'  "{n}: {o}" if => "{n}_{o}";\n'
    for n in OUTCOME_NAMES for o in ("kept", "repaired", "failed")) + "}\n"


def outcomes_setup(t: Path) -> None:
    (t / "src").write_text("src\n")
    (t / "cpsame").write_text("src\n")
    for name in ("touch", "perms", "edit", "wtouch"):
        (t / name).write_text("x\n")


def test_partial_outcomes_define_classes(tmp_path: Path) -> None:
    lines, _ = both(tmp_path, OUTCOMES, outcomes_setup, [])
    assert [ln[3:] for ln in lines if ln.startswith("R: ")] == [
        "cpnew: kept", "cpnew: repaired", "cpsame: kept", "create: repaired",
        "createtouch: repaired", "touch: kept", "touch: repaired", "perms: kept",
        "perms: repaired", "edit: repaired", "dcperm: repaired", "wtouch: kept",
        "wtouch: failed", "cmd: repaired",
    ]


def test_dry_run_outcomes_and_commands(tmp_path: Path) -> None:
    lines, _ = both(tmp_path, OUTCOMES, outcomes_setup, ["-n"])
    assert " warning: Would execute script '/bin/true'" in lines
    assert " warning: Need to repair reports promise: cmd: failed" in lines
    assert " warning: Need to repair reports promise: edit: kept" in lines


ARGLIST = """
body common control { bundlesequence => { "t" }; }
bundle agent t {
commands:
  "/bin/sh -c 'printf \\"[%s]\\" \\"$@\\" > @T@/a' sh" arglist => { "one two", "'x y'", "" };
}
"""


def test_arglist_is_split_again(tmp_path: Path) -> None:
    _, files = both(tmp_path, ARGLIST, lambda t: None, [])
    assert files["a"][1] == "[one][two][x y]"


TEMPLATE_AND_TREE = """
body common control { bundlesequence => { "t" }; }
body action w { action_policy => "warn"; }
body copy_from cp(s) { source => "$(s)"; compare => "digest"; purge => "true"; }
body depth_search d { depth => "inf"; }
bundle agent t {
vars: "v" string => "val";
files:
  "@T@/t2" edit_template => "@T@/tpl", template_method => "mustache", action => w;
  "@T@/dtree" copy_from => cp("@T@/stree"), depth_search => d, action => w;
}
"""


def test_template_and_tree_copy_warn(tmp_path: Path) -> None:
    def setup(t: Path) -> None:
        (t / "tpl").write_text("line {{vars.t.v}}\n")
        (t / "t2").write_text("old\n")
        (t / "stree" / "sub").mkdir(parents=True)
        (t / "stree" / "sub" / "b").write_text("b\n")
        (t / "dtree").mkdir()
        (t / "dtree" / "extra").write_text("z\n")

    lines, files = both(tmp_path, TEMPLATE_AND_TREE, setup, ["-n"])
    assert lines == [
        " warning: Should update rendering of '<T>/t2' from mustache template '<T>/tpl', "
        "but only warning promised",
        " warning: Warnings encountered when actuating files promise '<T>/t2'",
        # cf-agent makes the missing subdirectory even now, then only warns
        "    info: Created directory '<T>/dtree/sub'",
        " warning: Should copy '<T>/dtree/sub/b' to '<T>/stree/sub/b', but only warning "
        "promised",
        " warning: Should purge '<T>/dtree/extra' from copy dest directory, but only warning "
        "promised",
        " warning: Warnings encountered when actuating files promise '<T>/dtree'",
    ]
    assert files["t2"][1] == "old\n" and "dtree/sub/b" not in files
