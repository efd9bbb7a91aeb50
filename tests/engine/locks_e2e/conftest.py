"""``site``: workdirs for cf-agent and vigil at one path (harness.SamePath)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.locks_e2e.harness import SamePath


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SamePath]:
    yield SamePath(tmp_path)
