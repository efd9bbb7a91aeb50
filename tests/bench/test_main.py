"""bench.__main__: sections run in child interpreters, failures and overruns are contained."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.__main__ import SECTIONS, machine, run_child, run_section
from tests import cfengine

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", SECTIONS)
def test_each_section_exposes_main_quick(name: str) -> None:
    if importlib.util.find_spec(f"bench.{name}") is None:
        pytest.skip(f"bench/{name}.py is not in this tree")
    module = importlib.import_module(f"bench.{name}")
    params = inspect.signature(module.main).parameters
    assert "quick" in params
    assert params["quick"].default is False


def test_machine_description() -> None:
    m = machine()
    assert m["cpus"] and m["python"] == sys.version.split()[0]
    assert len(m["loadavg_start"]) == 3  # type: ignore[arg-type]
    if cfengine.which("cf-agent"):
        assert "CFEngine" in str(m["cfengine"])


def test_a_missing_section_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert run_child("no_such_section", False, out) == 3
    assert "not available" in json.loads(out.read_text())["error"]


def test_a_crashing_section_is_an_error_not_a_crash() -> None:
    code = "import sys; print('partial table'); sys.exit(2)"
    result = run_section("x", True, 30, command=[sys.executable, "-c", code])
    assert "error" in result
    assert result["wall_s"] < 30  # type: ignore[operator]


def test_a_section_over_budget_is_stopped() -> None:
    code = "import time; time.sleep(60)"
    t0 = time.monotonic()
    result = run_section("x", True, 1.0, command=[sys.executable, "-c", code])
    assert "exceeded its budget" in str(result["error"])
    assert time.monotonic() - t0 < 20


def test_section_result_comes_back_from_the_child() -> None:
    code = ("import json, sys; out = sys.argv[sys.argv.index('--out') + 1]; "
            "open(out, 'w').write(json.dumps({'rows': 3}))")
    result = run_section("x", True, 30, command=[sys.executable, "-c", code])
    assert result["rows"] == 3 and "error" not in result


def test_quick_parse_end_to_end(tmp_path: Path) -> None:
    """The real thing on the cheapest section: tables, summary and results.json."""
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "parse", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "parse: vigil promises vs cf-promises" in proc.stdout
    data = json.loads(out.read_text())
    assert data["quick"] is True
    assert data["parse"]["1000 promises"]["vigil_validate"]["median_s"] > 0
    rows = {r["row"]: r for r in data["summary"]}
    assert "parse 1000 promises" in rows
    if cfengine.HAVE_CFENGINE:
        assert rows["parse 1000 promises"]["cfengine"] > 0
        assert "targets:" in proc.stdout


def test_unknown_section_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "bench", "nonsense"], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 2
    assert "unknown section" in proc.stderr
