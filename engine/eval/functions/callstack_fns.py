"""Call-stack functions: callstack_callers, callstack_promisers.

They read the agent's bundle stack through the optional environment methods
``callstack_callers()`` and ``callstack_promisers()`` (see ``engine.eval.callstack``);
without them the functions fail.
"""

from __future__ import annotations

from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data


@function("callstack_callers", "data", 0, 0)
def callstack_callers(env: FnEnv) -> Data:
    """callstack_callers(): the frames of the bundles and promises that led to this
    call, bottom (the bundlesequence's bundle) first."""
    frames = getattr(env, "callstack_callers", None)
    if frames is None:
        raise FunctionError("Function 'callstack_callers' is not available here")
    return Data(frames())


@function("callstack_promisers", "slist", 0, 0)
def callstack_promisers(env: FnEnv) -> list[str]:
    """callstack_promisers(): the promisers of the methods promises that called the
    bundles on the stack, bottom first."""
    names = getattr(env, "callstack_promisers", None)
    if names is None:
        raise FunctionError("Function 'callstack_promisers' is not available here")
    return list(names())
