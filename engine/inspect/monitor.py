"""Observables: what the monitor daemon measured, with averages, deviations and the
classes they define (vigil: ``state/monitor.lmdb``; CFEngine: cf-monitord's
``state/env_data``, ``ts_key`` and ``cf_observations.lmdb``)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.cfengine.monitor import readings
from engine.daemons.monitord.observables import monitor_snapshot as vigil_snapshot
from engine.workdir import Workdir


@dataclass(frozen=True, slots=True)
class Observable:
    name: str
    value: float | None
    average: float | None
    deviation: float | None
    classes: tuple[str, ...]
    description: str = ""
    unit: str = ""
    history: tuple[float, ...] = ()  # CFEngine: expected value per five-minute slot of the week
    samples: int | None = None
    text: str = ""  # a string or list measurement's value (``value`` is then None)


def monitor_snapshot(wd: Workdir) -> list[Observable]:
    if wd.cfengine:
        return [
            Observable(r.name, r.value, r.average, r.deviation, r.classes, r.description, r.unit,
                       r.history)
            for r in readings(wd.state)
        ]
    return [
        Observable(o.name, o.value, o.average, o.deviation, tuple(o.classes), o.description,
                   o.unit, samples=o.samples, text=o.text)
        for o in vigil_snapshot(wd)
    ]
