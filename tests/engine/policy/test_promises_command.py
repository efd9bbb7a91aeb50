"""``vigil promises`` as a user runs it: exit codes, messages, JSON, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.policy.conftest import MASTERFILES


def vigil(*args: str, env_workdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if env_workdir is not None:
        env["VIGIL_WORKDIR"] = str(env_workdir)
    return subprocess.run(
        [sys.executable, "-m", "engine", "promises", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def tree(root: Path) -> list[tuple[str, int, float]]:
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*"))


def test_valid_policy_is_silent_and_exits_0(tmp_path: Path) -> None:
    f = tmp_path / "ok.cf"
    f.write_text('bundle agent main\n{\n  reports:\n    "hello";\n}\n')
    before = tree(tmp_path)
    cp = vigil("-f", str(f), "-w", str(tmp_path / "wd"))
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "", "")
    assert tree(tmp_path) == before  # never writes, not even the workdir


def test_syntax_error_prints_caret_and_exits_1(tmp_path: Path) -> None:
    f = tmp_path / "bad.cf"
    f.write_text('bundle agent main\n{\n  reports:\n    "x" comment => "y"\n}\n')
    cp = vigil("-f", str(f), "-w", str(tmp_path))
    assert cp.returncode == 1
    assert cp.stderr.splitlines() == [
        f"{f}:5:1: error: expected ';' or ',' after constraint, found '}}'",
        "}",
        "^",
    ]


def test_default_file_is_workdir_inputs_promises_cf(tmp_path: Path) -> None:
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs/promises.cf").write_text('bundle agent main {\n  bogus:\n    "x";\n}\n')
    cp = vigil(env_workdir=tmp_path)
    assert cp.returncode == 0  # a warning only
    assert (
        f"{tmp_path}/inputs/promises.cf:2:3: warning: undefined promise type 'bogus'" in cp.stderr
    )
    missing = vigil("-w", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_unsupported_prints_but_passes(tmp_path: Path) -> None:
    f = tmp_path / "u.cf"
    f.write_text('bundle agent main\n{\n  storage:\n    "/mnt" mount => m;\n}\nbody mount m {}\n')
    cp = vigil("-f", str(f), "-w", str(tmp_path))
    assert cp.returncode == 0
    assert f"{f}:3:3: unsupported: unsupported promise type 'storage'" in cp.stderr
    assert vigil("-q", "-f", str(f), "-w", str(tmp_path)).stderr == ""


def test_validation_error_and_bundlesequence_option(tmp_path: Path) -> None:
    f = tmp_path / "v.cf"
    f.write_text('bundle agent main\n{\n  files:\n    "/x" perms => nobody;\n}\n')
    cp = vigil("-f", str(f), "-w", str(tmp_path))
    assert cp.returncode == 1 and f"{f}:4:10: error: Undefined body nobody with type perms" in cp.stderr
    f.write_text('bundle agent main\n{\n  reports:\n    "x";\n}\n')
    assert vigil("-f", str(f), "-w", str(tmp_path), "-b", "main").returncode == 0
    cp = vigil("-f", str(f), "-w", str(tmp_path), "-b", "main,other")
    assert cp.returncode == 1 and "bundle 'other' listed in the bundlesequence" in cp.stderr
    assert vigil("--syntax-only", "-f", str(f), "-w", str(tmp_path), "-b", "other").returncode == 0


def test_json_output(tmp_path: Path) -> None:
    f = tmp_path / "j.cf"
    f.write_text('bundle agent main\n{\n  reports:\n    "x" handle => "h";\n}\n')
    cp = vigil("--json", "-f", str(f), "-w", str(tmp_path))
    assert cp.returncode == 0
    doc = json.loads(cp.stdout)
    promise = doc["bundles"][0]["promiseTypes"][0]["contexts"][0]["promises"][0]
    assert promise == {
        "attributes": [{"line": 4, "lval": "handle", "rval": {"type": "string", "value": "h"}}],
        "line": 4,
        "promiser": "x",
    }


@pytest.mark.skipif(not MASTERFILES.is_dir(), reason="CFEngine masterfiles are not installed")
def test_masterfiles_are_valid(tmp_path: Path) -> None:
    cp = vigil("-q", "-f", str(MASTERFILES / "promises.cf"), "-w", str(tmp_path))
    assert (cp.returncode, cp.stderr) == (0, "")
