"""Common bundles before the bundlesequence, and inputs that only evaluation can name.

Common bundles are evaluated (vars and classes) in the order of the policy files,
twice, as cf-agent does: once while the policy is loaded (inputs are named from
that round), and again before the bundlesequence, when a class a later bundle
defined can change a variable of an earlier one.

The loader resolves ``inputs`` from what it can know statically (literal variables of
common bundles, ``sys.*``). Policy often names its inputs through variables that
functions or classes decide (``getvalues(role)`` under a class set by ``strcmp()``);
cf-agent evaluates the common bundles and reads the inputs again. So does the agent
here: once the common bundles have run, every ``inputs`` of ``body common control``
and ``body file control`` is resolved in the real context, files not loaded yet are
parsed and added, their common bundles run, and this repeats until nothing new
appears.
"""

from __future__ import annotations

import os

from engine.eval.resolve import FunctionFailed, Unresolved
from engine.policy.ast import RList

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.agent import Agent
    from engine.policy.ast import PolicyFile

MAX_ROUNDS = 20


def evaluate_common_bundles(agent: Agent, files: list[PolicyFile]) -> None:
    """The vars and classes of the common bundles (without parameters) of ``files``."""
    for f in files:
        for bundle in f.bundles:
            if bundle.bundle_type == "common" and not bundle.args:
                agent.runner.run_bundle(agent, bundle, (), passes=2, only=("vars", "classes"))


def resolve_common_and_inputs(agent: Agent) -> None:
    """Both rounds of common bundles, with the inputs the first one names loaded."""
    agent.resolving = True
    try:
        evaluate_common_bundles(agent, list(agent.policy.files))
        load_dynamic_inputs(agent)
    finally:
        agent.resolving = False
    evaluate_common_bundles(agent, list(agent.policy.files))


def _resolved_inputs(agent: Agent, f: PolicyFile, unresolved: list[str]) -> list[str]:
    def lookup(name: str) -> Any:
        if name == "this.promise_dirname":
            return os.path.dirname(f.path)
        if name == "this.promise_filename":
            return f.path
        return agent.lookup(name)

    out: list[str] = []
    for body in f.bodies:
        if body.name != "control" or body.body_type not in ("common", "file"):
            continue
        for c in body.constraints:
            if c.lval != "inputs":
                continue
            if c.guard != "any" and not agent.ctx.class_defined(c.guard):
                continue
            items = c.rval if isinstance(c.rval, RList) else RList((c.rval,), c.rval.pos)
            # an undefined @(list) adds no item: the resolver only notes it
            agent.runner.clear_unresolved()
            try:
                values = agent.resolver.list_items(items, lookup)
            except (Unresolved, FunctionFailed):
                unresolved.append(str(c.lval))
                continue
            if agent.runner.unresolved:
                unresolved.append(str(c.lval))
            for v in values:
                if "$(" in v or "${" in v or "@(" in v:
                    unresolved.append(v)
                else:
                    out.append(v)
    return out


def load_dynamic_inputs(agent: Agent) -> None:
    """Load the inputs the evaluated common bundles name, until there are no more."""
    from engine.eval.preeval import pre_evaluate_vars
    from engine.policy.astcache import ParseCache
    from engine.policy.loader import load_more_inputs

    agent_vars_known = False
    cache = ParseCache.open(agent.opts.workdir.root / "state" / "policy_cache")
    for _ in range(MAX_ROUNDS):
        paths: list[str] = []
        unresolved: list[str] = []
        for f in list(agent.policy.files):
            paths.extend(_resolved_inputs(agent, f, unresolved))
        added, diags = load_more_inputs(agent.policy, agent.opts.policy_file, paths, cache)
        for d in diags:
            agent.log.error(d.format().splitlines()[0])
        if not added and unresolved and not agent_vars_known:
            # inputs may name variables of agent bundles: cf-agent's policy resolution
            # knows those too (their vars evaluated once, without arguments)
            agent_vars_known = True
            pre_evaluate_vars(agent, [b for f in agent.policy.files for b in f.bundles])
            continue
        if not added:
            return
        for pf in added:
            agent.log.verbose(f"Loaded input file '{pf.path}' named by evaluated policy")
        evaluate_common_bundles(agent, added)
