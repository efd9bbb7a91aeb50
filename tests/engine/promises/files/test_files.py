"""files promises on real files: create, touch, perms, delete, depth_search (cf-agent's lines)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from engine.promises import files
from engine.promises.base import Outcome

from ..conftest import FakeRun, body, promise


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def test_create_file_0600_then_kept(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "a"
    r = files.actuate(promise("files", str(f), create="true"), run)
    assert r.outcome == Outcome.REPAIRED
    assert mode(f) == 0o600
    assert run.info_lines() == [f"    info: Created file '{f}', mode 0600"]
    run.lines.clear()
    assert files.actuate(promise("files", str(f), create="true"), run).outcome == Outcome.KEPT
    assert run.lines == []


def test_create_with_parents_and_mode(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "x" / "y" / "z"
    perms = body("perms", mode="0755")
    r = files.actuate(promise("files", str(f), create="true", perms=perms), run)
    assert r.outcome == Outcome.REPAIRED
    assert mode(f) == 0o755
    assert mode(tmp_path / "x") == 0o700 and mode(tmp_path / "x" / "y") == 0o700
    assert run.info_lines() == [
        f" warning: Using the default value 'false' for attribute rxdirs (promiser: {f}, "
        "file: /p/test.cf:7), please set it explicitly",
        f"    info: Created directory for '{f}'",
        f"    info: Created file '{f}', mode 0755",
    ]


def test_create_directory_promiser(tmp_path: Path, run: FakeRun) -> None:
    d = f"{tmp_path}/d1/d2/."
    assert files.actuate(promise("files", d, create="true"), run).outcome == Outcome.REPAIRED
    assert (tmp_path / "d1" / "d2").is_dir()
    assert mode(tmp_path / "d1" / "d2") == 0o700
    assert run.info_lines() == [f"    info: Created directory '{d}'"]


def test_touch_creates_and_touches(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "t"
    files.actuate(promise("files", str(f), touch="true"), run)
    assert f.exists()
    assert run.info_lines() == [
        f"    info: Created file '{f}', mode 0600",
        f"    info: Touched (updated time stamps) for path '{f}'",
    ]
    os.utime(f, (1000, 1000))
    assert files.actuate(promise("files", str(f), touch="true"), run).outcome == Outcome.REPAIRED
    assert f.stat().st_mtime > time.time() - 60


def test_perms_change_and_owner(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "e"
    f.write_text("")
    f.chmod(0o640)
    perms = body("perms", mode="644", rxdirs="false")
    assert files.actuate(promise("files", str(f), perms=perms), run).outcome == Outcome.REPAIRED
    assert mode(f) == 0o644
    assert run.info_lines() == [
        f"    info: Object '{f}' had permissions 0640, changed it to 0644"]
    run.lines.clear()
    assert files.actuate(promise("files", str(f), perms=perms), run).outcome == Outcome.KEPT
    if os.geteuid() == 0:
        own = body("perms", owners=["nobody"], groups=["nogroup"])
        assert files.actuate(promise("files", str(f), perms=own), run).outcome == Outcome.REPAIRED
        assert f.stat().st_uid == 65534
        assert run.info_lines() == [
            f"    info: Owner of '{f}' was 0, set to 65534",
            f"    info: Group of '{f}' was 0, set to 65534",
        ]


def test_symbolic_mode(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "s"
    f.write_text("")
    f.chmod(0o600)
    files.actuate(promise("files", str(f), perms=body("perms", mode="go+r,u+x", rxdirs="false")),
                  run)
    assert mode(f) == 0o744


def test_missing_file_perms_only_is_kept(tmp_path: Path, run: FakeRun) -> None:
    r = files.actuate(promise("files", str(tmp_path / "nope"),
                              perms=body("perms", mode="600", rxdirs="false")), run)
    assert r.outcome == Outcome.KEPT
    assert not (tmp_path / "nope").exists()


def test_warn_only_changes_nothing(tmp_path: Path) -> None:
    run = FakeRun(warn=True)
    f = tmp_path / "w"
    r = files.actuate(promise("files", str(f), create="true"), run)
    assert r.outcome == Outcome.NOTKEPT
    assert not f.exists()
    assert run.info_lines() == [
        f" warning: Should create file '{f}', mode '0600', but only warning promised",
        f" warning: Warnings encountered when actuating files promise '{f}'",
    ]
    g = tmp_path / "g"
    g.write_text("")
    g.chmod(0o644)
    run.lines.clear()
    r = files.actuate(promise("files", str(g), perms=body("perms", mode="600", rxdirs="false"),
                              touch="true"), run)
    assert r.outcome == Outcome.NOTKEPT
    assert mode(g) == 0o644
    # cf-agent looks at an existing file twice (before and after copy/edit): touch,
    # then attributes each time; the time stamp line counts as a repair even here
    twice = [
        f" warning: Should update time stamps for '{g}', but only warning promised",
        f" warning: Should change permissions of '{g}' from 0644 to 0600, but only warning "
        "promised",
        f"    info: Updated timestamps on '{g}'",
    ]
    assert run.info_lines() == [
        *twice, *twice,
        f" warning: Warnings encountered when actuating files promise '{g}'",
    ]
    assert set(r.also) == {Outcome.KEPT, Outcome.REPAIRED}


def test_dangling_symlink_is_not_followed(tmp_path: Path, run: FakeRun) -> None:
    link = tmp_path / "lnk"
    outside = tmp_path / "outside"
    link.symlink_to(outside)
    r = files.actuate(promise("files", str(link), create="true"), run)
    assert r.outcome == Outcome.NOTKEPT
    assert not outside.exists()
    assert run.info_lines()[0].startswith(f"   error: Error creating file '{link}', mode '0600'.")
    assert run.info_lines()[-1] == (
        f"   error: Errors encountered when actuating files promise '{link}'")


def test_file_in_the_way_of_directory(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "fileasdir"
    f.write_text("x")
    r = files.actuate(promise("files", f"{f}/.", create="true"), run)
    assert r.outcome == Outcome.NOTKEPT
    assert f.is_file()
    assert run.info_lines()[0] == (
        f"   error: The object '{f}' is not a directory. "
        "Cannot make a new directory without deleting it.")
    r = files.actuate(promise("files", f"{f}/.", create="true", move_obstructions="true"), run)
    assert r.outcome == Outcome.REPAIRED
    assert f.is_dir() and Path(f"{f}.cf-moved").is_file()


def test_unwritable_parent_reports_and_continues(tmp_path: Path, run: FakeRun) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = files.actuate(promise("files", f"{blocker}/sub/f", create="true"), run)
    assert r.outcome == Outcome.NOTKEPT
    assert any("error:" in ln for ln in run.lines)


def test_delete_file_and_dirs(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "gone"
    f.write_text("")
    tidy = body("delete", dirlinks="delete", rmdirs="true")
    assert files.actuate(promise("files", str(f), delete=tidy), run).outcome == Outcome.REPAIRED
    assert not f.exists()
    assert run.info_lines() == [f"    info: Deleted file '{f}'"]
    assert files.actuate(promise("files", str(f), delete=tidy), run).outcome == Outcome.KEPT
    full = tmp_path / "full"
    (full / "x").mkdir(parents=True)
    assert files.actuate(promise("files", str(full), delete=tidy), run).outcome == Outcome.KEPT
    assert full.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    run.lines.clear()
    assert files.actuate(promise("files", str(empty), delete=tidy), run).outcome == \
        Outcome.REPAIRED
    assert run.info_lines() == [f"    info: Deleted directory '{empty}'"]


def _tree(root: Path) -> None:
    (root / "s" / "ss").mkdir(parents=True)
    for rel in ("1.log", "2.txt", "s/3.log", "s/ss/4.log"):
        (root / rel).write_text("")
        (root / rel).chmod(0o644)


def test_depth_search_perms_with_leaf_name(tmp_path: Path, run: FakeRun) -> None:
    _tree(tmp_path)
    p = promise("files", str(tmp_path), perms=body("perms", mode="600", rxdirs="false"),
                depth_search=body("depth_search", depth="inf"),
                file_select=body("file_select", leaf_name=[r".*\.log"], file_result="leaf_name"))
    assert files.actuate(p, run).outcome == Outcome.REPAIRED
    assert mode(tmp_path / "1.log") == 0o600
    assert mode(tmp_path / "s" / "ss" / "4.log") == 0o600
    assert mode(tmp_path / "2.txt") == 0o644
    assert len(run.info_lines()) == 3


def test_depth_search_delete_by_mtime(tmp_path: Path, run: FakeRun) -> None:
    _tree(tmp_path)
    old = time.time() - 3 * 86400
    for rel in ("1.log", "s/ss/4.log"):
        os.utime(tmp_path / rel, (old, old))
    cutoff = int(time.time() - 86400)
    p = promise("files", str(tmp_path), delete=body("delete", rmdirs="true"),
                depth_search=body("depth_search", depth="inf"),
                file_select=body("file_select", leaf_name=[r".*\.log"], mtime=f"0,{cutoff}",
                                 file_result="leaf_name.mtime"))
    assert files.actuate(p, run).outcome == Outcome.REPAIRED
    assert not (tmp_path / "1.log").exists() and not (tmp_path / "s/ss/4.log").exists()
    assert (tmp_path / "s" / "3.log").exists() and (tmp_path / "2.txt").exists()
    assert (tmp_path / "s" / "ss").is_dir()


def test_recursive_delete_without_selection_is_refused(tmp_path: Path, run: FakeRun) -> None:
    _tree(tmp_path)
    p = promise("files", str(tmp_path), delete=body("delete"),
                depth_search=body("depth_search", depth="inf"))
    assert files.actuate(p, run).outcome == Outcome.KEPT
    assert (tmp_path / "1.log").exists()
    assert run.info_lines()[0] == (
        f"   error: Dangerous or ambiguous promise - '{tmp_path}' specifies recursive deletion "
        "but has no file selection criteria")


def test_depth_one_and_file_types(tmp_path: Path, run: FakeRun) -> None:
    _tree(tmp_path)
    p = promise("files", str(tmp_path), delete=body("delete", rmdirs="false"),
                depth_search=body("depth_search", depth="1"),
                file_select=body("file_select", file_types=["plain"], file_result="file_types"))
    files.actuate(p, run)
    assert sorted(os.listdir(tmp_path)) == ["s"]
    assert (tmp_path / "s" / "3.log").exists()


def test_many_creates_are_fast(tmp_path: Path, run: FakeRun) -> None:
    t0 = time.perf_counter()
    for i in range(500):
        files.actuate(promise("files", f"{tmp_path}/n/f{i:05d}", create="true", touch="true"), run)
    elapsed = time.perf_counter() - t0
    assert len(os.listdir(tmp_path / "n")) == 500
    assert elapsed < 4.0, elapsed  # no per-promise subprocess or import
