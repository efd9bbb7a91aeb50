"""The serial-test driver: skipped without the suite, and its per-test table."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance import serial


def test_skipped_with_exit_0_without_the_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serial.main(["--suite", str(tmp_path / "absent")]) == 0
    assert "skipped: no acceptance suite" in capsys.readouterr().out


def test_table_has_a_column_per_configuration_and_the_counts() -> None:
    runs = {
        "a": [{"test": "./x/serial/one.cf", "result": "Pass"},
              {"test": "./x/serial/two.cf", "result": "Skip"}],
        "b": [{"test": "./x/serial/one.cf", "result": "FAIL"},
              {"test": "./x/serial/two.cf", "result": "Skip"}],
    }
    text = serial.table(runs)  # type: ignore[arg-type]
    assert "Pass   FAIL   ./x/serial/one.cf" in text
    assert "(a) real cf-agent + real cf-serverd/cf-runagent: 1/2 passed" in text
    assert "(b) real cf-agent + vigil serverd as cf-serverd: 0/2 passed" in text
