"""Comparing package versions for ``package_method`` promises.

``package_select`` (``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``; default ``==``)
compares an installed or available version with the promised one. When the
method names ``package_version_less_command`` / ``package_version_equal_command``
those decide (``$(v1)`` and ``$(v2)`` replaced, exit status 0 meaning yes; equality
falls back to two "less" questions). Otherwise versions are split into runs of
letters and digits and the separators between them; versions whose separators
differ cannot be ordered (only ``!=`` holds), runs of digits compare as numbers,
other runs as text, and a version that is a prefix of another is the smaller.
"""

from __future__ import annotations

import re
import subprocess

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable

_RUN = re.compile(r"[0-9A-Za-z]+|[^0-9A-Za-z]")


class CompareError(Exception):
    """A comparison command could not be run."""


def _split(version: str) -> tuple[list[str], list[str]]:
    runs: list[str] = []
    seps: list[str] = []
    for tok in _RUN.findall(version):
        (runs if tok[0].isalnum() else seps).append(tok)
    return runs, seps


def _key(run: str) -> tuple[int, int | str]:
    return (0, int(run)) if run.isdigit() else (1, run)


def internal_less(v1: str, v2: str) -> bool | None:
    """``v1 < v2`` by the built-in rule; None when the two cannot be ordered."""
    runs1, seps1 = _split(v1)
    runs2, seps2 = _split(v2)
    common = min(len(seps1), len(seps2))
    if seps1[:common] != seps2[:common]:
        return None
    for a, b in zip(runs1, runs2, strict=False):
        if a == b:
            continue
        ka, kb = _key(a), _key(b)
        if ka[0] != kb[0]:
            return a < b
        return ka < kb
    return len(runs1) < len(runs2)


def run_command(template: str, v1: str, v2: str, useshell: bool) -> bool:
    """A version comparison command's answer (exit status 0: yes)."""
    command = template
    for name, value in (("v1", v1), ("v2", v2)):
        command = command.replace(f"$({name})", value).replace(f"${{{name}}}", value)
    import shlex

    try:
        argv = ["/bin/sh", "-c", command] if useshell else shlex.split(command)
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=600).returncode == 0
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        raise CompareError(f"Can not run package version comparison command '{command}' "
                           f"({e})") from e


class Comparator:
    """The comparisons of one ``package_method``."""

    def __init__(self, less_command: str | None, equal_command: str | None,
                 useshell: bool) -> None:
        self.less_command = less_command
        self.equal_command = equal_command
        self.useshell = useshell

    def less(self, v1: str, v2: str) -> bool:
        if self.less_command:
            return run_command(self.less_command, v1, v2, self.useshell)
        return internal_less(v1, v2) is True

    def equal(self, v1: str, v2: str) -> bool:
        if self.equal_command:
            return run_command(self.equal_command, v1, v2, self.useshell)
        if self.less_command:
            return not self.less(v1, v2) and not self.less(v2, v1)
        return v1 == v2

    def compare(self, v1: str, v2: str, select: str) -> bool:
        """``v1 <select> v2``; CompareError when a command cannot run."""
        ops: dict[str, Callable[[], bool]] = {
            "==": lambda: self.equal(v1, v2),
            "!=": lambda: not self.equal(v1, v2),
            "<": lambda: self.less(v1, v2),
            ">": lambda: self.less(v2, v1),
            ">=": lambda: not self.less(v1, v2) and self._ordered(v1, v2),
            "<=": lambda: not self.less(v2, v1) and self._ordered(v1, v2),
        }
        return ops.get(select, ops["=="])()

    def _ordered(self, v1: str, v2: str) -> bool:
        """Whether the built-in rule can order the two (commands always can)."""
        if self.less_command:
            return True
        return v1 == v2 or internal_less(v1, v2) is not None
