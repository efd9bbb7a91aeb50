"""Custom promise types: promises carried out by promise modules.

A ``promise agent NAME { path => "..."; interpreter => "..."; }`` block makes
``NAME:`` a promise type of agent bundles. Each promise of it is validated
(``validate_promise``) and then evaluated (``evaluate_promise``) by the module at
``path``, started once per run and kept for the rest of it (``terminate`` at the end
of the run). One module serves every promise type whose block names its path; two
blocks naming the same path with different interpreters are an error.

The agent keeps to itself what modules never see: class guards, ``if``/``unless``,
``action`` (but ``action_policy => "warn"``, or a dry run, is sent as
``action_policy=warn`` to a module that advertises the ``action_policy`` feature,
and refused for one that does not), ``classes``, ``depends_on``, ``meta`` and
``with``; like cf-agent 3.21 it does send ``comment`` and ``handle``. The module's answer sets the outcome (``kept``,
``repaired``, ``not_kept``; anything else is not kept) and ``result_classes`` are
defined in the namespace. A promise still holding unresolved variables is not sent.
"""

from __future__ import annotations

from engine.log import Level
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise, RunContext
from engine.promises.custom.protocol import (
    ModuleError,
    ModuleProcess,
    Reply,
    display_filename,
)
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

# handled by the agent, never sent to the module
AGENT_ATTRIBUTES = frozenset({"if", "ifvarclass", "unless", "action", "classes", "depends_on",
                              "meta", "with"})
_RESULTS = {"kept": Outcome.KEPT, "repaired": Outcome.REPAIRED, "not_kept": Outcome.NOTKEPT}
_LEVEL_NAMES = {Level.ERROR: "error", Level.WARNING: "warning", Level.NOTICE: "notice",
                Level.INFO: "info", Level.VERBOSE: "verbose", Level.DEBUG: "debug"}
_POOL_KEY = "promise_modules"


class ModulePool:
    """The modules started in one run, by path; terminated by :meth:`close`."""

    def __init__(self, log_level: str) -> None:
        self.log_level = log_level
        self.modules: dict[str, ModuleProcess] = {}

    def get(self, path: str, interpreter: str | None) -> ModuleProcess:
        module = self.modules.get(path)
        if module is not None and module.proc.poll() is not None:
            module.kill()  # it went away: start it again
            module = None
            del self.modules[path]
        if module is None:
            module = self.modules[path] = ModuleProcess(path, interpreter)
        return module

    def drop(self, path: str) -> None:
        module = self.modules.pop(path, None)
        if module is not None:
            module.kill()

    def close(self) -> None:
        for module in self.modules.values():
            module.terminate()
        self.modules.clear()


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    log = run.log
    ptype = promise.promise_type
    block = run.promise_block(ptype)
    if block is None:
        log.error(f"Undefined promise type '{ptype}' ({promise.pos.file}:{promise.pos.line})")
        return PromiseResult(Outcome.NOTKEPT, message=f"undefined promise type '{ptype}'")
    path = block.get("path")
    if not isinstance(path, str) or not path:
        log.error(f"Promise type '{ptype}' has no module 'path' "
                  f"({promise.pos.file}:{promise.pos.line})")
        return PromiseResult(Outcome.NOTKEPT, message="no module path")
    interpreter = block.get("interpreter")
    interpreter = interpreter if isinstance(interpreter, str) and interpreter else None
    if _unresolved(promise):
        log.verbose(f"Not sending {ptype} promise '{promise.promiser}' to its module: it "
                    "holds unresolved variables")
        return PromiseResult(Outcome.NOTKEPT, message="unresolved variables")
    pool = _pool(run)
    started = pool.modules.get(path)
    if started is not None and started.interpreter != interpreter:
        log.error(f"Conflicting interpreter specifications for custom promise module '{path}' "
                  f"(started with '{started.interpreter or ''}' and '{interpreter or ''}' "
                  f"requested for promise '{promise.promiser}' of type '{ptype}')")
        return PromiseResult(Outcome.NOTKEPT, message="conflicting interpreters")
    try:
        module = pool.get(path, interpreter)
    except ModuleError as e:
        log.error(str(e))
        return PromiseResult(Outcome.NOTKEPT, message=str(e))
    warn = run.warn_only(promise)
    if warn and "action_policy" not in module.features:
        log.error("Not making changes to the system, but the custom promise module "
                  f"'{path}' doesn't support action_policy")
        return PromiseResult(Outcome.NOTKEPT, message="module does not support action_policy")
    try:
        message = _message(promise, warn, pool.log_level, module.json)
    except ValueError as e:
        log.error(f"{e} ({promise.pos.file}:{promise.pos.line})")
        return PromiseResult(Outcome.NOTKEPT, message=str(e))
    try:
        reply = module.request({**message, "operation": "validate_promise"})
        _relay(run, reply)
        if reply.result != "valid":
            if reply.result != "invalid":
                log.error(f"Promise module '{path}' answered '{reply.result}' to the validation "
                          f"of {ptype} promise '{promise.promiser}'")
            log.error(f"{ptype} promise with promiser '{promise.promiser}' failed validation "
                      f"({_where(promise)})")
            return PromiseResult(Outcome.NOTKEPT, message="invalid")
        reply = module.request({**message, "operation": "evaluate_promise"})
    except ModuleError as e:
        log.error(str(e))
        pool.drop(path)
        return PromiseResult(Outcome.NOTKEPT, message=str(e))
    infos = _relay(run, reply)
    outcome = _RESULTS.get(reply.result)
    if outcome is None:
        log.error(f"Promise module '{path}' answered '{reply.result}' to the evaluation of "
                  f"{ptype} promise '{promise.promiser}'")
        outcome = Outcome.NOTKEPT
    if warn:
        if infos:
            log.critical(f"Bug in promise module - 'info:' log messages reported for {ptype} "
                         f"promise with promiser '{promise.promiser}' ({_where(promise)}) while "
                         "making changes on the system disabled")
        if outcome is Outcome.REPAIRED:
            log.critical(f"Bug in promise module - {ptype} promise with promiser "
                         f"'{promise.promiser}' ({_where(promise)}) repaired while making "
                         "changes on the system disabled")
            outcome = Outcome.NOTKEPT
    elif outcome is Outcome.REPAIRED and not infos:
        # a change to the system is always told at info level
        log.critical(f"Bug in promise module - Failed to log about changes made by a repaired "
                     f"{ptype} promise with promiser '{promise.promiser}' ({_where(promise)})")
    return PromiseResult(outcome, classes=[canonify(c) for c in reply.classes],
                         message=reply.result)


