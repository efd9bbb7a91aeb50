"""What the evaluator's helpers see of the agent.

The resolver, the outcome bookkeeping, the abort classes and the evaluation-level
promise types (``engine.eval.types``) act on the running :class:`~engine.eval.agent.Agent`,
which in turn creates and calls them. They name it by the :class:`AgentCore`
protocol below instead of importing it, so that the import graph has no loop
(``tests/test_layers.py``); mypy checks that ``Agent`` satisfies it. The other way,
the agent reaches the bundle evaluator through the :class:`Runner` it is given.
"""

from __future__ import annotations

from engine._records import Record
from engine.promises.base import Outcome

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any, Protocol

    from engine.eval.context import EvalContext
    from engine.eval.functions.registry import FnEnv
    from engine.log import LineLogger
    from engine.policy.ast import Bundle, Policy, Promise
    from engine.promises.base import BundleCall, ResolvedPromise


class Tally(Record):
    """Outcomes of the promises run inside one bundle (for methods' outcome)."""

    __match_args__ = ("kept", "repaired", "notkept")
    __slots__ = __match_args__

    def __init__(self, kept: int = 0, repaired: int = 0, notkept: int = 0) -> None:
        self.kept = kept
        self.repaired = repaired
        self.notkept = notkept

    def outcome(self) -> Outcome:
        if self.notkept:
            return Outcome.NOTKEPT
        if self.repaired:
            return Outcome.REPAIRED
        return Outcome.KEPT


if TYPE_CHECKING:  # only annotations name it

    class AgentCore(FnEnv, Protocol):
        """The agent's state and look-ups, as the helpers below the agent use them; the
        resolver also hands it to functions as their :class:`FnEnv`."""

        policy: Policy
        log: LineLogger
        ctx: EvalContext
        host: str
        handles: dict[str, Outcome]  # promise handles and their outcomes, for depends_on
        tallies: list[Tally]  # one per bundle being evaluated, innermost last
        persistent: Any  # engine.state.persistent's store, once opened
        aborts: Any  # engine.eval.aborts.Aborts once body agent control asks
        fn_lookup: Any  # the variable look-up of the function call being evaluated

        def lookup(self, name: str) -> Any: ...
        def note_unresolved(self) -> None: ...

    class Runner(Protocol):
        """:class:`engine.eval.bundles.BundleRunner` as the modules that reach it through
        ``agent.runner`` use it (the agent itself, the common bundles and inputs, the
        pre-evaluation): handed to the agent by whoever makes it, as the agent cannot
        import it (it imports the agent)."""

        def run_bundle(self, agent: Any, bundle: Bundle, args: tuple[Any, ...] = (),
                       passes: int = ..., only: tuple[str, ...] | None = None,
                       inherit: bool = False) -> Tally: ...

        def evaluate_promise(self, agent: Any, p: Promise, last: bool) -> None: ...

        def edit_bundle_promises(self, agent: Any, call: BundleCall, filename: str,
                                 bundle_type: str = "edit_line") -> list[ResolvedPromise]: ...

        def attrs_for(self, agent: Any, p: Promise, promiser: str) -> dict[str, Any] | None: ...

        def handle(self, p: Promise) -> str | None: ...

        def note_unresolved(self) -> None: ...

        def clear_unresolved(self) -> None: ...

        @property
        def unresolved(self) -> bool: ...
