"""A battery of malformed policies made from real ones: never a traceback, never a hang.

Sources: the policy vigil ships, the conformance cases and, where Debian's cfengine3 is
installed, the stock masterfiles. Each variant is validated (``vigil promises``) and the
small ones are also run dry (``vigil agent -n -K``) in a temp workdir.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MASTERFILES = Path("/var/lib/cfengine3/masterfiles")


def _sources() -> list[Path]:
    found = sorted((ROOT / "policies").rglob("*.cf"))
    found += sorted((ROOT / "tests" / "conformance" / "cases").glob("*/policy.cf"))[::4]
    if MASTERFILES.is_dir():
        found += sorted(MASTERFILES.rglob("*.cf"))[::3]
    return found


@pytest.mark.slow
def test_malformed_policies_end_in_a_clean_error_or_a_completed_run(tmp_path: Path) -> None:
    sources = _sources()
    assert len(sources) > 10
    proc = subprocess.run(
        [sys.executable, "-m", "tests.engine.hostile.malform", str(tmp_path), "4",
         *map(str, sources)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(rows) >= 4 * len(sources)
    crashes = [r for r in rows if r["traceback"]]
    assert not crashes, "\n\n".join(f"{r['cmd']} {r['case']} (from {r['source']}):\n"
                                    f"{r['traceback']}" for r in crashes[:5])
    # the battery exercised both outcomes: clean errors and completed runs
    assert any(r["code"] != 0 for r in rows) and any(r["code"] == 0 for r in rows)
