"""Is this a workdir at all? An explicit ``-w`` or ``--cfengine`` path that is not one is
an error naming it, never an empty listing."""

from __future__ import annotations

from engine.workdir import Workdir

# what a workdir that has been used holds (any one of them is enough)
_VIGIL_MARKS = ("inputs", "state", "outputs", "ppkeys", "vigil.toml")
_CFENGINE_MARKS = ("inputs", "state", "ppkeys", "outputs", "bin", "masterfiles")


def problem(wd: Workdir) -> str | None:
    """Why ``wd`` is not a workdir to read, in words naming the path; None when it is."""
    root = wd.root
    kind = "CFEngine workdir" if wd.cfengine else "vigil workdir"
    if not root.exists():
        return f"{root}: no such directory (not a {kind})"
    if not root.is_dir():
        return f"{root}: not a directory (not a {kind})"
    marks = _CFENGINE_MARKS if wd.cfengine else _VIGIL_MARKS
    if not any((root / m).exists() for m in marks):
        return f"{root}: not a {kind} (none of {', '.join(marks)} is there)"
    return None
