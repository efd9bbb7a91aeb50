"""bench._harness: child timing with the child's own peak RSS, summaries, tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench._harness import (
    BenchError,
    Sample,
    med_min,
    ratio,
    ratio_of,
    repeat,
    summarise,
    table,
    timed,
)

REPO = Path(__file__).resolve().parents[2]


def test_timed_reports_exit_code_and_stderr() -> None:
    s = timed([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])
    assert s.rc == 3
    assert s.err == "boom"
    assert 0 < s.wall < 10


def test_timed_reports_a_missing_program() -> None:
    s = timed(["/nonexistent/program"])
    assert s.rc == 127
    assert "cannot run /nonexistent/program" in s.err


def test_timed_measures_the_childs_peak_rss() -> None:
    s = timed([sys.executable, "-c", "b = b'x' * (96 * 2**20)"])
    assert s.rc == 0
    assert s.maxrss_kb >= 96 * 1024


def test_peak_rss_is_not_the_parents() -> None:
    """A big benchmark process must not lend its high-water mark to the children it times."""
    code = ("import resource; from bench._harness import timed; blob = b'x' * (200 * 2**20); "
            "s = timed(['true']); print(s.maxrss_kb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO).stdout.split()
    child, parent = int(out[0]), int(out[1])
    assert parent > 200 * 1024
    assert child < 20 * 1024


def test_timed_passes_env_and_cwd(tmp_path: Path) -> None:
    code = "import os; open('seen', 'w').write(os.environ['BENCH_PROBE'])"
    s = timed([sys.executable, "-c", code], env={"BENCH_PROBE": "42"}, cwd=str(tmp_path))
    assert s.rc == 0
    assert (tmp_path / "seen").read_text() == "42"


def test_repeat_raises_on_unexpected_exit() -> None:
    assert len(repeat(["true"], 3)) == 3
    assert repeat(["false"], 1, ok=(0, 1))[0].rc == 1
    with pytest.raises(BenchError, match="exited 1"):
        repeat(["false"], 2)


def test_summarise_median_min_and_largest_rss() -> None:
    st = summarise([Sample(0.3, 100, 0), Sample(0.1, 300, 0), Sample(0.2, 200, 0)])
    assert (st.median, st.minimum, st.rss_kb) == (0.2, 0.1, 300)
    assert st.as_dict() == {"median_s": 0.2, "min_s": 0.1, "peak_rss_mb": 0.3}
    assert med_min(st) == "0.200 / 0.100"
    assert med_min(None) == "—"
    with pytest.raises(ValueError):
        summarise([])


def test_ratio() -> None:
    assert ratio(1.0, 4.0) == "0.25"
    assert ratio(1.0, None) == "—"
    assert ratio(1.0, 0.0) == "—"
    assert ratio_of(0.0, 2.0) == 0.0
    assert ratio_of(None, 2.0) is None


def test_table_aligns_text_left_and_numbers_right() -> None:
    out = table("title", ["name", "s"], [["a", "1.5 / 1.0"], ["long name", "12.25"], ["c", "—"]])
    lines = out.splitlines()
    assert lines[0] == "title"
    assert lines[1].startswith("name")
    assert set(lines[2]) <= {"-", " "}
    assert lines[3] == "a          1.5 / 1.0"
    assert lines[4] == "long name      12.25"
    assert lines[5].endswith("—")
    assert len({len(x) for x in lines[1:5]}) == 1
