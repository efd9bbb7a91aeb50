"""edit_line bundles applied by files promises; expectations recorded from cf-agent 3.21."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.promises import files
from engine.promises.base import BundleCall, Outcome

from ..conftest import FakeRun, body, promise


def edit(run: FakeRun, path: Path, *edits: object, **attrs: object) -> Outcome:
    run.edits["ed"] = list(edits)  # type: ignore[arg-type]
    return files.actuate(promise("files", str(path), edit_line=BundleCall("ed"), **attrs),
                         run).outcome


def test_order_and_messages_match_cf_agent(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "f"
    f.write_text("a\nb\nc=old\nd1\nd2\nuser:1:2:3\n")
    f.chmod(0o640)
    loc_after = body("location", before_after="after", select_line_matching="b")
    loc_before = body("location", before_after="before", select_line_matching="b")
    loc_start = body("location", before_after="before", first_last="first",
                     select_line_matching=".*")
    out = edit(
        run, f,
        promise("insert_lines", "inserted-end"),
        promise("insert_lines", "after-b", location=loc_after),
        promise("insert_lines", "before-b", location=loc_before),
        promise("insert_lines", "at-start", location=loc_start),
        promise("replace_patterns", "^c=(?!new).*$",
                replace_with=body("replace_with", replace_value="c=new", occurrences="all")),
        promise("delete_lines", "d.*"),
        promise("field_edits", "user:.*",
                edit_field=body("edit_field", field_separator=":", select_field="3",
                                value_separator=",", field_value="x", field_operation="set")),
    )
    assert out == Outcome.REPAIRED
    assert f.read_text() == "at-start\na\nbefore-b\nb\nafter-b\nc=new\nuser:1:x:3\ninserted-end\n"
    assert (tmp_path / "f.cf-before-edit").read_text() == "a\nb\nc=old\nd1\nd2\nuser:1:2:3\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert run.info_lines() == [
        # two insertions placed by the same locator line: cf-agent notices it first
        "    info: insert_lines promise uses the same select_line_matching anchor 'b' as "
        "another promise. This will lead to non-convergent behaviour unless "
        "'empty_file_before_editing' is set",
        "    info: Promise belongs to bundle 'test' in file '/p/test.cf' near line 7",
        f"    info: Deleted the promised line 1 'd1' from {f}",
        f"    info: Deleted the promised line 1 'd2' from {f}",
        "    info: delete_lines promise 'd.*' repaired",
        f"    info: Set field sub-value 'x' in '{f}'",
        "    info: fields_edit promise 'user:.*' repaired",
        f"    info: Inserted the promised line 'inserted-end' into '{f}' after locator",
        "    info: insert_lines promise 'inserted-end' repaired",
        f"    info: Inserted the promised line 'after-b' into '{f}' after locator",
        "    info: insert_lines promise 'after-b' repaired",
        f"    info: Inserted the promised line 'before-b' into '{f}' before locator",
        "    info: insert_lines promise 'before-b' repaired",
        f"    info: Prepended the promised line 'at-start' to {f}",
        "    info: insert_lines promise 'at-start' repaired",
        f"    info: Replaced pattern '^c=(?!new).*$' in '{f}'",
        "    info: replace_patterns promise '^c=(?!new).*$' repaired",
        f"    info: Edited file '{f}'",
    ]


def test_converged_file_is_kept_and_untouched(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "f"
    f.write_text("x\nline\n")
    before = f.stat().st_ino
    assert edit(run, f, promise("insert_lines", "line"), promise("delete_lines", "nothing")) == \
        Outcome.KEPT
    assert f.stat().st_ino == before
    assert not (tmp_path / "f.cf-before-edit").exists()
    assert run.lines == []


def test_delete_then_insert_same_line_is_no_change(tmp_path: Path, run: FakeRun) -> None:
    """cf-agent deletes first, then inserts: a file that has the line stays as it was,
    and the held-back messages are never printed."""
    f = tmp_path / "f"
    f.write_text("a\nL\n")
    assert edit(run, f, promise("insert_lines", "L"), promise("delete_lines", "L")) == \
        Outcome.KEPT
    assert f.read_text() == "a\nL\n"
    assert run.info_lines() == []


def test_non_convergent_replacement_is_reported(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "f"
    f.write_text("c=old\n")
    out = edit(run, f, promise("replace_patterns", "^c=.*$",
                               replace_with=body("replace_with", replace_value="c=new")))
    assert out == Outcome.REPAIRED
    assert f.read_text() == "c=new\n"
    assert run.info_lines()[0] == (
        f"   error: Promised replacement 'c=new' for pattern '^c=.*$' is not properly convergent "
        f"while editing '{f}' (pattern still matches the end-state replacement string 'c=new', "
        "consider use of a negative look ahead)")


def test_regions_blocks_first_occurrence_and_backrefs(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "f"
    f.write_text("x=1\nx=2\nfoo foo\n[s1]\nk=1\n[s2]\nk=2\n[s3]\n")
    sect = lambda x: body("select_region", select_start=rf"\[{x}\]", select_end=r"\[.*\]")  # noqa: E731
    out = edit(
        run, f,
        promise("replace_patterns", "^x=(?!9).*",
                replace_with=body("replace_with", replace_value="x=9", occurrences="first")),
        promise("replace_patterns", "f(o+)",
                replace_with=body("replace_with", replace_value="b$(match.1)r")),
        promise("insert_lines", "in-s2", select_region=sect("s2")),
        promise("insert_lines", "blk1\nblk2", insert_type="preserve_block"),
        promise("insert_lines", "m1\nm2"),
        promise("delete_lines", "k=.*", select_region=sect("s1")),
    )
    assert out == Outcome.REPAIRED
    assert f.read_text() == (
        "x=9\nx=2\nboor boor\n[s1]\n[s2]\nk=2\nin-s2\n[s3]\nblk1\nblk2\nm1\nm2\n")
    assert " warning: Setting replace-occurrences policy to 'first' is not convergent" in run.lines


def test_region_not_found_is_an_error(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "f"
    f.write_text("a\n")
    out = edit(run, f, promise("insert_lines", "x", select_region=body(
        "select_region", select_start=r"\[nope\]", select_end=r"\[.*\]")))
    assert out == Outcome.KEPT  # as cf-agent: an edit error without a change
    assert run.info_lines() == [
        f"   error: The promised line insertion 'x' could not select an edit region in '{f}'",
    ] * 3  # tried in each of the three edit passes


def test_field_operations(tmp_path: Path, run: FakeRun) -> None:
    f = tmp_path / "f"
    f.write_text("u1:p:x\nu2:p,r:x\nu3:p,r:x\nu4:r,b:x\nu5:1\n")

    def col(n: str, v: str, m: str) -> dict[str, object]:
        return body("edit_field", field_separator=":", select_field=n, value_separator=",",
                    field_value=v, field_operation=m, extend_fields="true")

    edit(run, f,
         promise("field_edits", "u1:.*", edit_field=col("2", "z", "append")),
         promise("field_edits", "u2:.*", edit_field=col("2", "q", "prepend")),
         promise("field_edits", "u3:.*", edit_field=col("2", "p", "delete")),
         promise("field_edits", "u4:.*", edit_field=col("2", "m", "alphanum")),
         promise("field_edits", "u5:.*", edit_field=col("5", "e", "set")))
    assert f.read_text() == "u1:p,z:x\nu2:q,p,r:x\nu3:r:x\nu4:b,m,r:x\nu5:1:::e\n"
    assert f"    info: Deleted column field sub-value 'p' in '{f}'" in run.lines
    assert f"    info: Inserted field sub-value 'm' in '{f}'" in run.lines


def test_edit_defaults_empty_no_backup_and_timestamp(tmp_path: Path, run: FakeRun) -> None:
    e = tmp_path / "e"
    e.write_text("a\nb\n")
    edit(run, e, promise("insert_lines", "only"),
         edit_defaults=body("edit_defaults", empty_file_before_editing="true",
                            edit_backup="false"))
    assert e.read_text() == "only\n"
    assert sorted(os.listdir(tmp_path)) == ["e"]
    ts = tmp_path / "ts"
    ts.write_text("old\n")
    edit(run, ts, promise("insert_lines", "new"),
         edit_defaults=body("edit_defaults", edit_backup="timestamp"))
    backups = [n for n in os.listdir(tmp_path) if n.startswith("ts_")]
    assert len(backups) == 1 and backups[0].endswith(".cf-before-edit")
    assert (tmp_path / backups[0]).read_text() == "old\n"


def test_max_file_size_and_missing_file(tmp_path: Path, run: FakeRun) -> None:
    big = tmp_path / "big"
    big.write_text("".join(f"{i}\n" for i in range(1, 21)))
    out = edit(run, big, promise("insert_lines", "new"),
               edit_defaults=body("edit_defaults", max_file_size="10"))
    assert out == Outcome.NOTKEPT
    assert "new" not in big.read_text()
    assert run.info_lines() == [
        f"    info: File '{big}' is bigger than the edit limit. max_file_size = 51 > 10 bytes",
        f"   error: File '{big}' was marked for editing but could not be opened",
        f"   error: Errors encountered when actuating files promise '{big}'",
    ]
    run.lines.clear()
    assert edit(run, tmp_path / "missing", promise("insert_lines", "x")) == Outcome.NOTKEPT
    assert not (tmp_path / "missing").exists()


def test_create_then_edit_keeps_empty_backup(tmp_path: Path, run: FakeRun) -> None:
    g = tmp_path / "g"
    assert edit(run, g, promise("insert_lines", "x"), create="true") == Outcome.REPAIRED
    assert g.read_text() == "x\n"
    assert (tmp_path / "g.cf-before-edit").read_text() == ""
    assert stat.S_IMODE(g.stat().st_mode) == 0o600


def test_warn_only_prints_diff_and_keeps_file(tmp_path: Path) -> None:
    run = FakeRun(warn=True)
    w = tmp_path / "w"
    w.write_text("old\nkeep\n")
    assert edit(run, w, promise("insert_lines", "newline"), promise("delete_lines", "old")) == \
        Outcome.NOTKEPT
    assert w.read_text() == "old\nkeep\n"
    assert run.info_lines()[-2:] == [
        f" warning: Should edit file '{w}', but only warning promised",
        f" warning: Warnings encountered when actuating files promise '{w}'",
    ]


def test_edit_through_symlink_edits_target(tmp_path: Path, run: FakeRun) -> None:
    target = tmp_path / "target"
    target.write_text("orig\n")
    link = tmp_path / "lnk"
    link.symlink_to(target)
    assert edit(run, link, promise("insert_lines", "added")) == Outcome.REPAIRED
    assert link.is_symlink()
    assert target.read_text() == "orig\nadded\n"
    assert (tmp_path / "target.cf-before-edit").read_text() == "orig\n"


def test_directory_is_not_edited(tmp_path: Path, run: FakeRun) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    assert edit(run, d, promise("insert_lines", "x")) == Outcome.NOTKEPT
    assert run.info_lines()[0] == f"    info: {d} is not a plain file"


def test_insert_file_type_and_whitespace(tmp_path: Path, run: FakeRun) -> None:
    src = tmp_path / "src"
    src.write_text("one\ntwo\n")
    f = tmp_path / "f"
    f.write_text("  two  \n")
    edit(run, f, promise("insert_lines", str(src), insert_type="file",
                         whitespace_policy=["ignore_leading", "ignore_trailing"]))
    assert f.read_text() == "  two  \none\n"
