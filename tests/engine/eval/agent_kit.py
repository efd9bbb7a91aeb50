"""An :class:`engine.eval.agent.Agent` on a small policy, for unit tests of the
evaluator core: the policy is parsed and loaded by vigil's own front end, the agent gets
no hard classes but ``any`` (and what a test adds) and logs into a list."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.eval.agent import Agent, AgentOptions
from engine.eval.base import Tally
from engine.eval.bundles import BundleRunner
from engine.log import Level, LineLogger
from engine.policy.ast import Bundle
from engine.policy.loader import load_policy
from engine.workdir import Workdir


class Kit:
    """One agent on one policy; ``lines`` holds everything it logged."""

    def __init__(self, tmp_path: Path, text: str, *, hard: Iterable[str] = (),
                 defines: Iterable[str] = (), level: Level = Level.NOTICE) -> None:
        entry = tmp_path / "policy.cf"
        entry.write_text(text)
        workdir = Workdir(tmp_path / "wd").ensure()
        result = load_policy(entry, workdir.root)
        self.lines: list[str] = []
        opts = AgentOptions(str(entry), workdir, no_lock=True, defines=list(defines))
        log = LineLogger(level, sink=self.lines.append)
        self.runner = BundleRunner()
        self.agent = Agent(result.policy, opts, log, {"any", *hard}, {}, self.runner)

    def bundle(self, name: str) -> Bundle:
        found = self.agent.policy.find_bundle(name)
        assert found is not None, name
        return found

    def run(self, name: str = "main", *args: object, **kw: object) -> Tally:
        """Run bundle ``name`` as the bundlesequence would."""
        return self.runner.run_bundle(self.agent, self.bundle(name), args, **kw)  # type: ignore[arg-type]

    @property
    def reports(self) -> list[str]:
        return [ln[3:] for ln in self.lines if ln.startswith("R: ")]

    def var(self, ref: str) -> object:
        return self.agent.ctx.lookup(ref)

    def has_class(self, expr: str) -> bool:
        return self.agent.ctx.class_defined(expr)
