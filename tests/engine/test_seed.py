"""Seeding a workdir with the shipped policy, which is package data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import engine
from engine.seed import seed_workdir, shipped_policy_dir
from engine.workdir import Workdir
from tests.cfengine import cf_env, requires_cfengine

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


def _promises(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "promises", *args], capture_output=True, text=True,
        timeout=60, cwd=cwd, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_the_shipped_policy_validates_where_it_stands(tmp_path: Path) -> None:
    cp = _promises("-f", "policies/promises.cf", "-w", str(tmp_path), cwd=ROOT)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cp = _promises("-f", str(shipped_policy_dir() / "promises.cf"), "-w", str(tmp_path), cwd=tmp_path)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_the_shipped_policy_validates_where_it_is_seeded(tmp_path: Path) -> None:
    wd = Workdir(tmp_path / "wd")
    seed_workdir(wd)
    cp = _promises("-w", str(wd.root), cwd=tmp_path)
    assert cp.returncode == 0, cp.stdout + cp.stderr


@requires_cfengine
def test_cf_promises_accepts_the_shipped_policy_too(tmp_path: Path) -> None:
    wd = Workdir(tmp_path / "wd")
    seed_workdir(wd)
    for entry in (shipped_policy_dir() / "promises.cf", wd.promises_cf):
        cp = subprocess.run(
            ["cf-promises", "-f", str(entry)], capture_output=True, text=True, timeout=60,
            check=False, env=cf_env(tmp_path / "cf"),
        )
        assert cp.returncode == 0, cp.stdout + cp.stderr
