"""Fresh workdirs for one case: cf-agent's (:func:`tests.cfengine.make_workdir`: ``bin``,
keys, an inert failsafe) and vigil's.

Both get the same inputs (every file of the case folder, under ``inputs/``) and the
same host key pair, so the only difference left between the two runs is the agent.
The key pair is :func:`tests.cfengine.key_pair` (``cf-key`` where installed, else an
equivalent PKCS#1 RSA-2048 pair), copied into each workdir.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests.cfengine import CLEAN_ENV, cf_env, install_keys, make_workdir
from tests.conformance.case import Case, Run

# Setup files, and the modes copies inherit from them, must not depend on the
# caller's umask; both agents also inherit this one.
os.umask(0o022)


def agent_env(workdir: Path) -> dict[str, str]:
    """The environment both agents run in: minimal, fixed, UTC."""
    return cf_env(workdir, CLEAN_ENV, HOME=str(workdir), CONFORMANCE_VAR="conformance-value")


def prepare(case: Case, workdir: Path, cfengine: bool) -> Path:
    """Create ``workdir`` for ``case``; returns the policy path to pass to ``-f``."""
    if cfengine:
        make_workdir(workdir, inputs_mode=0o700)
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        install_keys(workdir)
        (workdir / "inputs").mkdir(mode=0o700)
    inputs = workdir / "inputs"
    for src in case.input_files():
        dest = inputs / src.relative_to(case.path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    return inputs / "policy.cf"


def apply_setup(run: Run, workdir: Path) -> None:
    """Create the run's setup files and remove its ``remove`` paths."""
    for rel in run.remove:
        target = workdir / rel
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    now = time.time()
    for rel, spec in run.setup.items():
        target = workdir / rel
        _make_parents(target.parent, workdir)
        if spec.content is None:
            target.mkdir(exist_ok=True)
            target.chmod(0o755 if spec.mode is None else spec.mode)
        else:
            target.write_text(spec.content)
            target.chmod(0o644 if spec.mode is None else spec.mode)
        if spec.age:
            os.utime(target, (now - spec.age, now - spec.age))


def _make_parents(directory: Path, workdir: Path) -> None:
    """mkdir -p with mode 0755 for every directory it creates inside ``workdir``."""
    missing: list[Path] = []
    while not directory.exists() and directory != workdir:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        path.chmod(0o755)


def snapshot(case: Case, workdir: Path) -> dict[str, dict[str, object] | None]:
    """The state of ``case.files``: content (text), entries for a directory, mode."""
    from tests.conformance.normalise import substitute

    result: dict[str, dict[str, object] | None] = {}
    for rel in case.files:
        target = workdir / rel
        if not target.exists() and not target.is_symlink():
            result[rel] = None
            continue
        entry: dict[str, object] = {}
        if target.is_symlink():
            entry["symlink"] = substitute(os.readlink(target), str(workdir))
        elif target.is_dir():
            entry["dir"] = sorted(p.name for p in target.iterdir())
        else:
            raw = target.read_bytes().decode("utf-8", errors="replace")
            entry["content"] = substitute(raw, str(workdir))
        if case.check_modes and not target.is_symlink():
            entry["mode"] = f"{target.stat().st_mode & 0o7777:04o}"
        result[rel] = entry
    return result
