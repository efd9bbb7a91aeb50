"""The hub tags its ``masterfiles`` when its policy is (re)validated, as cf-agent does.

cf-agent on the hub (``state/am_policy_hub``), running its default policy
(``inputs/promises.cf``, no ``-f``), treats the policy as validated when
``masterfiles/cf_promises_validated`` holds a ``timestamp`` no older than every file
under ``inputs/`` (a file it cannot parse counts with its own modification time; a
missing one as never). Otherwise it validates and writes, into ``masterfiles/``:

* ``cf_promises_validated``: ``{"timestamp": <now>}``; the stock update policy of every
  client copies it first and fetches the rest only when it changed;
* ``cf_promises_release_id``, when missing (or when a git checkout's HEAD moved):
  ``{"releaseId": <40 hex>}``, the commit of a git checkout, else CFEngine's tree id:
  SHA-1 over as many NUL bytes as the policy files directly in ``masterfiles/`` (names
  ending in .cf .dat .txt .conf .mustache .json .yaml; links followed) hold, which is
  what cf-promises 3.21 computes (its hash feeds a zeroed buffer, and only the top
  level counts), so both tools give one tree the same id.

vigil keeps its own record of validation (``state/policy_validated``); this is only the
hub's published stamp.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.eval.policyhub import AM_POLICY_HUB
from engine.log import LineLogger
from engine.workdir import Workdir

VALIDATED = "cf_promises_validated"
RELEASE_ID = "cf_promises_release_id"
_POLICY_SUFFIXES = (".cf", ".dat", ".txt", ".conf", ".mustache", ".json", ".yaml")


def tag_valid_policy(workdir: Path, policy_file: str, log: LineLogger) -> None:
    """Tag ``masterfiles/`` when this is the hub, ``policy_file`` its default policy and
    the published stamp is older than the inputs."""
    layout = Workdir(workdir)
    if not (layout.state / AM_POLICY_HUB).exists():
        return
    if os.path.abspath(policy_file) != str(layout.promises_cf.absolute()):
        return
    masterdir = layout.masterfiles
    if not masterdir.is_dir():
        return
    validated_at = _validated_at(masterdir / VALIDATED)
    if validated_at is not None and validated_at <= time.time() and \
            not _newer_file(layout.inputs, validated_at):
        return
    head = _git_head(masterdir)
    try:
        if head is not None or not (masterdir / RELEASE_ID).exists():
            rid = head or release_id(masterdir)
            if _read_release_id(masterdir) != rid:
                write_atomic(masterdir / RELEASE_ID,
                             json.dumps({"releaseId": rid}, indent=2).encode() + b"\n", 0o600)
        write_atomic(masterdir / VALIDATED,
                     json.dumps({"timestamp": int(time.time())}, indent=2).encode() + b"\n",
                     0o600)
    except OSError as exc:
        log.error(f"Could not write policy validated marker file: {masterdir / VALIDATED} ({exc})")
        return
    log.verbose(f"Saved policy validated marker file '{masterdir / VALIDATED}'")


def release_id(masterdir: Path) -> str:
    """CFEngine's release id of a tree that is not a git checkout (see the module text)."""
    total = 0
    try:
        entries = list(os.scandir(masterdir))
    except OSError:
        entries = []
    for entry in entries:
        if not entry.name.endswith(_POLICY_SUFFIXES):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
            st = os.stat(entry.path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    import hashlib  # only on a hub, when it tags its policy: not at every agent start

    h = hashlib.sha1(usedforsecurity=False)
    zeros = bytes(1 << 16)
    while total > 0:
        h.update(zeros[:min(total, len(zeros))])
        total -= len(zeros)
    return h.hexdigest()


def _validated_at(path: Path) -> float | None:
    """The stamp's timestamp; its mtime when it does not parse; None when absent.
    Read as CFEngine reads JSON (a trailing comma is fine)."""
    from engine.eval.functions.data_fns import parse_lenient

    try:
        data = parse_lenient(path.read_text(errors="replace"))
        if isinstance(data, dict) and isinstance(data.get("timestamp"), int):
            return float(data["timestamp"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        pass
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _newer_file(root: Path, when: float) -> bool:
    for base, dirs, files in os.walk(root):
        for name in (*files, *dirs):
            try:
                if os.lstat(os.path.join(base, name)).st_mtime > when:
                    return True
            except OSError:
                continue
    return False


def _read_release_id(masterdir: Path) -> str | None:
    try:
        data = json.loads((masterdir / RELEASE_ID).read_bytes())
    except (OSError, ValueError):
        return None
    rid = data.get("releaseId") if isinstance(data, dict) else None
    return rid if isinstance(rid, str) else None


def _git_head(masterdir: Path) -> str | None:
    """The commit a git checkout's HEAD names, read from ``.git`` (no git run)."""
    git = masterdir / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            head = (git / head[5:].strip()).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return head if len(head) == 40 and all(c in "0123456789abcdef" for c in head) else None
