"""``reports:`` — print ``R: text``, or append it to ``report_to_file``."""

from __future__ import annotations

from engine.promises.base import Outcome, PromiseResult, ResolvedPromise

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.eval.agent import Agent


def actuate_report(agent: Agent, rp: ResolvedPromise) -> PromiseResult:
    if agent.dry_run:
        agent.log.warning(f"Need to repair reports promise: {rp.promiser}")
        return PromiseResult(Outcome.NOTKEPT, message="dry run: report not printed")
    target = rp.str_attr("report_to_file")
    if target:
        try:
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(rp.promiser + "\n")
        except OSError as e:
            agent.log.error(f"Could not append report to '{target}': {e.strerror}")
            return PromiseResult(Outcome.NOTKEPT, message=str(e))
        return PromiseResult(Outcome.REPAIRED)
    agent.log.report(rp.promiser)
    return PromiseResult(Outcome.KEPT)
