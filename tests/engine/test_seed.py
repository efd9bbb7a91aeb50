"""Seeding a workdir with the shipped policy, which is package data."""

from __future__ import annotations

from pathlib import Path

import engine
from engine.seed import seed_workdir, shipped_policy_dir
from engine.workdir import Workdir

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_policy_is_package_data() -> None:
    src = shipped_policy_dir()
    assert src == Path(engine.__file__).resolve().parent / "data" / "policies"
    assert {p.relative_to(src).as_posix() for p in src.rglob("*.cf")} >= {
        "promises.cf", "lib/bodies.cf", "lib/keepalive.cf",
    }
    # One source of truth: the checkout's policies/ is the package data itself.
    assert (ROOT / "policies").resolve() == src


def test_seed_copies_it_once_and_never_overwrites(tmp_path: Path) -> None:
    wd = Workdir(tmp_path / "wd")
    written = seed_workdir(wd)
    assert {p.relative_to(wd.inputs).as_posix() for p in written} >= {
        "promises.cf", "lib/keepalive.cf",
    }
    assert wd.promises_cf.read_text() == (shipped_policy_dir() / "promises.cf").read_text()
    wd.promises_cf.write_text("# mine\n")
    assert seed_workdir(wd) == []
    assert wd.promises_cf.read_text() == "# mine\n"
