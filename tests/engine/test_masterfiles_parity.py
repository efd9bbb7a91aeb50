"""vigil on Debian's stock masterfiles against cf-agent 3.21, side by side.

Both agents run ``-n -K`` on a copy of the installed masterfiles (bench/masterfiles.py
does the work and ``python -m bench.masterfiles`` prints the full difference). The
targets: vigil defines at least 97% of cf-agent's classes and 95% of its variables
(names compared), prints no more ``error:`` lines, and neither ``vigil promises`` nor
``vigil agent`` reports an unsupported promise type or attribute.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import masterfiles as mf

pytestmark = [
    pytest.mark.cfengine,
    pytest.mark.slow,
    pytest.mark.skipif(not mf.have_tools() or mf.find_masterfiles() is None,
                       reason="cf-agent or Debian's masterfiles are not installed"),
]

CLASS_TARGET = 0.97
VAR_TARGET = 0.95

# Names cf-agent defines that vigil does not, and rightly so. Each is a full-match regex.
BY_DESIGN_CLASSES = (
    # The host key's class. Each workdir has its own key, and vigil's keys are Ed25519
    # with SHA-256 fingerprints: vigil defines PK_SHA256_<fingerprint> instead.
    r"PK_MD5_[0-9a-f]{32}",
    # Time classes: the two runs may straddle a minute (or a five-minute block).
    r"(GMT_)?Min\d\d(_\d\d)?",
)
BY_DESIGN_VARS = (
    # Time- and run-dependent values could differ, but their names do not: none needed.
)


@pytest.fixture(scope="module")
def parity(tmp_path_factory: pytest.TempPathFactory) -> mf.Parity:
    masterfiles = mf.find_masterfiles()
    assert masterfiles is not None
    return mf.measure(masterfiles, tmp_path_factory.mktemp("masterfiles"))


def _report(p: mf.Parity, kind: str, allowed: tuple[str, ...]) -> str:
    pats = [re.compile(a) for a in allowed]
    missing = sorted(n for n in p.missing(kind) if not any(x.fullmatch(n) for x in pats))
    return f"{len(missing)} {kind} only cf-agent defines: {' '.join(missing)}"


def test_classes(parity: mf.Parity) -> None:
    ratio = parity.ratio("classes", BY_DESIGN_CLASSES)
    assert ratio >= CLASS_TARGET, _report(parity, "classes", BY_DESIGN_CLASSES)


def test_variables(parity: mf.Parity) -> None:
    ratio = parity.ratio("vars", BY_DESIGN_VARS)
    assert ratio >= VAR_TARGET, _report(parity, "vars", BY_DESIGN_VARS)


def test_hard_classes_agree(parity: mf.Parity) -> None:
    """The host's own classes (interfaces, OS, features, component) all match."""
    hard = {line.split()[0] for line in parity.cf.outputs["classes"].splitlines()
            if line.rstrip().endswith("hardclass") and line.split()}
    pats = [re.compile(a) for a in BY_DESIGN_CLASSES]
    missing = {c for c in hard - parity.vigil.classes if not any(p.fullmatch(c) for p in pats)}
    assert not missing, sorted(missing)


def test_no_more_error_lines(parity: mf.Parity) -> None:
    assert len(parity.vigil.errors) <= len(parity.cf.errors), "\n".join(parity.vigil.errors)


def test_agent_reports_nothing_unsupported(parity: mf.Parity) -> None:
    for text in parity.vigil.outputs.values():
        assert not re.search(r"unsupported|not supported", text, re.I), text[-2000:]


def test_promises_reports_nothing_unsupported(tmp_path: Path) -> None:
    masterfiles = mf.find_masterfiles()
    assert masterfiles is not None
    copy = tmp_path / "masterfiles"
    shutil.copytree(masterfiles, copy, symlinks=True)
    out = subprocess.run([str(mf.VIGIL), "promises", "-w", str(tmp_path / "vw"), "-f",
                          str(copy / "promises.cf")], capture_output=True, text=True, timeout=300)
    found = [line for line in (out.stdout + out.stderr).splitlines() if "unsupported" in line]
    assert not found, "\n".join(found)
