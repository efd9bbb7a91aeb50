"""Differential runs in several steps: cf-agent and vigil each get a workdir and a target
tree of their own, the same sequence of agent runs and changes to the tree, and what
they printed, logged in ``state/file_changes.log`` and left in the tree must agree.

What differs between the two sides by nature is masked: the target's path (``<T>``, also
canonified: ``<CT>``), the directory of the policy (``<B>``), times as ``ctime`` prints them and as epochs in backup names,
inode numbers, and the change log's time stamps.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from engine.text import canonify
from tests.differential import AGENTS, HAVE_CFENGINE, run_agent, workdir_of

T0 = 1_700_000_000  # a fixed modification time, so both agents see the same ones
_CTIME = re.compile(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}")
_CTIME_CANON = re.compile(r"_\d{10}_\w{3}_\w{3}__?\d+_\d\d_\d\d_\d\d_\d{4}")
_INODE = re.compile(r"(inode for '[^']*' changed) \d+ -> \d+")

#: A callable changes the target tree; a tuple of flags runs the agent (``-K -I`` added).
Step = Callable[[Path], None] | tuple[str, ...]


class Result:
    """One side's run: its lines, change log and the tree at the end."""

    __slots__ = ("lines", "changes", "tree")

    def __init__(self, lines: list[str], changes: list[str], tree: list[str]) -> None:
        self.lines = lines
        self.changes = changes
        self.tree = tree


def _masker(target: Path) -> Callable[[str], str]:
    whole, canon, base = str(target), canonify(str(target)), str(target.parent)

    def mask(text: str) -> str:
        text = text.replace(whole, "<T>").replace(canon, "<CT>").replace(base, "<B>")
        text = _CTIME_CANON.sub("_<STAMP>", _CTIME.sub("<TIME>", text))
        return _INODE.sub(r"\1 N -> N", text)

    return mask


def listing(root: Path) -> list[str]:
    """Everything under ``root``: links with what they read, files with their content,
    mode and whether they have holes."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out.append(f"{rel} -> {os.readlink(p)}")
            elif stat.S_ISDIR(st.st_mode):
                out.append(f"{rel}/")
            elif stat.S_ISREG(st.st_mode):
                holes = " (holes)" if st.st_blocks * 512 < st.st_size else ""
                out.append(f"{rel} {stat.S_IMODE(st.st_mode):04o}{holes} "
                           f"{p.read_bytes()[:60]!r}")
            else:
                out.append(f"{rel} (other)")
    return sorted(out)


def run_sequence(tmp_path: Path, policy: str, steps: list[Step]) -> Result:
    """Run ``steps`` for each agent (``@T@`` in ``policy`` is its target); assert that
    they agree; vigil's :class:`Result`."""
    results: dict[str, Result] = {}
    for which in AGENTS:
        base = tmp_path / which
        target = base / "T"
        target.mkdir(parents=True)
        mask = _masker(target)
        lines: list[str] = []
        for step in steps:
            if callable(step):
                step(target)
                continue
            out = run_agent(which, policy, base, target, *step, policy_name="p.cf")
            lines += [mask(ln) for ln in out] + ["-- end of run"]
        log = workdir_of(which, base) / "state" / "file_changes.log"
        text = log.read_text() if log.exists() else ""
        changes = [mask(re.sub(r"^\d+,", "TIME,", ln)) for ln in text.splitlines()]
        results[which] = Result(lines, changes, [mask(ln) for ln in listing(target)])
    if HAVE_CFENGINE:
        for what in Result.__slots__:
            theirs, ours = getattr(results["cf"], what), getattr(results["vigil"], what)
            assert ours == theirs, f"{what} differ (- cf-agent, + vigil):\n" + "\n".join(
                difflib.unified_diff(theirs, ours, lineterm="", n=2))
    return results["vigil"]


def write(target: Path, files: dict[str, str], mtime: int = T0) -> None:
    """Files (relative path -> text) made under ``target``, all modified at ``mtime``."""
    for rel, text in files.items():
        p = target / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.utime(p, (mtime, mtime))
