"""The console's layer rule, on the import graph of tui/ (issue 12).

tui/ may import, of the project, only ``engine.inspect``, ``engine.workdir`` and
``engine.settings`` (the job runner, tui/data/jobs.py, reaches the rest of the engine by
running commands); and never through ``importlib`` or an ``except ImportError`` fallback.
"""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parents[2] / "tui"
ALLOWED = ("engine.inspect", "engine.workdir", "engine.settings")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "engine":  # from engine import inspect
                found += [(node.lineno, f"engine.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_tui_imports_only_the_read_models_and_settings() -> None:
    bad = []
    for path in sorted(TUI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, name in _imports(tree):
            top = name.split(".")[0]
            if top == "engine" and not any(name == a or name.startswith(a + ".") for a in ALLOWED):
                bad.append(f"{path.relative_to(TUI.parent)}:{line} imports {name}")
            if top == "importlib":
                bad.append(f"{path.relative_to(TUI.parent)}:{line} imports importlib")
    assert bad == []


def test_no_import_error_fallbacks_in_tui_or_inspect() -> None:
    bad = []
    for root in (TUI, TUI.parent / "engine" / "inspect", TUI.parent / "engine" / "cfengine"):
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ExceptHandler) and node.type is not None:
                    names = [n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)]
                    if "ImportError" in names or "ModuleNotFoundError" in names:
                        bad.append(f"{path}:{node.lineno}")
    assert bad == []
