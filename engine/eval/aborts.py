"""``abortclasses`` and ``abortbundleclasses`` of ``body agent control``.

As in cf-agent 3.21, every class defined after the lists are read is checked:

* a class whose (namespace-qualified) name fully matches an ``abortclasses`` regex
  ends the run (``notice: cf-agent aborted on defined class 'x'``, exit code 6);
  classes already defined when the list is read are checked at that moment;
* a class whose name fully matches an ``abortbundleclasses`` regex stops the bundle
  being evaluated (``error: Bundle 'b' aborted on defined class 'x'``);
* then each ``abortbundleclasses`` entry is also evaluated as a class expression,
  and a true one stops the bundle too (``Setting abort for 'e' when setting class
  'x'``); an entry that is not a class expression says so (``Unable to parse...``).

A stopped bundle skips the rest of its promises; its caller carries on.
"""

from __future__ import annotations

import re

from engine.eval import classexpr
from engine.eval.fatal import FatalPolicyError as FatalPolicyError  # run.py catches it here

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from engine.eval.base import AgentCore

EXIT_ABORTED = 6


class AgentAborted(BaseException):  # noqa: N818 - not an error: the policy asked for it
    """An ``abortclasses`` class was defined: the run ends here.

    A BaseException, like SystemExit, so that no actuator's ``except Exception``
    (which keeps one broken promise from ending the run) can swallow it."""

    def __init__(self, class_name: str) -> None:
        super().__init__(class_name)
        self.class_name = class_name


def _compile(patterns: Iterable[str]) -> list[re.Pattern[str]]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error:
            continue  # cf-agent's regex match fails quietly on a bad pattern
    return out


class Aborts:
    """The two lists and which bundle frames they stopped."""

    def __init__(self, agent: AgentCore, abort: list[str], abort_bundle: list[str]) -> None:
        self.agent = agent
        self.abort = _compile(abort)
        self.bundle_texts = list(abort_bundle)
        self.bundle_regexes = _compile(abort_bundle)
        self.stopped: set[int] = set()  # id() of the frames whose bundle was stopped

    def check_existing(self, names: Iterable[str]) -> None:
        """Classes defined before the lists were read (hard, -D, common bundles)."""
        for name in sorted(names):
            self._check_agent(name)

    def _aborting(self, name: str) -> bool:
        if any(rx.fullmatch(name) for rx in self.abort):
            self.agent.log.notice(f"cf-agent aborted on defined class '{name}'")
            return True
        return False

    def _check_agent(self, name: str) -> None:
        if self._aborting(name):
            raise AgentAborted(name)

    def on_define(self, name: str) -> None:
        """Called by the context each time a soft class is defined. The bundle checks
        run even when the run is about to end, as cf-agent's do (their messages
        come out after its notice)."""
        aborting = self._aborting(name)
        self._check_bundle(name)
        if aborting:
            raise AgentAborted(name)

    def _check_bundle(self, name: str) -> None:
        frames = self.agent.ctx.frames
        frame = frames[-1] if frames else None
        if frame is None or id(frame) in self.stopped:
            return
        for rx in self.bundle_regexes:
            if rx.fullmatch(name):
                self.agent.log.error(f"Bundle '{frame.bundle}' aborted on defined class '{name}'")
                self.stopped.add(id(frame))
                return
        bare = name.rpartition(":")[2]
        for expr in self.bundle_texts:
            try:
                holds = classexpr.evaluate(expr, self.agent.ctx.is_defined)
            except classexpr.ClassExprError:
                self.agent.log.error(f"Unable to parse class expression '{expr}'")
                continue
            if holds:
                self.agent.log.error(f"Setting abort for '{expr}' when setting class '{bare}'")
                self.stopped.add(id(frame))
                return

    def bundle_stopped(self, frame: object) -> bool:
        return id(frame) in self.stopped

    def bundle_done(self, frame: object) -> None:
        self.stopped.discard(id(frame))


def install(agent: AgentCore, abort: object, abort_bundle: object) -> None:
    """Read the two lists (already resolved) and start checking classes."""
    abort_list = _as_list(abort)
    bundle_list = _as_list(abort_bundle)
    if not abort_list and not bundle_list:
        return
    if abort_list:
        agent.log.verbose("Setting abort classes from ...")
    if bundle_list:
        agent.log.verbose("Setting abort bundle classes from ...")
    aborts = Aborts(agent, abort_list, bundle_list)
    agent.aborts = aborts
    agent.ctx.on_define = aborts.on_define
    aborts.check_existing(agent.ctx.all_classes())


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []
