"""The record of one persistent class (see :mod:`engine.state.persistent`).

A dataclass, as callers turn it into JSON with ``dataclasses.asdict``; it lives in
its own module so that an agent run whose state holds no persistent class never
imports ``dataclasses`` for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Literal

    Policy = Literal["reset", "preserve"]  # engine.state.persistent uses it from here


@dataclass(frozen=True, slots=True)
class PersistentClass:
    name: str
    expires: int
    policy: Policy = "reset"
    tags: tuple[str, ...] = field(default_factory=tuple)

    def remaining(self, now: float) -> float:
        return self.expires - now
