"""Every test keeps its state to itself: ``$XDG_STATE_HOME`` (where vigil keeps a user's
workdir and the console's records of runs it forced on a CFEngine host) points into the
test's own temp directory, never at the real ``~/.local/state``."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
