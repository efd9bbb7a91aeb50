"""Conformance cases: one folder per case under ``cases/``, described by ``case.toml``.

See ``README.md`` next to this file for the format. Loading is strict: an unknown
key or a wrong type is an error naming the case, so a typo never silently turns a
check off.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).resolve().parent / "cases"
COMPARABLE = ("R", "rc", "files", "info")
DEFAULT_COMPARE = ("R", "rc", "files")
# Files of a case folder that are not copied into the workdir's inputs/.
CASE_META = frozenset({"case.toml", "expected.json"})


class CaseError(ValueError):
    """A malformed case folder."""


@dataclass(frozen=True, slots=True)
class SetupFile:
    """A file (or directory) created in the workdir before a run.

    ``age`` moves its mtime that many seconds into the past (for mtime comparisons).
    """

    content: str | None = None  # None: a directory
    mode: int | None = None
    age: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    args: tuple[str, ...]
    setup: dict[str, SetupFile] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    sleep: float = 0.0


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: Path
    description: str
    runs: tuple[Run, ...]
    files: tuple[str, ...] = ()
    compare: tuple[str, ...] = DEFAULT_COMPARE
    defines: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    check_modes: bool = False

    @property
    def policy(self) -> Path:
        return self.path / "policy.cf"

    @property
    def expected_path(self) -> Path:
        return self.path / "expected.json"

    def run_args(self, run: Run) -> list[str]:
        """The command-line arguments of one run, ``-D`` from ``defines`` included."""
        args = list(run.args)
        if self.defines:
            args += ["-D", ",".join(self.defines)]
        return args

    def load_expected(self) -> list[dict[str, Any]]:
        data = json.loads(self.expected_path.read_text())
        return list(data["runs"])

    def input_files(self) -> list[Path]:
        """Every file of the case folder that goes to ``<workdir>/inputs/``."""
        return sorted(
            p
            for p in self.path.rglob("*")
            if p.is_file() and p.name not in CASE_META and "__pycache__" not in p.parts
        )


_CASE_KEYS = {"description", "runs", "files", "compare", "defines", "tags", "check_modes"}
_RUN_KEYS = {"args", "setup", "remove", "sleep"}


def _str_list(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CaseError(f"{what} must be a list of strings")
    return tuple(value)


def _setup_file(path: str, spec: Any, where: str) -> SetupFile:
    if isinstance(spec, str):
        return SetupFile(content=spec)
    if not isinstance(spec, dict):
        raise CaseError(f"{where}: setup[{path!r}] must be a string or a table")
    unknown = set(spec) - {"content", "mode", "age", "dir"}
    if unknown:
        raise CaseError(f"{where}: setup[{path!r}] has unknown keys {sorted(unknown)}")
    mode = int(spec["mode"], 8) if "mode" in spec else None
    if spec.get("dir"):
        return SetupFile(content=None, mode=mode, age=int(spec.get("age", 0)))
    return SetupFile(content=str(spec.get("content", "")), mode=mode, age=int(spec.get("age", 0)))


def _run(raw: Any, where: str) -> Run:
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: each run must be a table")
    unknown = set(raw) - _RUN_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown run keys {sorted(unknown)}")
    setup = raw.get("setup", {})
    if not isinstance(setup, dict):
        raise CaseError(f"{where}: setup must be a table")
    return Run(
        args=_str_list(raw.get("args", []), f"{where}: args"),
        setup={k: _setup_file(k, v, where) for k, v in setup.items()},
        remove=_str_list(raw.get("remove", []), f"{where}: remove"),
        sleep=float(raw.get("sleep", 0)),
    )


def load_case(path: Path) -> Case:
    where = path.name
    meta_file = path / "case.toml"
    if not meta_file.is_file() or not (path / "policy.cf").is_file():
        raise CaseError(f"{where}: needs case.toml and policy.cf")
    try:
        raw = tomllib.loads(meta_file.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{where}: case.toml: {exc}") from exc
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown keys {sorted(unknown)}")
    runs = raw.get("runs") or [{"args": ["-K"]}]
    compare = _str_list(raw.get("compare", list(DEFAULT_COMPARE)), f"{where}: compare")
    bad = set(compare) - set(COMPARABLE)
    if bad:
        raise CaseError(f"{where}: compare has unknown items {sorted(bad)}")
    return Case(
        name=path.name,
        path=path,
        description=str(raw.get("description", "")).strip(),
        runs=tuple(_run(r, f"{where} run {i + 1}") for i, r in enumerate(runs)),
        files=_str_list(raw.get("files", []), f"{where}: files"),
        compare=compare,
        defines=_str_list(raw.get("defines", []), f"{where}: defines"),
        tags=_str_list(raw.get("tags", []), f"{where}: tags"),
        check_modes=bool(raw.get("check_modes", False)),
    )


def all_cases(root: Path = CASES_DIR) -> list[Case]:
    return [load_case(p) for p in sorted(root.iterdir()) if p.is_dir() and p.name[:1].isdigit()]


def select_cases(names: list[str], root: Path = CASES_DIR) -> list[Case]:
    """Cases whose folder name equals or starts with one of ``names`` (``007`` works)."""
    cases = all_cases(root)
    if not names:
        return cases
    chosen = [c for c in cases if any(c.name == n or c.name.startswith(n) for n in names)]
    missing = [n for n in names if not any(c.name == n or c.name.startswith(n) for c in cases)]
    if missing:
        raise CaseError(f"no such case: {', '.join(missing)}")
    return chosen
