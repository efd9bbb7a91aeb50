"""The error that stops a run the way cf-agent's ``FatalError`` does.

A leaf module: the evaluator, the function registry and the promise types raise it
from wherever they find policy cf-agent refuses to go on with; ``engine.eval.run``
reports it.
"""

from __future__ import annotations


class FatalPolicyError(BaseException):  # noqa: N818 - mirrors cf-agent's FatalError
    """Policy that cf-agent refuses to go on with at run time (a method calling a
    bundle that does not exist): ``Fatal CFEngine error: <message>``, exit code 1.
    A BaseException so that no ``except Exception`` on the way swallows it, as
    :class:`engine.eval.aborts.AgentAborted`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
