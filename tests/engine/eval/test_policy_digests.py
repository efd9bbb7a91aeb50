"""Each policy file is read and hashed once per load: the validation stamp and the run
report's policy hash come from the digests the loader took."""

from __future__ import annotations

import builtins
import io
import os
from collections import Counter
from pathlib import Path

import pytest

from engine.eval import run
from engine.log import LineLogger
from engine.policy.ast import Policy
from engine.policy.source import digest

MAIN = 'body common control { inputs => { "inc.cf" }; }\nbundle agent main { reports: "hi"; }\n'
INC = 'bundle agent other { reports: "other"; }\n'


def _load(tmp_path: Path) -> Policy:
    policy, error = run.load_valid_policy(
        str(tmp_path / "p.cf"), tmp_path / "wd", LineLogger(stream=io.StringIO())
    )
    assert error is None and policy is not None
    return policy


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "wd" / "state").mkdir(parents=True, mode=0o700)
    (tmp_path / "p.cf").write_text(MAIN)
    (tmp_path / "inc.cf").write_text(INC)
    return tmp_path


def test_the_loader_keeps_each_files_digest(files: Path) -> None:
    policy = _load(files)
    assert sorted(policy.digests.items()) == sorted(
        (f.path, digest(Path(f.path).read_bytes())) for f in policy.files
    )
    assert len(policy.files) == 2


@pytest.mark.parametrize("warm", [False, True])
def test_a_load_opens_each_policy_file_once(
    files: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:
    if warm:
        _load(files)  # the parse cache holds both files now
    opened: Counter[str] = Counter()
    real_os_open, real_open = os.open, builtins.open

    def os_open(path: str, *a: object, **k: object) -> int:
        opened[os.path.realpath(path)] += 1
        return real_os_open(path, *a, **k)  # type: ignore[arg-type]

    def open_(path: object, *a: object, **k: object) -> object:
        if isinstance(path, (str, Path)):
            opened[os.path.realpath(path)] += 1
        return real_open(path, *a, **k)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)  # Path.read_bytes opens through io
    policy = _load(files)
    run._validation_stamp(policy)
    run._policy_hash(policy)
    for name in ("p.cf", "inc.cf"):
        assert opened[os.path.realpath(files / name)] == 1, name


def test_stamp_and_hash_follow_the_content_of_every_file(files: Path) -> None:
    first = _load(files)
    stamp, phash = run._validation_stamp(first), run._policy_hash(first)
    again = _load(files)
    assert (run._validation_stamp(again), run._policy_hash(again)) == (stamp, phash)
    (files / "inc.cf").write_text(INC.replace("other\"", "changed\""))
    changed = _load(files)
    assert run._validation_stamp(changed) != stamp
    assert run._policy_hash(changed) != phash
    (files / "inc.cf").write_text(INC)
    back = _load(files)
    assert (run._validation_stamp(back), run._policy_hash(back)) == (stamp, phash)


def test_digests_are_those_of_the_loaded_text_not_a_later_one(files: Path) -> None:
    policy = _load(files)
    phash = run._policy_hash(policy)
    (files / "p.cf").write_text(MAIN + "# edited after the load\n")
    assert run._policy_hash(policy) == phash  # not read again


def test_a_policy_built_without_the_loader_is_hashed_from_its_files(tmp_path: Path) -> None:
    from engine.policy.parser import parse_file

    f = tmp_path / "x.cf"
    f.write_text(INC)
    policy = Policy()
    policy.add(parse_file(f))
    assert policy.digests == {}
    phash = run._policy_hash(policy)
    f.write_text(INC + "\n")
    assert run._policy_hash(policy) != phash
