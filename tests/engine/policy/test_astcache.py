"""The parse cache: same AST as a fresh parse, and never trusts what it cannot vouch for."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from engine.policy import astcache
from engine.policy.astcache import ParseCache
from engine.policy.diagnostics import PolicySyntaxError
from engine.policy.loader import parse_input
from engine.policy.parser import parse_file
from engine.policy.source import digest

POLICY = '''@if minimum_version(3.7)
bundle agent main { vars: "x" string => concat("a", "b"); reports: "$(x)"; }
@endif
body common control { bundlesequence => { "main" }; }
'''


def _entries(d: Path) -> list[Path]:
    return [p for p in d.iterdir() if not p.name.endswith(".tmp")]


def _cache(tmp_path: Path, name: str = "cache") -> ParseCache:
    cache = ParseCache.open(tmp_path / name)
    assert cache is not None
    return cache


def _file(tmp_path: Path, text: str = POLICY) -> Path:
    f = tmp_path / "p.cf"
    f.write_text(text)
    return f


def test_a_cached_parse_equals_a_fresh_one_and_is_read_back(tmp_path: Path) -> None:
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    first, d1 = parse_input(str(f), cache)
    (entry,) = _entries(tmp_path / "cache")
    assert entry.name == f"{digest(f.read_bytes())}.{astcache.FORMAT}" and d1 in entry.name
    assert entry.stat().st_mode & 0o777 == 0o600
    before = entry.stat().st_mtime_ns
    again, d2 = parse_input(str(f), cache)
    assert again == first == parse_file(f)
    assert d1 == d2
    assert entry.stat().st_mtime_ns == before  # read, not rewritten
    # positions survive, counted in the text after the macros
    promise = again.bundles[0].promises[0]
    assert (promise.pos.line, promise.pos.col) == (2, 27)


def test_a_hit_rebuilds_without_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    fresh, _ = parse_input(str(f), cache)

    def no_parse(text: str, path: str) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr("engine.policy.parser.parse_source", no_parse)
    assert parse_input(str(f), cache)[0] == fresh


def test_changed_text_misses_the_cache(tmp_path: Path) -> None:
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    _, d1 = parse_input(str(f), cache)
    f.write_text(POLICY.replace('"a"', '"z"'))
    changed, d2 = parse_input(str(f), cache)
    assert d1 != d2
    assert changed == parse_file(f)
    assert changed.bundles[0].promises[0].constraints[0].rval.args[0].value == "z"  # type: ignore[union-attr]
    assert len(_entries(tmp_path / "cache")) == 2


def test_the_same_text_under_another_path_names_that_path(tmp_path: Path) -> None:
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    parse_input(str(f), cache)
    other = tmp_path / "other.cf"
    other.write_text(POLICY)
    pf, _ = parse_input(str(other), cache)
    assert pf == parse_file(other) and pf.path == str(other)
    assert pf.bundles[0].promises[0].pos.file == str(other)
    assert len(_entries(tmp_path / "cache")) == 1


def test_syntax_errors_come_from_a_parse_and_are_not_cached(tmp_path: Path) -> None:
    f = _file(tmp_path, 'bundle agent main { reports: "x" }\n')
    cache = _cache(tmp_path)
    for _ in range(2):
        with pytest.raises(PolicySyntaxError) as e:
            parse_input(str(f), cache)
        assert e.value.diagnostic.pos.line == 1
    assert _entries(tmp_path / "cache") == []


def _junk(good: bytes) -> list[bytes]:
    value = marshal.loads(good)
    tag, dig, processed, data = value
    other = marshal.dumps((tag, "0" * 64, processed, data))
    return [
        b"",
        b"\x00garbage",
        b"\xe9" * 100,
        good[: len(good) // 2],  # truncated
        good[:-1],
        marshal.dumps(None),
        marshal.dumps((tag, dig, processed)),  # a field short
        marshal.dumps((tag, dig, processed, ("bundles",))),  # wrong shape inside
        marshal.dumps((tag, dig, 42, data)),
        marshal.dumps(("vigil-tokens-1", dig, processed, data)),  # another format
        marshal.dumps((tag + "x", dig, processed, data)),  # another parser
        other,  # made for other content
        marshal.dumps([tag, dig, processed, data]),
    ]


def test_corrupt_truncated_and_foreign_entries_are_ignored_and_replaced(tmp_path: Path) -> None:
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    fresh = parse_file(f)
    parse_input(str(f), cache)
    (entry,) = _entries(tmp_path / "cache")
    good = entry.read_bytes()
    for junk in _junk(good):
        entry.write_bytes(junk)
        assert parse_input(str(f), cache)[0] == fresh
        assert entry.read_bytes() == good  # parsed again and stored again


def test_an_entry_for_other_content_is_not_used(tmp_path: Path) -> None:
    """An entry copied under another file's name (another digest) is refused."""
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    parse_input(str(f), cache)
    (entry,) = _entries(tmp_path / "cache")
    g = tmp_path / "g.cf"
    g.write_text('bundle agent other { reports: "no"; }\n')
    planted = tmp_path / "cache" / f"{digest(g.read_bytes())}.{astcache.FORMAT}"
    planted.write_bytes(entry.read_bytes())
    assert parse_input(str(g), cache)[0] == parse_file(g)


