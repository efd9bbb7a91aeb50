"""Shared fixtures: a throwaway CFEngine workdir for cf-promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MASTERFILES = Path("/var/lib/cfengine3/masterfiles")
FIRST_ERROR = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$", re.M)


@dataclass
class CfPromises:
    """Runs the real cf-promises against a temp workdir (never the system one)."""

    workdir: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(self.workdir))
        return subprocess.run(
            ["cf-promises", *args], capture_output=True, text=True, env=env, timeout=60
        )

    def first_error_line(self, path: Path) -> int | None:
        cp = self.run("-c", "-f", str(path))
        m = FIRST_ERROR.search(cp.stderr + cp.stdout)
        return int(m.group(2)) if m else None


@pytest.fixture
def cf_promises(tmp_path: Path) -> CfPromises:
    if shutil.which("cf-promises") is None:
        pytest.skip("cf-promises is not installed")
    wd = tmp_path / "cfwd"
    wd.mkdir()
    (wd / "bin").symlink_to("/usr/bin")
    return CfPromises(wd)
