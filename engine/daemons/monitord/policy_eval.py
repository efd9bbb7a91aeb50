"""The monitor bundles of a policy, evaluated: the measurements monitord takes.

Runs in the child process :mod:`engine.daemons.monitord.policy` starts, never in
monitord itself (it imports the parser and the evaluator). As cf-monitord does,
the context is the host's hard classes plus ``monitor``; common bundles run first
(with augments and the inputs they name), then every ``monitor`` bundle in policy
order: its ``vars`` and ``classes`` (twice, so each sees the other), then its
``measurements:`` promises, each expanded (guards, ``if``/``unless``, lists) into
a :class:`~engine.daemons.monitord.measurements.Measurement`. ``body monitor control``'s
``forgetrate`` is read too.
"""

from __future__ import annotations

import os
import time
from typing import Any

from engine.daemons.monitord.measurements import Measurement
from engine.log import LineLogger
from engine.workdir import Workdir

_TRUE = ("true", "yes", "on")


def evaluate(workdir: Workdir, entry: str, log: LineLogger) -> dict[str, Any]:
    """``{"ok", "measurements", "files", "forgetrate", "monitor_bundles"}``; problems
    are written to ``log`` (errors name the promise's file and line)."""
    from engine.eval.agent import Agent, AgentOptions
    from engine.eval.bundles import BundleRunner
    from engine.eval.hardclasses import discover
    from engine.eval.inputs import resolve_common_and_inputs
    from engine.eval.preeval import resolve_control_bodies
    from engine.eval.run import load_valid_policy

    policy, _error = load_valid_policy(entry, workdir.root, log)
    if policy is None:
        return {"ok": False}
    hard, sys_vars = discover(workdir.root, time.time(), component="monitor")
    path = os.path.abspath(entry)
    sys_vars.update({
        "policy_entry_filename": path,
        "policy_entry_dirname": os.path.dirname(path),
        "policy_entry_basename": os.path.basename(path),
    })
    agent = Agent(policy, AgentOptions(entry, workdir, no_lock=True), log, hard, sys_vars,
                  BundleRunner())
    from engine.eval import augments

    augments.install(agent, entry)
    resolve_common_and_inputs(agent)
    resolve_control_bodies(agent)
    bundles = [b for f in policy.files for b in f.bundles if b.bundle_type == "monitor"]
    out: list[dict[str, Any]] = []
    for bundle in bundles:
        if not any(p.promise_type == "measurements" for p in bundle.promises):
            continue
        if bundle.args:
            log.error(f"{bundle.pos.file}:{bundle.pos.line}: monitor bundle '{bundle.name}' "
                      "takes parameters; monitord runs monitor bundles without arguments, "
                      "so its measurements are not taken")
            continue
        out.extend(m.to_dict() for m in bundle_measurements(agent, bundle))
    return {
        "ok": True,
        "measurements": out,
        "files": [f.path for f in policy.files],
        "forgetrate": _forgetrate(agent),
        "monitor_bundles": len(bundles),
    }


def _forgetrate(agent: Any) -> float | None:
    value = agent.ctx.lookup("control_monitor.forgetrate")
    try:
        rate = float(value) if isinstance(value, str) else None
    except ValueError:
        rate = None
    return rate if rate is not None and 0.0 < rate <= 1.0 else None


def bundle_measurements(agent: Any, bundle: Any) -> list[Measurement]:
    """Evaluate one monitor bundle; its measurements, expanded."""
    from engine.eval import expand as ex
    from engine.eval.agent import bundle_display_name
    from engine.eval.context import Frame
    from engine.eval.resolve import FunctionFailed, Unresolved

    log = agent.log
    runner = agent.runner
    frame = Frame(bundle.namespace, bundle_display_name(bundle), bundle.bundle_type, None)
    agent.ctx.push(frame)
    out: list[Measurement] = []
    try:
        grouped = runner.grouped(bundle)
        for _ in range(2):
            for ptype in ("vars", "classes"):
                for p in grouped.get(ptype, ()):
                    runner.evaluate_promise(agent, p, last=True)
        for p in grouped.get("measurements", ()):
            where = f"{p.pos.file}:{p.pos.line}"
            agent.set_this(p)
            if not agent.guard_holds(p):
                continue
            for binding in runner.bindings(agent, p):
                agent.overlay = binding
                try:
                    promiser, ok = ex.expand(p.promiser, agent.lookup)
                    agent.set_this(p, promiser)
                    holds, _, _ = runner.condition(agent, p)
                    if not holds:
                        continue
                    attrs, resolved = runner.resolve_attrs(agent, p)
                    if not ok or not resolved:
                        log.error(f"{where}: measurement '{promiser}' refers to a variable "
                                  "that is not defined; it is not taken")
                        continue
                    out.append(to_measurement(promiser, attrs, where))
                except (Unresolved, FunctionFailed) as e:
                    log.error(f"{where}: measurement '{p.promiser}': {e}; it is not taken")
                except ValueError as e:
                    log.error(f"{where}: measurement '{p.promiser}': {e}; it is not taken")
                finally:
                    agent.overlay = {}
    finally:
        agent.ctx.pop()
    return out


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def to_measurement(promiser: str, attrs: dict[str, Any], where: str) -> Measurement:
    """A measurement from a promise's resolved attributes; ValueError for a value
    that is not of its type (``select_line_number => "two"``)."""
    from engine.promises.commands import split_command

    mv = attrs.get("match_value")
    mv = mv if isinstance(mv, dict) else {}
    action = attrs.get("action")
    action = action if isinstance(action, dict) else {}
    number = _str(mv.get("select_line_number"))
    if number is not None and not number.strip().lstrip("-").isdigit():
        raise ValueError(f"select_line_number '{number}' is not a whole number")
    ifelapsed = _str(action.get("ifelapsed"))
    if ifelapsed is not None and not ifelapsed.strip().isdigit():
        raise ValueError(f"ifelapsed '{ifelapsed}' is not a whole number of minutes")
    stream = _str(attrs.get("stream_type")) or "pipe"
    growing = _str(mv.get("track_growing_file"))
    return Measurement(
        handle=_str(attrs.get("handle")) or "",
        promiser=promiser,
        where=where,
        stream_type=stream,
        data_type=_str(attrs.get("data_type")) or "",
        history_type=_str(attrs.get("history_type")) or "scalar",
        units=_str(attrs.get("units")) or "",
        comment=_str(attrs.get("comment")) or "",
        argv=tuple(split_command(promiser)) if stream == "pipe" else (),
        select_line_matching=_str(mv.get("select_line_matching")),
        select_line_number=int(number) if number is not None else None,
        extraction_regex=_str(mv.get("extraction_regex")),
        track_growing_file=growing is not None and growing.lower() in _TRUE,
        multiline_policy=_str(mv.get("select_multiline_policy")) or "first",
        ifelapsed=float(ifelapsed) if ifelapsed is not None else 0.0,
    )
