"""Every test keeps its state to itself: ``$XDG_STATE_HOME`` (where vigil keeps a user's
workdir and the console's records of runs it forced on a CFEngine host) points into the
test's own temp directory, never at the real ``~/.local/state``.

Tiers: the ``cfengine`` marker is put on every test that runs a CFEngine program, here at
collection (see :mod:`tests.cfengine`); ``slow`` is written on tests that take more than
about five seconds. ``make test-quick`` runs ``-m "not slow and not cfengine"``.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from tests import cfengine

# Fixtures that hand a test a CFEngine program or workdir (or None, where absent).
CFENGINE_FIXTURES = frozenset({"cf_workdir", "cf_keys", "cf_serverd", "cf_promises"})
# A test module that imports from these runs CFEngine's programs where they are installed.
CFENGINE_HELPERS = frozenset({"tests.cfengine", "tests.differential"})
_uses: dict[str, bool] = {}


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))


def _module_uses_cfengine(module: ModuleType) -> bool:
    if module.__name__ not in _uses:
        _uses[module.__name__] = any(getattr(obj, "__module__", None) in CFENGINE_HELPERS
                                     for obj in vars(module).values())
    return _uses[module.__name__]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``cfengine`` every test that runs a CFEngine program (marked so, using a
    CFEngine fixture, or in a module that uses ``tests.cfengine`` or ``tests.differential``);
    skip the ones marked ``requires_cfengine`` where a program they need is absent."""
    for item in items:
        marks = list(item.iter_markers("cfengine"))
        module = getattr(item, "module", None)
        if not marks and (not CFENGINE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
                          or (module is not None and _module_uses_cfengine(module))):
            item.add_marker(pytest.mark.cfengine)
        required = [m for m in marks if m.kwargs.get("required")]
        if required:
            absent = cfengine.missing(*(p for m in required for p in m.args))
            if absent:
                item.add_marker(pytest.mark.skip(
                    reason=f"CFEngine is not installed ({', '.join(absent)} absent)"))
