"""``rename`` bodies and ``transformer``: moving a file aside, rotating it, running a
command on it, as cf-agent 3.21 does.

``rename``: ``newname`` (relative to the file's directory), ``disable`` (chmod to
``disable_mode``, default 0600, then rename to ``<file><disable_suffix>``,
default ``.cfdisabled``), ``rotate => N`` (``file.1`` .. ``file.N`` shifted up,
the file copied to ``file.1`` and emptied in place). cf-agent looks at the file
twice in one promise, so a warning or a rotation is said twice.

``transformer``: a command (run without a shell, the agent's environment) that is
expected to act on the file; what it prints (output and errors) is shown at info
level; a non-zero exit is a failure. In a depth search it runs on each selected
file, ``$(this.promiser)`` that file.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

from engine.promises import safefs
from engine.promises.base import ResolvedPromise, RunContext
from engine.promises.files.fsutil import mode_str

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.promises._acc import Acc

DISABLE_SUFFIX = ".cfdisabled"


def rename_promise(path: str, promise: ResolvedPromise, run: RunContext, acc: Acc) -> None:
    body = promise.body("rename")
    if not os.path.lexists(path):
        return
    newname = str(body.get("newname", ""))
    if newname:
        dest = newname if newname.startswith("/") else os.path.join(os.path.dirname(path),
                                                                    newname)
        if acc.warn_only:
            for _ in range(2):  # said at both looks
                acc.should(f"rename file '{path}' to '{dest}'")
            return
        try:
            safefs.safe_rename(path, dest)
        except OSError as e:
            acc.fail(f"Error occurred while renaming '{path}' to '{dest}' ({e.strerror})")
            return
        acc.repair(f"Renamed file '{path}' to '{dest}'")
        return
    if str(body.get("disable", "")).lower() in ("true", "yes", "on"):
        _disable(path, body, acc)
        return
    rotate = body.get("rotate")
    if rotate is not None:
        try:
            n = int(str(rotate))
        except ValueError:
            n = 0
        if n > 0:
            for _ in range(2):  # cf-agent's two looks at the file
                _rotate(path, n, acc)


def _disable(path: str, body: dict[str, object], acc: Acc) -> None:
    if acc.warn_only:
        for _ in range(2):  # said at both looks
            acc.log.warning(f"File object '{path}' exists, contrary to promise")
            acc.should(f"rename 'file' '{path}'")
        return
    acc.log.warning(f"File object '{path}' exists, contrary to promise")
    suffix = str(body.get("disable_suffix", DISABLE_SUFFIX))
    try:
        mode = int(str(body.get("disable_mode", "600")), 8) & 0o7777
    except ValueError:
        mode = 0o600
    dest = path + suffix
    try:
        safefs.safe_chmod(path, mode)
        acc.repair(f"Changed permissions of '{path}' to 'mode {mode_str(mode)}'")
        safefs.safe_rename(path, dest)
    except OSError as e:
        acc.fail(f"Disable required twin would overwrite existing file or could not rename "
                 f"'{path}' ({e.strerror})")
        return
    acc.repair(f"Disabled file '{path}' by renaming to '{dest}' with mode {mode_str(mode)}")


def _rotate(path: str, n: int, acc: Acc) -> None:
    if acc.warn_only:
        acc.should(f"rotate file '{path}' in {n} fifo")
        return
    try:
        if os.path.getsize(path) > 0:
            for k in range(n - 1, 0, -1):
                if os.path.lexists(f"{path}.{k}"):
                    safefs.safe_rename(f"{path}.{k}", f"{path}.{k + 1}")
            shutil.copy2(path, f"{path}.1")
            with open(path, "r+b") as f:
                f.truncate(0)
    except OSError as e:
        acc.fail(f"Could not rotate file '{path}' ({e.strerror})")
        return
    acc.repair(f"Rotated file '{path}' in {n} fifo")


def transform(path: str, promise: ResolvedPromise, run: RunContext, acc: Acc,
              looks: int = 2) -> None:
    """Run the ``transformer`` on ``path``. cf-agent looks at a single file twice
    (``looks``), at each entry of a depth search once: what only a warning is promised
    for is said at each look."""
    command = promise.str_attr("transformer")
    if not command or not os.path.lexists(path):
        return
    if acc.warn_only:
        for _ in range(looks):
            acc.should(f"transform file '{path}' with '{command}'")
        return
    acc.log.info(f"Transforming '{path}' with '{command}'")
    try:
        argv = shlex.split(command)
        if run.shadow is not None:  # --simulate: it may write in the shadow tree only
            argv = run.shadow.confined(argv)
        done = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    except (OSError, ValueError) as e:
        acc.fail(f"Transformer '{path}' => '{command}' could not be run ({e})")
        return
    rc = done.returncode
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        acc.log.info(line)  # what the command said, as cf-agent shows it
    acc.log.info(f"Transformed '{path}' with '{command}' ")
    if rc != 0:
        acc.fail(f"Finished command related to promiser '{path}' -- an error occurred, "
                 f"returned {rc}")
        acc.fail(f"Transformer '{path}' => '{command}' returned error")
        return
    acc.repair(f"Transformer '{path}' => '{command}' seemed to work ok")
