"""Local copy_from and edit_template, with cf-agent 3.21's messages and results."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.promises import files
from engine.promises.base import Outcome

from ..conftest import FakeRun, body, promise

OLD = 1577836800  # 2020-01-01


def src_file(tmp_path: Path) -> Path:
    s = tmp_path / "src" / "a"
    s.parent.mkdir()
    s.write_text("content\n")
    s.chmod(0o751)
    os.utime(s, (OLD, OLD))
    return s


def copy(run: FakeRun, dest: Path, **cf: object) -> Outcome:
    extra = cf.pop("extra", {})
    return files.actuate(promise("files", str(dest), copy_from=body("copy_from", **cf),
                                 **extra), run).outcome  # type: ignore[arg-type]


def test_new_copy_is_0600_with_cf_messages(tmp_path: Path, run: FakeRun) -> None:
    s = src_file(tmp_path)
    d = tmp_path / "new"
    assert copy(run, d, source=str(s)) == Outcome.REPAIRED
    assert d.read_text() == "content\n"
    assert stat.S_IMODE(d.stat().st_mode) == 0o600
    assert run.info_lines() == [
        f"    info: Copied file '{s}' to '{d}.cfnew' (mode '600')",
        f"    info: Moved '{d}.cfnew' to '{d}'",
        f"    info: Updated file '{d}' from 'localhost:{s}'",
    ]
    run.lines.clear()
    assert copy(run, d, source=str(s)) == Outcome.KEPT
    assert run.lines == []


def test_compare_modes_and_backup(tmp_path: Path, run: FakeRun) -> None:
    s = src_file(tmp_path)
    newer = tmp_path / "newer"
    newer.write_text("differs\n")
    assert copy(run, newer, source=str(s)) == Outcome.KEPT  # mtime: dest is newer
    assert copy(run, newer, source=str(s), compare="exists") == Outcome.KEPT
    newer.chmod(0o644)
    assert copy(run, newer, source=str(s), compare="digest") == Outcome.REPAIRED
    assert newer.read_text() == "content\n"
    assert stat.S_IMODE(newer.stat().st_mode) == 0o644
    assert (tmp_path / "newer.cfsaved").read_text() == "differs\n"
    assert f"    info: Updated '{newer}' from source '{s}' on 'localhost'" in run.lines
    old = tmp_path / "old"
    old.write_text("older\n")
    os.utime(old, (OLD - 100, OLD - 100))
    assert copy(run, old, source=str(s), copy_backup="false") == Outcome.REPAIRED
    assert not (tmp_path / "old.cfsaved").exists()


def test_preserve_keeps_source_mode(tmp_path: Path, run: FakeRun) -> None:
    s = src_file(tmp_path)
    d = tmp_path / "pres"
    copy(run, d, source=str(s), preserve="true")
    assert stat.S_IMODE(d.stat().st_mode) == 0o751
    assert f"    info: Copied file '{s}' to '{d}.cfnew' (permissions preserved)" in run.lines


def test_missing_source(tmp_path: Path, run: FakeRun) -> None:
    assert copy(run, tmp_path / "x", source=str(tmp_path / "nothere")) == Outcome.NOTKEPT
    assert run.info_lines()[0] == (
        f"   error: Can't stat file '{tmp_path}/nothere' on 'localhost' in files.copy_from "
        "promise")


def test_recursive_copy_with_purge(tmp_path: Path, run: FakeRun) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "x").write_text("x")
    (src / "sub" / "y").write_text("y")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "stale").write_text("s")
    out = copy(run, dest, source=str(src), purge="true",
               extra={"depth_search": body("depth_search", depth="inf")})
    assert out == Outcome.REPAIRED
    assert sorted(os.listdir(dest)) == ["sub", "x"]
    assert (dest / "sub" / "y").read_text() == "y"
    assert stat.S_IMODE((dest / "sub").stat().st_mode) == 0o700
    assert f"    info: Purged '{dest}/stale' copy dest directory" in run.lines
    assert f"    info: Created directory '{dest}/sub'" in run.lines


def test_warn_only_copy(tmp_path: Path) -> None:
    run = FakeRun(warn=True)
    s = src_file(tmp_path)
    d = tmp_path / "cp"
    d.write_text("other\n")
    assert copy(run, d, source=str(s), compare="digest") == Outcome.NOTKEPT
    assert d.read_text() == "other\n"
    assert run.info_lines()[0] == (
        f" warning: Should update file '{d}' from '{s}' on 'localhost', but only warning "
        "promised")


def test_mustache_template_with_data_and_datastate(tmp_path: Path, run: FakeRun) -> None:
    t = tmp_path / "tpl.mustache"
    t.write_text("Hello {{name}}\n{{#items}}- {{.}}\n{{/items}}\n"
                 "{{#classes.any}}any is set{{/classes.any}}\nhost={{vars.sys.fqhost}}\n")
    m1 = tmp_path / "m1"
    p = promise("files", str(m1), create="true", edit_template=str(t), template_method="mustache",
                template_data={"name": "World", "items": ["a", "b"]})
    assert files.actuate(p, run).outcome == Outcome.REPAIRED
    assert m1.read_text() == "Hello World\n- a\n- b\n\nhost=\n"  # as cf-agent renders it
    assert run.info_lines() == [
        f"    info: Created file '{m1}', mode 0600",
        f"    info: Updated rendering of '{m1}' from mustache template '{t}'",
    ]
    run.lines.clear()
    assert files.actuate(p, run).outcome == Outcome.KEPT
    t2 = tmp_path / "tpl2.mustache"
    t2.write_text("v={{vars.t.v}}\n{{#classes.linux}}on linux{{/classes.linux}}\n")
    run.vars = {"t": {"v": "vee"}}
    m4 = tmp_path / "m4"
    m4.write_text("v=old\n")
    m4.chmod(0o640)
    p = promise("files", str(m4), edit_template=str(t2), template_method="mustache")
    assert files.actuate(p, run).outcome == Outcome.REPAIRED
    assert m4.read_text() == "v=vee\non linux\n"
    assert stat.S_IMODE(m4.stat().st_mode) == 0o640
    assert (tmp_path / "m4.cf-before-edit").read_text() == "v=old\n"


def test_missing_template(tmp_path: Path, run: FakeRun) -> None:
    p = promise("files", str(tmp_path / "m5"), create="true", template_method="mustache",
                edit_template=str(tmp_path / "nothere"))
    assert files.actuate(p, run).outcome == Outcome.NOTKEPT
    assert (f"   error: Template file '{tmp_path}/nothere' could not be opened for reading"
            in run.lines)


def test_cfengine_template_method(tmp_path: Path, run: FakeRun) -> None:
    t = tmp_path / "tpl.cft"
    t.write_text("line1 $(t.v)\n[%CFEngine linux:: %]\nanyline\n[%CFEngine windows:: %]\n"
                 "never\n[%CFEngine any:: %]\n[%CFEngine BEGIN %]\nblock $(t.l)\n"
                 "[%CFEngine END %]\n")
    run.vars = {"t": {"v": "vee", "l": ["l1", "l2"]}}
    m3 = tmp_path / "m3"
    p = promise("files", str(m3), create="true", edit_template=str(t))
    assert files.actuate(p, run).outcome == Outcome.REPAIRED
    assert m3.read_text() == "line1 vee\nanyline\nblock l1\nblock l2\n"
    assert f"    info: Inserted the promised line 'block l2' into '{m3}' after locator" in run.lines
    run.lines.clear()
    assert files.actuate(p, run).outcome == Outcome.KEPT


def test_remote_source_without_server_fails_cleanly(tmp_path: Path) -> None:
    """servers => a loopback port nobody listens on: not kept, no exception, dest untouched."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = FakeRun(workdir=str(tmp_path / "wd"))
    d = tmp_path / "fetched"
    out = copy(run, d, source="/srv/data.txt", servers=[f"127.0.0.1:{port}"])
    assert out == Outcome.NOTKEPT
    assert not d.exists()
    assert run.info_lines()[-2] == f"   error: No suitable server found for '{d}'"
