"""A throwaway CFEngine workdir for differential tests (skip where cf-agent is absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HAVE_CF_AGENT = shutil.which("cf-agent") is not None
needs_cf_agent = pytest.mark.skipif(not HAVE_CF_AGENT, reason="cf-agent is not installed")


def make_cf_workdir(root: Path) -> Path:
    """``root`` with ``bin -> /usr/bin`` and a key pair, ready for cf-agent."""
    root.mkdir(parents=True, exist_ok=True)
    bindir = Path(shutil.which("cf-agent") or "/usr/bin/cf-agent").parent
    (root / "bin").symlink_to(bindir)
    env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(root))
    subprocess.run(["cf-key"], env=env, check=True, capture_output=True, timeout=60)
    return root


def cf_agent(root: Path, policy: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CFENGINE_TEST_OVERRIDE_WORKDIR=str(root))
    return subprocess.run(
        ["cf-agent", *flags, "-f", str(policy)], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )


def host() -> str:
    """The unqualified host name cf-agent puts in lock keys."""
    return os.uname().nodename.split(".")[0]
