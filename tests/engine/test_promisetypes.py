"""The one promise-type table (engine.promisetypes) against CFEngine's language table
and the modules it names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from engine import promisetypes as pt
from engine.policy import syntax

ROOT = Path(__file__).resolve().parents[2]


def test_each_bundle_type_orders_exactly_the_types_cfengine_allows_there() -> None:
    allowed = syntax.table().bundle_types
    assert set(pt.AGENT_ORDER) == allowed["agent"]
    assert set(pt.COMMON_ORDER) == allowed["common"]
    assert set(pt.EDIT_ORDER) == allowed["edit_line"] | allowed["edit_xml"]
    assert {"access", "roles"} <= allowed["server"] and "measurements" in allowed["monitor"]
    assert len(set(pt.AGENT_ORDER)) == len(pt.AGENT_ORDER)


def test_every_supported_type_is_cfengine_s_and_has_its_handler() -> None:
    for name in pt.SUPPORTED:
        assert syntax.promise_attributes(name) is not None, name
        t = pt.BY_NAME[name]
        if t.handled_by == pt.ACTUATOR:
            module = importlib.import_module(t.module)
            assert callable(module.actuate), name
            assert callable(getattr(module, "after_pass", None)) == t.after_pass, name
        elif t.module:
            importlib.import_module(t.module)
    for name, lvals in pt.UNSUPPORTED_ATTRIBUTES.items():
        attrs = syntax.promise_attributes(name) or {}
        assert lvals <= set(attrs), name


def test_evaluation_level_types_are_unlocked_and_recurring() -> None:
    assert {"meta", "vars", "defaults", "classes"} == pt.EVALUATION_LEVEL
    assert pt.UNLOCKED == pt.RECURRING == pt.EVALUATION_LEVEL


def _string_tuples(tree: ast.AST) -> list[set[str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.Set, ast.List)):
            items = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            if len(items) >= 3:
                found.append(items)
    return found


def test_no_other_module_keeps_its_own_list_of_promise_types() -> None:
    """A literal of three or more promise-type names outside the table is a second table."""
    names = set(pt.BY_NAME)
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        if path.name == "promisetypes.py":
            continue
        for items in _string_tuples(ast.parse(path.read_text(encoding="utf-8"))):
            if len(items & names) >= 3 and items <= names | {"reports"}:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(items)}")
    assert offenders == []
