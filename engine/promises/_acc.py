"""Outcome bookkeeping for one promise that does several things.

A files promise may create, copy, chmod, edit and touch: each step reports
through :class:`Acc`, which logs cf-agent's line for it and folds the steps into
one :class:`~engine.promises.base.Outcome` (any failure or warning -> not kept,
else any change -> repaired, else kept). cf-agent closes a promise that had
errors with ``Errors encountered when actuating <type> promise '<promiser>'``
(warnings likewise); :meth:`result` does the same.

cf-agent also defines the ``classes`` body classes of every step's own result:
a copy that repairs the content and then finds the attributes as promised
defines both the repaired and the kept classes. Steps that found nothing to do
say so with :meth:`keep`; :meth:`result` lists those partial outcomes in
``PromiseResult.also``.
"""

from __future__ import annotations

from engine.promises.base import Logger, Outcome, PromiseResult, ResolvedPromise, RunContext

WARN_SUFFIX = ", but only warning promised"


def action_warn(promise: ResolvedPromise) -> bool:
    """The promise's own ``action_policy`` asks for warnings only."""
    return str(promise.body("action").get("action_policy", "fix")) in ("warn", "nop")


def plain_dry_run(promise: ResolvedPromise, run: RunContext) -> bool:
    """A ``-n`` run on a promise that does not itself say warn: cf-agent's wording
    then drops ``but only warning promised`` (a warn promise keeps it under ``-n``)."""
    return bool(run.dry_run) and not action_warn(promise)


class Acc:
    __slots__ = ("log", "promiser", "ptype", "warn_only", "dry_run", "repaired", "failed",
                 "warned", "kept", "classes")

    def __init__(self, log: Logger, promiser: str, ptype: str, warn_only: bool,
                 dry_run: bool = False) -> None:
        self.log = log
        self.promiser = promiser
        self.ptype = ptype
        self.warn_only = warn_only or dry_run
        self.dry_run = dry_run
        self.repaired = False
        self.failed = False
        self.warned = False
        self.kept = False
        self.classes: list[str] = []

    def repair(self, msg: str | None = None) -> None:
        if msg:
            self.log.info(msg)
        self.repaired = True

    def fail(self, msg: str | None = None) -> None:
        if msg:
            self.log.error(msg)
        self.failed = True

    def keep(self) -> None:
        """A step found its part of the promise already kept."""
        self.kept = True

    def warn(self, msg: str, times: int = 1) -> None:
        """A change not made because only a warning was promised (or the run is dry)."""
        for _ in range(times):
            self.log.warning(msg)
        self.warned = True

    def should(self, what: str) -> None:
        """cf-agent's line for a change it may not make: ``Should <what>``, plus
        ``, but only warning promised`` under ``action_policy => "warn"`` (not in
        a dry run, ``-n``, where the sentence stops there)."""
        self.warn(f"Should {what}{'' if self.dry_run else WARN_SUFFIX}")

    def child(self) -> Acc:
        """An accumulator for one part of the promise (a file its depth search reached),
        whose outcome defines that file's classes before :meth:`absorb` folds it in."""
        return Acc(self.log, self.promiser, self.ptype, self.warn_only, self.dry_run)

    def acted(self) -> bool:
        """Did any step report an outcome (kept, repaired, failed or warned)?"""
        return self.kept or self.repaired or self.failed or self.warned

    def absorb(self, part: Acc) -> None:
        """Fold the outcome of a :meth:`child` into this promise's."""
        self.repaired |= part.repaired
        self.failed |= part.failed
        self.warned |= part.warned
        self.kept |= part.kept
        self.classes += part.classes

    def partial(self) -> PromiseResult:
        """The outcome so far, without the closing line :meth:`result` logs."""
        return self._result(_NOTKEPT if self.failed or self.warned else None)

    def result(self) -> PromiseResult:
        if self.failed:
            self.log.error(
                f"Errors encountered when actuating {self.ptype} promise '{self.promiser}'")
        elif self.warned:
            self.log.warning(
                f"Warnings encountered when actuating {self.ptype} promise '{self.promiser}'")
        return self._result(_NOTKEPT if self.failed or self.warned else None)

    def _result(self, outcome: Outcome | None) -> PromiseResult:
        if outcome is None:
            outcome = _REPAIRED if self.repaired else _KEPT
        also: list[Outcome] = []
        if self.repaired and outcome is not _REPAIRED:
            also.append(_REPAIRED)
        if self.kept and outcome is not _KEPT:
            also.append(_KEPT)
        return PromiseResult(outcome, classes=self.classes, also=also)


# an enum member looked up on its class costs a metaclass attribute lookup each time
_KEPT, _REPAIRED, _NOTKEPT = Outcome.KEPT, Outcome.REPAIRED, Outcome.NOTKEPT