def _pool(run: RunContext) -> ModulePool:
    state = run.run_state
    pool = state.get(_POOL_KEY)
    if pool is None:
        level = _LEVEL_NAMES.get(getattr(run.log, "threshold", Level.NOTICE), "notice")
        pool = state[_POOL_KEY] = ModulePool(level)
    return pool


def _where(promise: ResolvedPromise) -> str:
    return f"{display_filename(promise.pos.file)}:{promise.pos.line}"


def _unresolved(promise: ResolvedPromise) -> bool:
    def has_refs(v: Any) -> bool:
        if isinstance(v, str):
            return "$(" in v or "${" in v
        if isinstance(v, list):
            return any(has_refs(x) for x in v)
        if isinstance(v, dict):
            return any(has_refs(x) for k, x in v.items() if not k.startswith("__"))
        return False

    return has_refs(promise.promiser) or any(
        has_refs(v) for k, v in promise.attrs.items() if k not in AGENT_ATTRIBUTES)


def _message(promise: ResolvedPromise, warn: bool, log_level: str,
             json_based: bool) -> dict[str, Any]:
    """The request fields shared by validation and evaluation (``operation`` aside)."""
    attributes: dict[str, Any] = {}
    for name, value in promise.attrs.items():
        if name in AGENT_ATTRIBUTES:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if not k.startswith("__")}
        if not json_based:
            if not isinstance(value, str):
                raise ValueError(f"Attribute '{name}' of {promise.promise_type} promise "
                                 f"'{promise.promiser}' is not a string, which the module's "
                                 "line based protocol cannot carry")
            if "\n" in value:
                raise ValueError(f"Attribute '{name}' of {promise.promise_type} promise "
                                 f"'{promise.promiser}' holds a newline, which the module's "
                                 "line based protocol cannot carry")
        attributes[name] = value
    if warn:
        attributes["action_policy"] = "warn"
    if not json_based and "\n" in promise.promiser:
        raise ValueError(f"The promiser of {promise.promise_type} promise holds a newline, "
                         "which the module's line based protocol cannot carry")
    return {
        "operation": "",
        "log_level": log_level,
        "promise_type": promise.promise_type,
        "promiser": promise.promiser,
        "line_number": promise.pos.line,
        "filename": display_filename(promise.pos.file),
        "attributes": attributes,
    }


def _relay(run: RunContext, reply: Reply) -> int:
    """Print the module's log lines at their levels; how many were info lines."""
    log = run.log
    infos = 0
    for level, text in reply.logs:
        if level == "critical":
            log.critical(text)
        elif level == "error":
            log.error(text)
        elif level == "warning":
            log.warning(text)
        elif level == "notice":
            log.notice(text)
        elif level == "info":
            infos += 1
            log.info(text)
        elif level == "verbose":
            log.verbose(text)
        else:
            log.debug(text)
    return infos
