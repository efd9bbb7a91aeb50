"""The hub tags its ``masterfiles`` when it validates its policy, as cf-agent does.

cf-agent on the hub (``state/am_policy_hub``), validating the default policy
(``inputs/promises.cf``, no ``-f``), writes into ``masterfiles/``:

* ``cf_promises_validated``: ``{"timestamp": <epoch>}``; the stock update policy of
  every client copies it first and fetches the rest only when it changed;
* ``cf_promises_release_id``: ``{"releaseId": <40 hex>}``, the policy's version: the
  commit of a git checkout, else a SHA-1 over the policy files' names and contents.
  (cf-agent hashes the tree its own way; the two ids differ for the same files, and
  only their changing matters to the stock policy.)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.eval.policyhub import AM_POLICY_HUB
from engine.log import LineLogger

VALIDATED = "cf_promises_validated"
RELEASE_ID = "cf_promises_release_id"
_POLICY_SUFFIXES = (".cf", ".dat", ".txt", ".conf", ".mustache", ".json", ".yaml")


def tag_after_validation(workdir: Path, policy_file: str, log: LineLogger) -> None:
    """Tag ``masterfiles/`` when this is the hub and ``policy_file`` its default policy."""
    if not (workdir / "state" / AM_POLICY_HUB).exists():
        return
    if os.path.abspath(policy_file) != str((workdir / "inputs" / "promises.cf").absolute()):
        return
    masterdir = workdir / "masterfiles"
    if not masterdir.is_dir():
        return
    try:
        write_atomic(masterdir / RELEASE_ID,
                     json.dumps({"releaseId": release_id(masterdir)}, indent=2).encode() + b"\n",
                     0o600)
        write_atomic(masterdir / VALIDATED,
                     json.dumps({"timestamp": int(time.time())}, indent=2).encode() + b"\n", 0o600)
    except OSError as exc:
        log.error(f"Could not write policy validated marker file: {masterdir / VALIDATED} ({exc})")
        return
    log.verbose(f"Saved policy validated marker file '{masterdir / VALIDATED}'")


def release_id(masterdir: Path) -> str:
    head = _git_head(masterdir)
    if head:
        return head
    import hashlib

    h = hashlib.sha1(usedforsecurity=False)
    for root, dirs, files in os.walk(masterdir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(_POLICY_SUFFIXES) or name in (VALIDATED, RELEASE_ID):
                continue
            path = os.path.join(root, name)
            h.update(os.path.relpath(path, masterdir).encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(path, "rb") as f:
                    h.update(f.read())
            except OSError:
                h.update(b"?")
    return h.hexdigest()


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
