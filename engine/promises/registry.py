"""Which module carries out each promise type the agent dispatches to an actuator.

``vars``, ``classes``, ``meta``, ``defaults``, ``reports`` and ``methods`` are
evaluated by the agent itself (``engine.eval``); the types below have an
``actuate(promise, run)`` in their module, imported on first use. A promise type
the policy defines with a ``promise agent NAME`` block is carried out by
:mod:`engine.promises.custom`; any other type has no actuator, and the agent
reports each such promise as an error.
"""

from __future__ import annotations

import importlib

from engine import promisetypes

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from engine.promises.base import Actuator

ACTUATOR_MODULES: dict[str, str] = promisetypes.ACTUATOR_MODULES
CUSTOM_MODULE = "engine.promises.custom"
# types whose module has ``after_pass(run)``, called after the type's promises in each
# pass of a bundle (packages run the commands they scheduled, as cf-agent does)
AFTER_PASS_TYPES = promisetypes.AFTER_PASS

_LOADED: dict[str, Actuator] = {}


def _load(module_name: str) -> Actuator:
    fn = _LOADED.get(module_name)
    if fn is None:
        fn = _LOADED[module_name] = importlib.import_module(module_name).actuate
    return fn


def builtin(promise_type: str) -> Actuator | None:
    """The actuator of a built-in promise type, or None."""
    module_name = ACTUATOR_MODULES.get(promise_type)
    return None if module_name is None else _load(module_name)


def custom() -> Actuator:
    """The actuator of promise types defined by ``promise agent`` blocks."""
    return _load(CUSTOM_MODULE)


def after_pass(promise_type: str) -> Callable[[Any], None] | None:
    """The hook run after ``promise_type``'s promises in each pass, or None."""
    if promise_type not in AFTER_PASS_TYPES:
        return None
    module_name = ACTUATOR_MODULES[promise_type]
    _load(module_name)
    return importlib.import_module(module_name).after_pass
