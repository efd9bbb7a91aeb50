"""A key pair made once by cf-key, copied into every cf-agent workdir."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.locks_e2e.harness import HAVE_CF_AGENT, SamePath, env_for, make_workdir


@pytest.fixture(scope="session")
def cf_keys(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """``ppkeys`` with ``localhost.priv``/``.pub``; None where cf-agent is absent."""
    if not HAVE_CF_AGENT:
        return None
    base = tmp_path_factory.mktemp("cfkeys") / "wd"
    make_workdir("vigil", base, None)  # no keys to copy yet
    agent = shutil.which("cf-agent")
    assert agent is not None
    (base / "bin").symlink_to(Path(agent).parent)
    subprocess.run(["cf-key"], env=env_for(base), check=True, capture_output=True, timeout=60)
    return base / "ppkeys"


@pytest.fixture
def site(tmp_path: Path, cf_keys: Path | None) -> Iterator[SamePath]:
    yield SamePath(tmp_path, cf_keys)
