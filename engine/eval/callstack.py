"""The bundle call stack that ``callstack_callers()`` and ``callstack_promisers()`` show.

The agent keeps one entry per bundle being evaluated: the bundle and the promise
that called it (a ``methods`` promise of the bundle below it; None at the bottom).
cf-agent describes that stack as frames, bottom first: for each bundle a ``bundle``
frame (the bundle as ``cf-promises -p json`` shows it), then the frames of the
promise being evaluated in it (``promise_type``, ``promise``, and, below the top
bundle, ``iteration``). ``depth`` counts from 0 at the bottom, ``frame`` from the
number of frames at the bottom down to 1 at the top. Promisers are shown as
written, before expansion, as cf-agent shows them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from engine.policy.ast import Bundle, Promise


def callers(stack: list[tuple[Bundle, Promise | None]], current: Promise | None,
            source_path: Callable[[str], str] = str) -> list[dict[str, Any]]:
    """Every frame of ``stack`` (see the module doc); ``current`` is the promise
    being evaluated in the top bundle; ``source_path`` turns a file's path into
    the one its bundles show (the entry file as it was given)."""
    from engine.policy.json_export import bundle_json

    frames: list[dict[str, Any]] = []
    for i, (bundle, _) in enumerate(stack):
        top = i == len(stack) - 1
        frames.append({"type": "bundle",
                       "bundle": bundle_json(bundle, source_path(bundle.pos.file))})
        promise = current if top else stack[i + 1][1]
        if promise is None:
            continue
        frames.append({"type": "promise_type", "promise_type": promise.promise_type})
        frames.append({
            "type": "promise", "promise_type": promise.promise_type,
            "promiser": promise.promiser, "promise_classes": promise.guard,
            "promise_comment": "",
        })
        if not top:
            frames.append({"type": "iteration", "iteration_index": 0})
    count = len(frames)
    for depth, frame in enumerate(frames):
        frame["depth"] = depth
        frame["frame"] = count - depth
    return frames


def promisers(stack: list[tuple[Bundle, Promise | None]]) -> list[str]:
    """The promisers of the ``methods`` promises that called each bundle, bottom first."""
    return [p.promiser for _, p in stack[1:] if p is not None and p.promise_type == "methods"]
