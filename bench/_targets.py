"""The performance targets of the project, checked against a run's results.

Each target is a row: what was measured for vigil and for CFEngine, their ratio,
the limit, and whether it was met. Ratio targets compare with the CFEngine figure
(``vigil / cf <= limit``); absolute ones compare vigil's figure alone. A row whose
figures are missing (section skipped or failed) is left out, never counted as met.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bench._harness import table


@dataclass(frozen=True, slots=True)
class Target:
    row: str
    vigil: float
    cfengine: float | None
    unit: str
    limit: float
    relative: bool  # True: vigil / cfengine <= limit; False: vigil < limit

    @property
    def ratio(self) -> float | None:
        return self.vigil / self.cfengine if self.cfengine else None

    @property
    def met(self) -> bool | None:
        if self.relative:
            return None if self.ratio is None else self.ratio <= self.limit
        return self.vigil < self.limit

    @property
    def target(self) -> str:
        return f"<= {self.limit:g}x" if self.relative else f"< {self.limit:g} {self.unit}"

    def as_dict(self) -> dict[str, object]:
        r = self.ratio
        return {"row": self.row, "vigil": self.vigil, "cfengine": self.cfengine, "unit": self.unit,
                "ratio": None if r is None else round(r, 3), "target": self.target, "met": self.met}


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def _parse(res: Any) -> Iterator[Target]:
    if not isinstance(res, Mapping):
        return
    for name, entry in res.items():
        v = _num(_get(entry, "vigil_validate", "median_s"))
        c = _num(_get(entry, "cf_promises", "median_s"))
        if v is not None:
            yield Target(f"parse {name}", v, c, "s", 3.0, True)


AGENT_LIMITS = {"first": 0.5, "second": 0.25, "second_K": 0.5}


def _agent(res: Any) -> Iterator[Target]:
    for n in ("1000", "10000"):
        for phase, limit in AGENT_LIMITS.items():
            v = _num(_get(res, f"files_{n}", phase, "vigil", "median_s"))
            c = _num(_get(res, f"files_{n}", phase, "cfengine", "median_s"))
            if v is not None:
                yield Target(f"agent files_{n} {phase}", v, c, "s", limit, True)


def _daemons(res: Any) -> Iterator[Target]:
    for d in ("execd", "monitord", "serverd"):
        v = _num(_get(res, "memory", d, "rss_median_mb"))
        c = _num(_get(res, "memory", f"cf-{d}", "rss_median_mb"))
        if v is not None:
            yield Target(f"{d} steady RSS", v, c, "MB", 2.0, True)


REAL_POLICY_LIMITS = {"dry": 0.5, "full": 0.5}


def _realpolicy(res: Any) -> Iterator[Target]:
    for mode, limit in REAL_POLICY_LIMITS.items():
        v = _num(_get(res, mode, "vigil", "median_s"))
        c = _num(_get(res, mode, "cfengine", "median_s"))
        if v is not None:
            yield Target(f"masterfiles {mode} run", v, c, "s", limit, True)
        v = _num(_get(res, mode, "vigil", "peak_rss_mb"))
        c = _num(_get(res, mode, "cfengine", "peak_rss_mb"))
        if v is not None:
            yield Target(f"masterfiles {mode} run peak RSS", v, c, "MB", 1.5, True)


CONSOLE_ROWS = {"tick_ms": "console countdown tick", "apply_ms": "console refresh (apply snapshot)"}


def _console(res: Any) -> Iterator[Target]:
    for key, label in CONSOLE_ROWS.items():
        v = _num(_get(res, key))
        if v is not None:
            yield Target(label, v, None, "ms", 50.0, False)


def targets(results: Mapping[str, Any]) -> list[Target]:
    """Every target whose vigil figure is present in ``results`` (as written by __main__)."""
    return [*_parse(results.get("parse")), *_agent(results.get("agent")),
            *_daemons(results.get("daemons")), *_realpolicy(results.get("realpolicy")),
            *_console(results.get("console"))]


def summary_rows(rows: list[Target]) -> str:
    """The summary table printed after the sections."""
    def fmt(x: float | None, unit: str) -> str:
        if x is None:
            return "—"
        return f"{x:.3f} s" if unit == "s" else f"{x:.1f} {unit}"

    body = [[t.row, fmt(t.vigil, t.unit), fmt(t.cfengine, t.unit),
             "—" if t.ratio is None else f"{t.ratio:.2f}", t.target,
             {True: "yes", False: "NO", None: "—"}[t.met]] for t in rows]
    met = sum(1 for t in rows if t.met)
    return table(f"targets: {met} of {len(rows)} met", ["row", "vigil", "cfengine", "ratio", "target", "met"],
                 body)
