"""Every test keeps its state to itself: ``$XDG_STATE_HOME`` (where vigil keeps a user's
workdir and the console's records of runs it forced on a CFEngine host) points into the
test's own temp directory, never at the real ``~/.local/state``.

Tiers: the ``cfengine`` marker is put on every test that runs a CFEngine program, here at
collection (see :mod:`tests.cfengine`); ``slow`` is written on tests that take more than
about two seconds on a loaded two-core machine. ``make test-quick`` runs
``-m "not slow and not cfengine"``; docs/CONTRIBUTING.md has the tiers.
"""

from __future__ import annotations

from types import CodeType, FunctionType, ModuleType

import pytest

from tests import cfengine

# Helpers decorated tests.cfengine.runs_cfengine run CFEngine's programs where installed;
# a test naming these modules themselves (cfengine.which(...)) does too.
CFENGINE_HELPERS = frozenset({"tests.cfengine", "tests.cfhost", "tests.differential"})
_reaches: dict[object, bool] = {}


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def _reaches_cfengine(func: object) -> bool:
    """Whether ``func`` names a helper marked ``runs_cfengine``, itself or through the
    functions of ``tests`` it calls (their global names, followed once each)."""
    if func in _reaches:
        return _reaches[func]
    _reaches[func] = False  # a cycle reaches nothing new
    code = getattr(func, "__code__", None)
    found = False
    if code is not None:
        space = getattr(func, "__globals__", {})
        for name in _code_names(code):
            obj = space.get(name)
            if isinstance(obj, ModuleType):
                if obj.__name__ in CFENGINE_HELPERS:  # cfengine.which(...)
                    found = True
                    break
                continue
            if getattr(obj, "runs_cfengine", False) is True or (
                    isinstance(obj, FunctionType) and str(obj.__module__).startswith("tests.")
                    and _reaches_cfengine(obj)):
                found = True
                break
    _reaches[func] = found
    return found


def _uses_cfengine(item: pytest.Item) -> bool:
    """The test function, or a fixture it uses, calls into a CFEngine helper."""
    funcs = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        funcs += [d.func for defs in info.name2fixturedefs.values() for d in defs]
    return any(_reaches_cfengine(f) for f in funcs if f is not None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``cfengine`` every test that runs a CFEngine program (marked so, or calling a
    ``runs_cfengine`` helper, itself or through a fixture); skip the ones marked
    ``requires_cfengine`` where a program they need is absent."""
    for item in items:
        marks = list(item.iter_markers("cfengine"))
        if not marks and _uses_cfengine(item):
            item.add_marker(pytest.mark.cfengine)
        required = [m for m in marks if m.kwargs.get("required")]
        if required:
            absent = cfengine.missing(*(p for m in required for p in m.args))
            if absent:
                item.add_marker(pytest.mark.skip(
                    reason=f"CFEngine is not installed ({', '.join(absent)} absent)"))
