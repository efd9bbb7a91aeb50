"""The token cache: same AST as a fresh parse, and never trusts what it cannot vouch for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.policy.parser import parse_file
from engine.policy.tokencache import TokenCache

POLICY = '''@if minimum_version(3.7)
bundle agent main { vars: "x" string => concat("a", "b"); reports: "$(x)"; }
@endif
body common control { bundlesequence => { "main" }; }
'''


def _entries(d: Path) -> list[Path]:
    return [p for p in d.iterdir() if not p.name.endswith(".tmp")]


def test_a_cached_parse_equals_a_fresh_one_and_is_read_back(tmp_path: Path) -> None:
    f = tmp_path / "p.cf"
    f.write_text(POLICY)
    cache = TokenCache.open(tmp_path / "cache")
    assert cache is not None
    first = parse_file(f, cache)
    assert len(_entries(tmp_path / "cache")) == 1
    entry = _entries(tmp_path / "cache")[0]
    before = entry.stat().st_mtime_ns
    again = parse_file(f, cache)
    assert again == first == parse_file(f)
    assert entry.stat().st_mtime_ns == before  # read, not rewritten
    # positions survive: the promise is where the file has it
    promise = again.bundles[0].promises[0]
    assert (promise.pos.line, promise.pos.col) == (2, 27)


def test_changed_text_is_a_different_entry(tmp_path: Path) -> None:
    f = tmp_path / "p.cf"
    cache = TokenCache.open(tmp_path / "cache")
    assert cache is not None
    f.write_text(POLICY)
    parse_file(f, cache)
    f.write_text(POLICY.replace('"a"', '"z"'))
    assert parse_file(f, cache) == parse_file(f)
    assert len(_entries(tmp_path / "cache")) == 2


def test_a_corrupt_entry_is_ignored_and_replaced(tmp_path: Path) -> None:
    f = tmp_path / "p.cf"
    f.write_text(POLICY)
    cache = TokenCache.open(tmp_path / "cache")
    assert cache is not None
    parse_file(f, cache)
    entry = _entries(tmp_path / "cache")[0]
    for junk in (b"", b"\x00garbage", b"\xe9" * 100):
        entry.write_bytes(junk)
        assert parse_file(f, cache) == parse_file(f)


def test_a_linked_entry_is_not_followed(tmp_path: Path) -> None:
    f = tmp_path / "p.cf"
    f.write_text(POLICY)
    cache = TokenCache.open(tmp_path / "cache")
    assert cache is not None
    parse_file(f, cache)
    entry = _entries(tmp_path / "cache")[0]
    other = tmp_path / "other.cf"
    other.write_text('bundle agent evil { reports: "no"; }\n')
    planted = tmp_path / "planted"
    parse_file(other, TokenCache.open(tmp_path / "c2"))
    planted_src = _entries(tmp_path / "c2")[0]
    entry.unlink()
    entry.symlink_to(planted_src)
    assert parse_file(f, cache) == parse_file(f)
    assert not planted.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs another user's ownership: run as root")
def test_a_directory_others_can_write_or_own_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert TokenCache.open(shared) is None
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    assert TokenCache.open(theirs) is None
    assert TokenCache.open(tmp_path / "mine") is not None
