"""Evaluation-level promise types: ``vars``, ``classes``, ``meta`` and ``defaults``.

They bind names (variables, classes, tags) in the evaluator's context and act on
nothing outside it, so they live beside the evaluator (as CFEngine keeps
``verify_vars.c`` beside ``expand.c``); ``engine.promises`` holds the actuators.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol

    from engine.eval.base import AgentCore
    from engine.eval.resolve import Resolver

    class Binder(AgentCore, Protocol):
        """What a binding promise type uses of the agent: its state and its resolver."""

        resolver: Resolver
