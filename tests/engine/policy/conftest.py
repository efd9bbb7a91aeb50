"""Shared fixtures: a throwaway CFEngine workdir for cf-promises."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cfengine import cf_env, make_workdir, missing

MASTERFILES = Path("/var/lib/cfengine3/masterfiles")
FIRST_ERROR = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$", re.M)


@dataclass
class CfPromises:
    """Runs the real cf-promises against a temp workdir (never the system one)."""

    workdir: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["cf-promises", *args], capture_output=True, text=True, env=cf_env(self.workdir),
            timeout=60,
        )

    def first_error_line(self, path: Path) -> int | None:
        cp = self.run("-c", "-f", str(path))
        m = FIRST_ERROR.search(cp.stderr + cp.stdout)
        return int(m.group(2)) if m else None


@pytest.fixture
def cf_promises(tmp_path: Path) -> CfPromises:
    if missing():
        pytest.skip(f"CFEngine is not installed ({', '.join(missing())} absent)")
    return CfPromises(make_workdir(tmp_path / "cfwd", keys=None, failsafe=None))
