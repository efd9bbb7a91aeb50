"""The language table: its content, and that it is what cf-promises 3.21 describes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.policy import syntax
from tests.engine.policy.conftest import CfPromises


def test_table_content() -> None:
    t = syntax.table()
    assert "files" in t.bundle_types["agent"] and "files" not in t.bundle_types["common"]
    assert t.bundle_types["edit_line"] >= {
        "insert_lines",
        "delete_lines",
        "replace_patterns",
        "field_edits",
    }
    perms = t.promise_types["files"]["perms"]
    assert (perms.type, perms.body_type) == ("body", "perms")
    assert t.promise_types["methods"]["usebundle"].type == "bundle"
    assert t.body_types["perms"]["inherit_from"].body_type is None
    assert t.promise_types["files"]["create"].range == "true,false,yes,no,on,off"
    assert t.functions["canonify"].parameters == ("string",)
    assert t.functions["concat"].variadic


def test_supported_subset() -> None:
    assert all(syntax.promise_attributes(p) is not None for p in syntax.SUPPORTED_PROMISE_TYPES)
    assert syntax.is_supported("files") and not syntax.is_supported("storage")
    assert syntax.attribute_supported("files", "perms")
    assert not syntax.attribute_supported("files", "acl")


@pytest.mark.cfengine
def test_data_file_matches_cf_promises(cf_promises: CfPromises, tmp_path: Path) -> None:
    cp = cf_promises.run("--syntax-description", "json")
    assert cp.returncode == 0
    ours = json.loads(syntax.DATA_FILE.read_text())
    assert syntax.slim(json.loads(cp.stdout)) == ours
