"""The package layers of docs/architecture.md, checked on the import graph.

Every ``import`` in ``engine/`` and ``tui/`` counts, including those under
``TYPE_CHECKING`` and inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.importgraph import graph, loops, modules

ROOT = Path(__file__).resolve().parents[1]

# Import loops that remain (issue: the evaluator and the promise types still call
# each other). The test fails on any loop not listed here, and on a listed loop that
# is gone, so this list only shrinks.
KNOWN_LOOPS: list[set[str]] = []


# Helpers under engine/eval that actuators still import (data formats, mustache); none
# of them is the evaluator or reaches it. Moving them below both layers
# empties this list; it only shrinks.
ACTUATORS_STILL_USE: set[str] = {
    "engine.eval.functions.data_fns", "engine.eval.functions.readers",
    "engine.eval.functions.registry", "engine.eval.functions.yaml_fns", "engine.eval.mustache",
    "engine.eval.values",
}
# The evaluator proper: what an actuator reaches only through RunContext.
EVALUATOR = ("engine.eval.agent", "engine.eval.bundles", "engine.eval.resolve",
             "engine.eval.outcomes", "engine.eval.aborts", "engine.eval.types",
             "engine.eval.run", "engine.eval.inputs")


def _imports_from(edges: dict[str, set[str]], package: str, forbidden: tuple[str, ...]
                  ) -> list[str]:
    return sorted(f"{a} -> {b}" for a, bs in edges.items() if a.startswith(package)
                  for b in bs if b.startswith(forbidden))


def test_state_imports_nothing_from_the_evaluator_or_the_promise_types() -> None:
    assert _imports_from(graph(), "engine.state", ("engine.promises", "engine.eval")) == []


def test_the_policy_front_end_imports_nothing_from_the_evaluator() -> None:
    assert _imports_from(graph(), "engine.policy", ("engine.eval",)) == []


def test_actuators_reach_the_evaluator_only_through_the_run_context() -> None:
    edges = graph()
    assert _imports_from(edges, "engine.promises", EVALUATOR) == []
    used = {e.split(" -> ")[1] for e in _imports_from(edges, "engine.promises", ("engine.eval",))}
    assert used - ACTUATORS_STILL_USE == set(), "engine.promises imports more of engine.eval"
    assert ACTUATORS_STILL_USE - used == set(), "no longer imported: remove from the list"


def test_evaluation_level_promise_types_live_in_the_evaluator() -> None:
    for name in ("vars", "classes", "defaults", "meta"):
        assert not (ROOT / "engine" / "promises" / f"{name}.py").exists(), name


def test_the_engine_never_imports_the_console() -> None:
    edges = graph()
    assert _imports_from(edges, "engine.", ("tui",)) == [
        e for e in _imports_from(edges, "engine.commands.console", ("tui",))]


def test_no_new_import_loops_and_the_known_ones_only_shrink() -> None:
    found = loops(graph())
    new = [sorted(c) for c in found if c not in KNOWN_LOOPS]
    gone = [sorted(c) for c in KNOWN_LOOPS if c not in found]
    assert not new, f"new import loops: {new}"
    assert not gone, f"loops that no longer exist, remove them from KNOWN_LOOPS: {gone}"


# vigil's daemons, one package each (docs/architecture.md): none imports another's, and
# what they share imports none of them, but for the read side (status, health), which
# reads execd's status file and schedule.
DAEMON_PACKAGES = ("execd", "monitord", "serverd", "supervise")
DAEMONS_READ_SIDE = {"engine.daemons.status", "engine.daemons.health"}


def _daemon_package(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["engine", "daemons"]:
        return None
    return parts[2] if len(parts) > 2 and parts[2] in DAEMON_PACKAGES else "shared"


def test_each_daemon_imports_no_other_daemon_and_the_shared_part_none() -> None:
    crossing = []
    for a, bs in graph().items():
        pa = _daemon_package(a)
        for b in bs:
            pb = _daemon_package(b)
            if pa is None or pb in (None, "shared", pa) or a in DAEMONS_READ_SIDE:
                continue
            crossing.append(f"{a} -> {b}")
    assert sorted(crossing) == []


# The console reads state through engine.inspect and acts through the job runner (which
# runs `python -m engine ...` commands): these are all of the engine it may import.
TUI_MAY_IMPORT = ("engine.inspect", "engine.workdir", "engine.settings")


def test_the_console_imports_only_the_read_models_the_workdir_and_the_settings() -> None:
    edges = graph()
    used = [e for e in _imports_from(edges, "tui", ("engine",))
            if not e.split(" -> ")[1].startswith(TUI_MAY_IMPORT)]
    assert used == []


# Modules that load others by name from a declared table (plug-in registries), and the
# one that loads a third-party extension module from its file. Nowhere else.
IMPORTLIB_REGISTRIES = {
    "engine.cli",  # SUBCOMMANDS: subcommand modules, imported when that command runs
    "engine.promises.registry",  # ACTUATOR_MODULES: actuators, imported on first use
    "engine.eval.functions.registry",  # FAMILIES: the policy functions' modules
    "engine.daemons.execd.watch",  # watchfiles' Rust notifier without its package __init__
}

# Each primitive that must have one owner: the names it goes by -> the module defining it.
ONE_DEFINITION: dict[str, tuple[set[str], str]] = {
    "canonify": ({"canonify", "canonify_str", "_canonify", "_canon"}, "engine.text"),
    "atomic write": ({"atomic_write", "write_atomic", "atomic_file", "_atomic_write"},
                     "engine.atomicwrite"),
    "duration": ({"duration", "run_time", "human_duration", "format_duration", "seconds_short",
                  "_fmt_uptime", "_ago", "_took"}, "engine.text"),
    "run summary": ({"RunSummary"}, "engine.state.runs"),
}


def _trees() -> dict[str, ast.Module]:
    return {mod: ast.parse(path.read_text()) for mod, path in modules().items()}


def test_importlib_only_in_the_declared_registries() -> None:
    users = set()
    for mod, tree in _trees().items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "importlib"
                                                     for a in node.names)
                    or isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0]
                    == "importlib"
                    or isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "__import__"):
                users.add(mod)
    assert users == IMPORTLIB_REGISTRIES


def test_no_import_error_fallbacks_around_our_ownmodules() -> None:
    def ours(stmt: ast.stmt) -> bool:
        for node in ast.walk(stmt):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0]
                                                     in ("engine", "tui")):
                return True
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] in ("engine", "tui")
                                                    for a in node.names):
                return True
        return False

    def catches_import_error(h: ast.ExceptHandler) -> bool:
        names = [n.id for n in ast.walk(h.type) if isinstance(n, ast.Name)] if h.type else ["*"]
        return bool({"ImportError", "ModuleNotFoundError", "*"} & set(names))

    found = [
        f"{mod}:{node.lineno}"
        for mod, tree in _trees().items() for node in ast.walk(tree)
        if isinstance(node, ast.Try) and any(catches_import_error(h) for h in node.handlers)
        and any(ours(s) for s in node.body)
    ]
    assert found == []


def test_each_primitive_is_defined_once_by_its_owner() -> None:
    defs: dict[str, list[str]] = defaultdict(list)  # module-level functions and classes
    for mod, tree in _trees().items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs[node.name].append(mod)
    for what, (names, owner) in ONE_DEFINITION.items():
        where = {name: defs[name] for name in names if defs[name]}
        assert all(mods == [owner] for mods in where.values()), f"{what}: {where}"
        assert where, f"{what}: no definition left in {owner}"
