"""Dry run, warn-only and partial outcomes of the files, edit and commands actuators
(expectations recorded from cf-agent 3.21; see test_differential_modes for the
side-by-side runs)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from engine.promises import commands, files
from engine.promises.base import BundleCall, Outcome
from engine.promises.files.edit import warn_diff
from engine.promises.files.edit_line import EditSession
from engine.promises.files.lines import MAX_REPLACE, replace_line

from .conftest import FakeRun, body, promise


def dry(tmp_path: Path) -> FakeRun:
    run = FakeRun(workdir=str(tmp_path / "wd"))
    run.dry_run = True
    return run


def test_dry_run_create_names_each_missing_directory(tmp_path: Path) -> None:
    run = dry(tmp_path)
    f = tmp_path / "a" / "b" / "f"
    r = files.actuate(promise("files", str(f), create="true"), run)
    assert r.outcome == Outcome.NOTKEPT
    assert not (tmp_path / "a").exists()
    assert run.info_lines() == [
        f" warning: Should make directory '{tmp_path}/a' for '{f}'",
        f" warning: Should make directory '{tmp_path}/a/b' for '{f}'",
        f" warning: Should create file '{f}', mode '0600'",
        f" warning: Warnings encountered when actuating files promise '{f}'",
    ]


def test_warn_policy_keeps_its_words_in_a_dry_run(tmp_path: Path) -> None:
    run = dry(tmp_path)
    d = f"{tmp_path}/d/."
    files.actuate(promise("files", d, create="true",
                          action=body("action", action_policy="warn")), run)
    assert run.info_lines()[0] == (
        f" warning: Should create directory '{d}', but only warning promised")


def test_delete_warned_twice_for_a_file_once_for_a_directory(tmp_path: Path) -> None:
    run = FakeRun(warn=True)
    (tmp_path / "f").write_text("x")
    (tmp_path / "d").mkdir()
    tidy = body("delete", rmdirs="true")
    files.actuate(promise("files", str(tmp_path / "f"), delete=tidy), run)
    files.actuate(promise("files", f"{tmp_path}/d/.", delete=tidy), run)
    assert run.info_lines() == [
        f" warning: Should delete file '{tmp_path}/f', but only warning promised",
        f" warning: Should delete file '{tmp_path}/f', but only warning promised",
        f" warning: Warnings encountered when actuating files promise '{tmp_path}/f'",
        f" warning: Should delete directory '{tmp_path}/d', but only warning promised",
        # the promise on an existing 'd/.' is named by the directory's path
        f" warning: Warnings encountered when actuating files promise '{tmp_path}/d'",
    ]
    assert (tmp_path / "f").exists() and (tmp_path / "d").is_dir()


def test_partial_outcomes(tmp_path: Path, run: FakeRun) -> None:
    (tmp_path / "old").write_text("x")
    r = files.actuate(promise("files", str(tmp_path / "new"), create="true"), run)
    assert (r.outcome, r.also) == (Outcome.REPAIRED, [])  # create alone: repaired only
    r = files.actuate(promise("files", str(tmp_path / "old"), touch="true"), run)
    assert (r.outcome, r.also) == (Outcome.REPAIRED, [Outcome.KEPT])  # it existed as promised
    perms = body("perms", mode="0640", rxdirs="false")
    (tmp_path / "old").chmod(0o644)
    r = files.actuate(promise("files", str(tmp_path / "old"), perms=perms), run)
    # changed on the first look, found as promised on the second
    assert (r.outcome, r.also) == (Outcome.REPAIRED, [Outcome.KEPT])
    assert stat.S_IMODE(os.stat(tmp_path / "old").st_mode) == 0o640
    r = files.actuate(promise("files", str(tmp_path / "old"), perms=perms), run)
    assert (r.outcome, r.also) == (Outcome.KEPT, [])


def test_new_directory_is_0700_then_perms_apply(tmp_path: Path, run: FakeRun) -> None:
    d = f"{tmp_path}/nd/."
    perms = body("perms", mode="0750", rxdirs="false")
    r = files.actuate(promise("files", d, create="true", perms=perms), run)
    assert r.outcome == Outcome.REPAIRED
    assert run.info_lines() == [
        f"    info: Created directory '{d}'",
        f"    info: Object '{tmp_path}/nd' had permissions 0700, changed it to 0750",
    ]


def test_copy_repaired_and_kept(tmp_path: Path, run: FakeRun) -> None:
    (tmp_path / "src").write_text("payload\n")
    (tmp_path / "dst").write_text("other\n")
    cp = body("copy_from", source=str(tmp_path / "src"), compare="digest")
    r = files.actuate(promise("files", str(tmp_path / "dst"), copy_from=cp), run)
    assert (r.outcome, r.also) == (Outcome.REPAIRED, [Outcome.KEPT])
    r = files.actuate(promise("files", str(tmp_path / "dst"), copy_from=cp), run)
    assert (r.outcome, r.also) == (Outcome.KEPT, [])


def test_copy_into_missing_directories(tmp_path: Path, run: FakeRun) -> None:
    (tmp_path / "src").write_text("payload\n")
    dest = tmp_path / "a" / "b" / "dst"
    cp = body("copy_from", source=str(tmp_path / "src"), compare="digest")
    r = files.actuate(promise("files", str(dest), copy_from=cp), run)
    assert r.outcome == Outcome.REPAIRED  # cf-agent's chdir error does not count
    assert run.info_lines()[:2] == [
        f"   error: Failed to chdir into '{tmp_path}/a/b'. (chdir: 'No such file or directory')",
        f"    info: Created parent directory for '{dest}'",
    ]
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700
    assert dest.read_text() == "payload\n"


def test_warn_diff_walks_side_by_side() -> None:
    assert warn_diff(["a", "b"], ["a", "c", "d"]) == [
        "edit_line warning promised: - b",
        " ! edit_line change warning promised: (add) d",
    ]
    assert warn_diff(["a", "t"], ["a"]) == [" ! edit_line change warning promised: (remove) t"]
    assert warn_diff([], ["x"]) == [
        "File content wants to change from from/to full/empty but only a warning promised"]
    assert warn_diff(["a"], []) == []


def test_replace_line_gives_up_after_max_replacements() -> None:
    line, last = replace_line(re.compile("a"), "ab", "a", first_only=False)
    assert line == "a" + "b" * MAX_REPLACE and last == "ab"
    assert replace_line(re.compile("x"), "y", "x x", first_only=True) == ("y x", "y")
    assert replace_line(re.compile("q"), "Q", "abc", first_only=False) == ("abc", None)


def test_first_occurrence_not_convergent_leaves_line(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "e"
    f.write_text("aa aa\nb aa\n")
    run.edits["ed"] = [promise("replace_patterns", "aa", replace_with=body(
        "replace_with", replace_value="X", occurrences="first"))]
    r = files.actuate(promise("files", str(f), edit_line=BundleCall("ed")), run)
    assert r.outcome == Outcome.KEPT  # nothing changed: the files promise itself is kept
    assert f.read_text() == "aa aa\nb aa\n"
    assert run.info_lines() == [
        " warning: Setting replace-occurrences policy to 'first' is not convergent",
        f"   error: Promised replacement 'X aa' on line 'aa aa' for pattern 'aa' is not "
        f"convergent while editing '{f}' (regular expression matches the replacement string)",
        "   error: Promise belongs to bundle 'test' in file '/p/test.cf' near line 7",
        "   error: Errors encountered when actuating replace_patterns promise 'aa'",
    ]


def test_edit_session_dry_run_describes_each_promise() -> None:
    run = FakeRun()
    lines = ["x", "old"]
    s = EditSession("/f", lines, run.log, dry_run=True)
    s.run([promise("insert_lines", "new"), promise("delete_lines", "old")])
    assert s.lines == ["x", "old"]
    assert run.info_lines() == [
        " warning: Should delete line 'old' from /f",
        " warning: Warnings encountered when actuating delete_lines promise 'old'",
        " warning: Should insert line 'new' into '/f' after locator",
        " warning: Warnings encountered when actuating insert_lines promise 'new'",
    ]


def test_arglist_elements_split_again(tmp_path: Path, run: FakeRun) -> None:
    out = tmp_path / "args"
    p = promise("commands", "/bin/sh", args=f"-c 'printf \"[%s]\" \"$@\" > {out}' sh",
                arglist=["one two", "'x y'", "three"])
    assert commands.actuate(p, run).outcome == Outcome.REPAIRED
    assert out.read_text() == "[one][two][x y][three]"


def test_commands_dry_run_would_execute(tmp_path: Path) -> None:
    run = dry(tmp_path)
    marker = tmp_path / "ran"
    p = promise("commands", f"/bin/touch {marker}", action=body("action", action_policy="warn"))
    assert commands.actuate(p, run).outcome == Outcome.NOTKEPT
    assert not marker.exists()
    assert run.info_lines() == [
        f"    info: Executing 'no timeout' ... '/bin/touch {marker}'",
        f" warning: Would execute script '/bin/touch {marker}'",
    ]
