"""Agents started at once on one workdir: every promise verified exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.state.lmdbcheck import check
from engine.state.lmdbstore import reading

ROOT = Path(__file__).resolve().parents[3]
WORKERS = 4
NAMES = 200


def _run(tmp_path: Path, ifelapsed: int) -> tuple[Counter[str], Path]:
    db = tmp_path / "state" / "cf_lock.lmdb"
    db.parent.mkdir()
    go = tmp_path / "go"
    out = tmp_path / "won.txt"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.engine.state.lock_worker", str(db), str(go), str(out),
             str(NAMES), str(ifelapsed)],
            cwd=ROOT,
        )
        for _ in range(WORKERS)
    ]
    try:
        time.sleep(0.5)  # let every worker open the database and wait
        go.touch()
        for p in procs:
            assert p.wait(timeout=60) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    events: dict[str, list[str]] = {}
    for line in out.read_text().splitlines():
        kind, name, _pid = line.split()
        events.setdefault(name, []).append(kind)
    for name, seq in events.items():  # never two holders at once: S E S E ...
        assert seq == ["S", "E"] * (len(seq) // 2), (name, seq)
    return Counter({name: len(seq) // 2 for name, seq in events.items()}), db


def test_each_promise_won_exactly_once(tmp_path: Path):
    wins, db = _run(tmp_path, ifelapsed=1)
    assert len(wins) == NAMES
    assert set(wins.values()) == {1}, [n for n, c in wins.items() if c != 1][:5]
    assert check(db, deep=True).ok
    with reading(db) as txn:
        assert txn is not None
        keys = [bytes(k) for k, _ in txn.cursor()]
    assert sum(k.startswith(b"last.") for k in keys) == NAMES
    assert not any(k.startswith(b"lock.") for k in keys)  # all released


def test_ifelapsed_zero_never_runs_one_promise_twice_at_once(tmp_path: Path):
    """With ifelapsed 0 several agents may each run a promise, one after the other;
    the database stays sound and every lock ends released."""
    wins, db = _run(tmp_path, ifelapsed=0)
    assert len(wins) == NAMES and all(1 <= c <= WORKERS for c in wins.values())
    assert check(db, deep=True).ok
    with reading(db) as txn:
        assert txn is not None
        assert not any(bytes(k).startswith(b"lock.") for k, _ in txn.cursor())


ROUNDS = 200


@pytest.mark.slow
def test_first_runs_at_once_never_run_a_promise_twice(tmp_path: Path):
    """Four agents start together on a fresh workdir, 200 times: creating the
    lock database is race-free, so exactly one of them wins the promise each time
    and no database is taken for damaged while another agent creates it."""
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.engine.state.first_run_worker"],
                         cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
        for _ in range(WORKERS)
    ]
    try:
        doubles = []
        for i in range(ROUNDS):
            state = tmp_path / f"r{i}" / "state"
            state.mkdir(parents=True)
            db = state / "cf_lock.lmdb"
            if i % 4 == 3:
                db.touch()  # as an agent leaves it between creating and initialising
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"{db}\n")
                p.stdin.flush()
            answers = []
            for p in procs:
                assert p.stdout is not None
                answers.append(p.stdout.readline().strip())
            if not set(answers) <= {"won", "lost"}:  # a worker died: show why
                dead = [p.stderr.read() for p in procs if p.poll() is not None and p.stderr]
                raise AssertionError(f"round {i}: {answers}: {dead}")
            if answers.count("won") != 1 or list(state.glob("*.corrupt-*")):
                doubles.append((i, answers, sorted(f.name for f in state.iterdir())))
        assert doubles == []
    finally:
        for p in procs:
            if p.stdin is not None:
                p.stdin.close()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    errors = [p.stderr.read() for p in procs if p.stderr is not None]
    assert not any(errors), errors