def test_a_linked_entry_is_not_followed(tmp_path: Path) -> None:
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    parse_input(str(f), cache)
    (entry,) = _entries(tmp_path / "cache")
    # a well-formed entry for f's digest, holding another policy, linked in its place
    g = tmp_path / "g.cf"
    g.write_text('bundle agent evil { reports: "no"; }\n')
    parse_input(str(g), _cache(tmp_path, "c2"))
    (evil,) = _entries(tmp_path / "c2")
    tag, _, processed, data = marshal.loads(evil.read_bytes())
    planted = tmp_path / "planted"
    planted.write_bytes(marshal.dumps((tag, digest(f.read_bytes()), processed, data)))
    entry.unlink()
    entry.symlink_to(planted)
    assert parse_input(str(f), cache)[0] == parse_file(f)
    assert not entry.is_symlink()  # replaced, not written through
    assert marshal.loads(planted.read_bytes())[3] == data


def test_a_changed_front_end_does_not_use_older_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _file(tmp_path)
    parse_input(str(f), _cache(tmp_path))
    (entry,) = _entries(tmp_path / "cache")
    old_tag = marshal.loads(entry.read_bytes())[0]
    monkeypatch.setattr(astcache, "FRONT_END", (*astcache.FRONT_END, "validate.py"))
    newer = _cache(tmp_path)
    assert newer.tag != old_tag
    assert parse_input(str(f), newer)[0] == parse_file(f)
    assert marshal.loads(entry.read_bytes())[0] == newer.tag


def test_a_directory_that_is_not_safe_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert ParseCache.open(shared) is None
    (tmp_path / "file").write_text("")
    assert ParseCache.open(tmp_path / "file") is None
    (tmp_path / "link").symlink_to(tmp_path / "mine-target", target_is_directory=True)
    (tmp_path / "mine-target").mkdir(mode=0o700)
    assert ParseCache.open(tmp_path / "link") is None
    assert ParseCache.open(tmp_path / "no" / "parent") is None
    assert ParseCache.open(tmp_path / "mine") is not None
    assert (tmp_path / "mine").stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs another user's ownership: run as root")
def test_a_directory_or_entry_others_own_is_not_used(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    assert ParseCache.open(theirs) is None
    f = _file(tmp_path)
    cache = _cache(tmp_path)
    parse_input(str(f), cache)
    (entry,) = _entries(tmp_path / "cache")
    os.chown(entry, 65534, 65534)
    assert parse_input(str(f), cache)[0] == parse_file(f)
    assert entry.stat().st_uid == os.geteuid()  # not read: parsed and stored afresh
