"""What a local ``copy_from`` does with a link, and which copies a run makes only once,
as cf-agent 3.21 does.

A source that is a symbolic link is copied as a link: the copy reads as the source
does (a relative link stays relative), or, by the copy's ``link_type``, made
``absolute`` (from the source's directory), ``relative`` or a ``hardlink``. A link
whose name matches ``copylink_patterns`` is followed instead and what it points to is
copied (a directory is passed over; a link to nothing cannot be copied). A plain
file whose name matches ``linkcopy_patterns`` is not copied but linked to.

``files_single_copy`` (``body agent control``): a destination matching one of these
regexes is copied to once in a run (the first copy promise to reach it, whether it
copies or finds the file up to date); later copies to it are skipped. With a list set,
a file a copy created is not copied to again in the run either, named or not.
"""

from __future__ import annotations

import os
import posixpath

from engine.cfregex import RegexError, RegexLimit, full_match

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises._acc import Acc
    from engine.promises.base import RunContext

_MAX_LINKS = 20  # how many links in a row cf-agent follows (CF_MAXLINKLEVEL is lower)
_SINGLE_KEY = "files_single_copy"


def _patterns(v: object) -> list[str]:
    items = v if isinstance(v, list) else [] if v in (None, "") else [v]
    return [str(p) for p in items if str(p) != "cf_null"]


def _matches(patterns: list[str], text: str) -> bool:
    for p in patterns:
        try:
            if full_match(p, text):
                return True
        except (RegexError, RegexLimit):
            if p == text:
                return True
    return False


def follows(body: dict[str, object], src: str) -> bool:
    """Does ``copylink_patterns`` say the link ``src`` is copied as what it points to?"""
    return _matches(_patterns(body.get("copylink_patterns")), os.path.basename(src))


def links_instead(body: dict[str, object], src: str) -> bool:
    """Does ``linkcopy_patterns`` say the plain file ``src`` is linked to, not copied?"""
    return _matches(_patterns(body.get("linkcopy_patterns")), os.path.basename(src))


def resolved(link: str) -> str:
    """Where the chain of links starting at ``link`` ends, on paper (the last one may
    name nothing), each link text read from the directory of the link holding it."""
    path = link
    for _ in range(_MAX_LINKS):
        try:
            target = os.readlink(path)
        except OSError:
            return path
        path = posixpath.join(posixpath.dirname(path), target)  # as written: "a/./b"
    return path


def link_copy(src: str, dest: str, body: dict[str, object], move: bool, acc: Acc,
              linked_to_source: bool = False, ref: str = "") -> None:
    """Make ``dest`` a link as the link ``src`` is (or, ``linked_to_source``, a link to
    the file ``src`` itself). ``ref``: cf-agent's line naming the promise, for errors."""
    from engine.promises.files import links

    if linked_to_source:
        target = src
    else:
        try:
            target = os.readlink(src)
        except OSError as e:
            acc.fail(f"Can't readlink '{src}' ({e.strerror})")
            return
    ltype = str(body.get("link_type", "symlink"))
    absolute = target if target.startswith("/") else posixpath.join(
        posixpath.dirname(src), target)
    if ltype == "hardlink":
        links.hard_link(dest, absolute, move, acc)
        return
    if ltype in ("absolute", "abs"):
        target = posixpath.normpath(absolute)
        if not os.path.lexists(target):  # cf-agent's words; the copy is not failed for it
            acc.log.error(f"Can't stat '{target}' in ExpandLinks. "
                          "(lstat: No such file or directory)")
            acc.log.error(f"Failed to expand absolute link to '{target}'")
            if ref:
                acc.log.error(ref)
            return
    elif ltype in ("relative", "rel") and not target.startswith("."):
        # cf-agent makes the link text itself relative to the destination (a text
        # already relative comes out climbing to the root and down again)
        rel = links.relative_to(dest, target)
        if rel is None:
            acc.fail(f"Failed to link '{dest}' to '{target}' - can't link file to itself")
            return
        target = rel
    links.symlink(dest, target, move, acc)


def follow_failed(src: str, dest: str, acc: Acc) -> None:
    """A followed link (``copylink_patterns``) that leads nowhere: cf-agent's lines."""
    acc.log.info(f"Can't copy '{src}' (open: No such file or directory)")
    acc.fail(f"Failed copying file '{src}' to '{dest}.cfnew'")
    acc.fail(f"Copy from 'localhost:{src}' failed")


def followed(src: str) -> tuple[str, os.stat_result | None]:
    """What the link ``src`` leads to and its stat (None: nothing there)."""
    end = resolved(src)
    try:
        return end, os.stat(end)
    except OSError:
        return end, None


class SingleCopy:
    """``files_single_copy`` for one run: the destinations already copied to."""

    __slots__ = ("patterns", "done")

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns
        self.done: set[str] = set()

    @classmethod
    def of(cls, run: RunContext) -> SingleCopy | None:
        """The run's list (read from ``body agent control`` on first use); None when
        the policy sets none."""
        state = run.run_state
        if _SINGLE_KEY not in state:
            from engine.promises.files.fsutil import agent_control

            patterns = _patterns(agent_control(run, "files_single_copy"))
            state[_SINGLE_KEY] = cls(patterns) if patterns else None
        single = state[_SINGLE_KEY]
        return single if isinstance(single, cls) else None

    def skip(self, dest: str, acc: Acc) -> bool:
        """True when ``dest`` was met before in this run (and is to be left); otherwise
        it counts as met from now on, if the list names it."""
        if dest in self.done:
            acc.log.verbose(f"Skipping single-copied file '{dest}'")
            return True
        if _matches(self.patterns, dest):
            self.done.add(dest)
        return False

    def created(self, dest: str) -> None:
        """A copy made ``dest``: cf-agent copies to a file it created once in the run,
        whether or not the list names it (as long as there is a list)."""
        self.done.add(dest)
