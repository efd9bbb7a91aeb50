"""Outcome bookkeeping for one promise that does several things.

A files promise may create, copy, chmod, edit and touch: each step reports
through :class:`Acc`, which logs cf-agent's line for it and folds the steps into
one :class:`~engine.promises.base.Outcome` (any failure or warning -> not kept,
else any change -> repaired, else kept). cf-agent closes a promise that had
errors with ``Errors encountered when actuating <type> promise '<promiser>'``
(warnings likewise); :meth:`result` does the same.
"""

from __future__ import annotations

from engine.promises.base import Logger, Outcome, PromiseResult


class Acc:
    __slots__ = ("log", "promiser", "ptype", "warn_only", "repaired", "failed", "warned",
                 "classes")

    def __init__(self, log: Logger, promiser: str, ptype: str, warn_only: bool) -> None:
        self.log = log
        self.promiser = promiser
        self.ptype = ptype
        self.warn_only = warn_only
        self.repaired = False
        self.failed = False
        self.warned = False
        self.classes: list[str] = []

    def repair(self, msg: str | None = None) -> None:
        if msg:
            self.log.info(msg)
        self.repaired = True

    def fail(self, msg: str | None = None) -> None:
        if msg:
            self.log.error(msg)
        self.failed = True

    def warn(self, msg: str, times: int = 1) -> None:
        """A change not made because only a warning was promised. cf-agent checks
        permissions and deletions twice per promise and says so each time;
        ``times=2`` reproduces that."""
        for _ in range(times):
            self.log.warning(msg)
        self.warned = True

    def result(self) -> PromiseResult:
        if self.failed:
            self.log.error(
                f"Errors encountered when actuating {self.ptype} promise '{self.promiser}'")
            outcome = Outcome.NOTKEPT
        elif self.warned:
            self.log.warning(
                f"Warnings encountered when actuating {self.ptype} promise '{self.promiser}'")
            outcome = Outcome.NOTKEPT
        elif self.repaired:
            outcome = Outcome.REPAIRED
        else:
            outcome = Outcome.KEPT
        return PromiseResult(outcome, classes=self.classes)
