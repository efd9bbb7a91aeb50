"""A key pair made once (tests.cfengine.key_pair), copied into every cf-agent workdir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cfengine import HAVE_CFENGINE, key_pair
from tests.engine.locks_e2e.harness import SamePath


@pytest.fixture(scope="session")
def cf_keys() -> Path | None:
    """``ppkeys`` with ``localhost.priv``/``.pub``; None where cf-agent is absent."""
    return key_pair() if HAVE_CFENGINE else None


@pytest.fixture
def site(tmp_path: Path, cf_keys: Path | None) -> Iterator[SamePath]:
    yield SamePath(tmp_path, cf_keys)
