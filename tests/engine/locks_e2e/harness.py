"""Running `vigil agent` and cf-agent on the same policy, and reading what they left.

Both agents run at the *same workdir path*, one after the other: cf-agent's
workdir is moved aside ("parked") before vigil's is made there. Lock names
hold the canonified workdir (files promisers live under ``$(sys.workdir)``) and
a checksum over it, so only the same path gives byte-equal keys up to ``_MD5=``.

cf-agent's workdir is :func:`tests.cfengine.make_workdir`'s (``bin``, the process's key
pair, an inert failsafe); both command lines are the differential harness's
(:func:`tests.differential.agent_argv`).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import lmdb

from engine.state.runs import RunReport, load_report
from tests.cfengine import CLEAN_ENV, cf_env, host, make_workdir, runs_cfengine
from tests.differential import agent_argv

RUN_TIMEOUT = 60.0
# Keys cf-agent writes for itself, not for a promise of the policy.
INTERNAL_KEYS = frozenset({"lock_horizon"})
INTERNAL_PREFIXES = ("last.package_global.", "lock.package_global.")


def env_for(workdir: Path) -> dict[str, str]:
    """The environment both agents run in: minimal, fixed, UTC."""
    return cf_env(workdir, CLEAN_ENV, HOME=str(workdir))


@dataclass(frozen=True, slots=True)
class Result:
    rc: int
    out: str  # stdout and stderr together, workdir replaced by <wd>
    pid: int

    @property
    def lines(self) -> list[str]:
        return [ln for ln in self.out.splitlines() if ln.strip()]

    def grep(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return [ln for ln in self.lines if rx.search(ln)]


def run_agent(kind: str, policy: Path, workdir: Path, *flags: str) -> Result:
    """One run of ``kind`` ("cf" or "vigil") on ``workdir``; waits for it."""
    proc = subprocess.Popen(
        agent_argv(kind, policy, workdir, *flags), env=env_for(workdir), cwd=workdir,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        raw, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raw, _ = proc.communicate()
    text = raw.decode("utf-8", "replace").replace(str(workdir), "<wd>")
    return Result(proc.returncode, text, proc.pid)


def fresh_workdir(kind: str, workdir: Path) -> Path:
    """A fresh workdir holding ``tmp/``: cf-agent's made by :func:`make_workdir`; vigil's
    otherwise empty (the agent lays it out itself)."""
    workdir.mkdir(parents=True)
    (workdir / "tmp").mkdir()
    if kind == "cf":
        make_workdir(workdir)
    return workdir


@runs_cfengine  # a test using a SamePath (through the ``site`` fixture) may run cf-agent
class SamePath:
    """Workdirs for cf-agent and vigil at one path (``base/wd``), in turn.

    ``start(kind)`` makes a fresh workdir there; ``park()`` moves it to
    ``base/<kind>`` and returns the new path, where its databases stay
    readable."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.wd = base / "wd"
        self.policy = base / "policy.cf"
        self.kind: str | None = None

    def write_policy(self, text: str) -> Path:
        self.policy.write_text(text)
        return self.policy

    def start(self, kind: str) -> Path:
        assert self.kind is None, "park() the previous workdir first"
        self.kind = kind
        return fresh_workdir(kind, self.wd)

    def run(self, *flags: str) -> Result:
        assert self.kind is not None
        return run_agent(self.kind, self.policy, self.wd, *flags)

    def park(self) -> Path:
        assert self.kind is not None
        dest = self.base / self.kind
        self.wd.rename(dest)
        self.kind = None
        return dest

    def runs(self, kind: str, *flag_sets: tuple[str, ...]) -> tuple[list[Result], Path]:
        """Run ``kind`` once per flag set in a fresh workdir, then park it."""
        self.start(kind)
        results = [self.run(*flags) for flags in flag_sets]
        return results, self.park()


# -- reading the databases ----------------------------------------------------------------


def dump(path: Path) -> dict[bytes, bytes]:
    """Every key and value of a single-file LMDB database, read-only."""
    env = lmdb.open(os.fspath(path), subdir=False, readonly=True, lock=False)
    try:
        with env.begin() as txn:
            return {bytes(k): bytes(v) for k, v in txn.cursor()}
    finally:
        env.close()


def policy_keys(path: Path) -> set[str]:
    """Lock keys of the policy's promises, without the trailing NUL and the
    ``_MD5=<hex>`` part; internal keys left out. An absent file has none."""
    if not path.exists():
        return set()
    out = set()
    for raw in dump(path):
        key = raw.rstrip(b"\0").decode("utf-8", "surrogateescape")
        if key in INTERNAL_KEYS or key.startswith(INTERNAL_PREFIXES):
            continue
        out.add(key.split("_MD5=", 1)[0])
    return out


def lock_entries(path: Path, prefix: str = "") -> dict[str, bytes]:
    """``{key text: value}`` of the lock entries whose key starts with ``prefix``."""
    return {
        k.rstrip(b"\0").decode(): v
        for k, v in dump(path).items()
        if k.startswith(prefix.encode()) and not k.startswith(b"lock_horizon")
    }


def without_host(keys: set[str]) -> set[str]:
    """Keys with ``.-<host>.`` replaced by ``.-<host>.``-independent text."""
    h = f".-{host()}."
    return {k.replace(h, ".-HOST.") for k in keys}


def reports_of(wd: Path) -> list[RunReport]:
    """The run reports of a vigil workdir, oldest first."""
    found = [load_report(p) for p in (wd / "outputs" / "runs").glob("*.json")]
    return sorted(found, key=lambda r: r.start)
