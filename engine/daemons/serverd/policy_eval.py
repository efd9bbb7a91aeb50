"""serverd's policy, evaluated as cf-serverd evaluates it.

cf-serverd runs the common bundles (with the inputs they name, augments, functions and
classes), then the ``vars`` and ``classes`` of every ``server`` bundle, before reading
``body server control`` and the ``access:``/``roles:`` promises. So a server policy
may name its paths through ``$(G.testdir)`` built by ``concat(getenv(...))``, or guard
a rule with a class a common bundle defines. :func:`evaluated_scope` does the same with
the agent's evaluator and returns a scope for
:func:`engine.daemons.serverd.config.server_config_from_policy`.

``$(connection.ip)``, ``$(connection.hostname)`` and ``$(connection.key)`` are left as
written: they are bound for each connection (``engine.daemons.serverd.connvars``).

Runs in the child process that reads serverd's policy (``engine.daemons.serverd.policy``): serverd
itself never imports the evaluator.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.daemons.serverd.config import CONNECTION_VAR, _Scope
from engine.policy.ast import FnCall, Policy, RList, Rval, Scalar
from engine.workdir import Workdir


class EvaluatedScope(_Scope):
    """Values and classes from the agent's evaluator, in the scope of a bundle."""

    evaluated = True

    def __init__(self, agent: Any) -> None:
        super().__init__({})
        self.agent = agent
        self.bundles = {b.name: b for f in agent.policy.files for b in f.bundles}

    @contextlib.contextmanager
    def _in(self, bundle: str) -> Iterator[None]:
        from engine.eval.agent import bundle_display_name
        from engine.eval.context import Frame

        b = self.bundles.get(bundle)
        if b is None:
            yield
            return
        self.agent.ctx.push(Frame(b.namespace, bundle_display_name(b), b.bundle_type, None))
        try:
            yield
        finally:
            self.agent.ctx.pop()

    def guard(self, expr: str, bundle: str = "") -> bool:
        if expr in ("", "any"):
            return True
        with self._in(bundle):
            try:
                return bool(self.agent.ctx.class_defined(expr))
            except Exception:  # a guard that does not parse holds nowhere
                return False

    def expand(self, text: str, bundle: str) -> str:
        from engine.eval import expand as ex

        with self._in(bundle):
            out, ok = ex.expand(text, self.agent.lookup)
        # $(connection.*) stays as written: it is bound for each connection
        if not ok and ("$(" in CONNECTION_VAR.sub("", out) or "${" in out):
            self.unresolved.add(text)
        return out

    def list_of(self, rval: Rval | None, bundle: str) -> list[str] | None:
        from engine.eval.resolve import FunctionFailed, Unresolved

        if rval is None:
            return []
        if isinstance(rval, Scalar):
            with self._in(bundle):
                whole = _whole_list(self.agent, rval.value)
            if whole is not None:
                return whole
            return [self.expand(rval.value, bundle)]
        if isinstance(rval, RList):  # item by item, each through this method
            return super().list_of(rval, bundle)
        if isinstance(rval, FnCall):
            with self._in(bundle):
                try:
                    value = self.agent.resolver.value(rval, self.agent.lookup, "")
                except (Unresolved, FunctionFailed):
                    return None
            if isinstance(value, str):
                return [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
        return None

    def scalar(self, rval: Rval | None, bundle: str) -> str | None:
        if isinstance(rval, Scalar):
            return self.expand(rval.value, bundle)
        if isinstance(rval, FnCall):
            values = self.list_of(rval, bundle)
            return values[0] if values and len(values) == 1 else None
        return None


def _whole_list(agent: Any, text: str) -> list[str] | None:
    from engine.eval import expand as ex

    name = ex.whole_list_ref(text)
    if name is None:
        return None
    value = ex.list_value(agent.lookup(ex.expand_str(name, agent.lookup)))
    return [str(v) for v in value] if value is not None else None


def evaluated_scope(policy: Policy, workdir: Workdir, entry: Path | str,
                    defines: set[str], negates: set[str], log: Any) -> EvaluatedScope:
    """The policy evaluated as cf-serverd evaluates it: hard classes, ``-D`` classes,
    common bundles and their inputs, control bodies, then each server bundle's vars
    and classes."""
    from engine.eval import augments
    from engine.eval.agent import Agent, AgentOptions
    from engine.eval.bundles import BundleRunner
    from engine.eval.hardclasses import discover
    from engine.eval.inputs import resolve_common_and_inputs
    from engine.eval.preeval import resolve_control_bodies

    hard, sys_vars = discover(workdir.root, time.time(), component="server")
    path = os.path.abspath(entry)
    sys_vars.update({
        "policy_entry_filename": path,
        "policy_entry_dirname": os.path.dirname(path),
        "policy_entry_basename": os.path.basename(path),
    })
    classes = (set(hard) | defines) - negates
    runner = BundleRunner()
    agent = Agent(policy, AgentOptions(str(entry), workdir, no_lock=True,
                                       defines=sorted(defines), negates=sorted(negates)),
                  log, classes, sys_vars, runner)
    augments.install(agent, str(entry))
    resolve_common_and_inputs(agent)
    resolve_control_bodies(agent)
    for f in agent.policy.files:
        for b in f.bundles:
            if b.bundle_type == "server" and not b.args:
                runner.run_bundle(agent, b, (), passes=2, only=("vars", "classes"))
    return EvaluatedScope(agent)

