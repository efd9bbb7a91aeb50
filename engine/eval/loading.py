"""Loading policy the way the agent sees it: this host's hard classes and the
evaluator's class expressions decide which guarded ``inputs`` count.

The front end (:mod:`engine.policy.loader`) is told these rather than looking them up,
so it never imports the evaluator.
"""

from __future__ import annotations

from pathlib import Path

from engine.eval.classexpr import evaluate
from engine.policy.loader import LoadResult, load_policy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def load(entry: Path | str, workdir: Path | str, **options: Any) -> LoadResult:
    """:func:`engine.policy.loader.load_policy` with hard classes discovered on this host
    (only if a guard needs them) unless ``classes`` is given."""

    def hard_classes() -> set[str]:
        from engine.eval.hardclasses import discover

        return set(discover(Path(workdir))[0])

    options.setdefault("classes", hard_classes)
    return load_policy(entry, workdir, evaluate=evaluate, **options)
