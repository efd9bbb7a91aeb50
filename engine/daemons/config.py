"""The daemons' settings from ``vigil.toml``, flattened with their defaults.

``engine.settings`` owns the schema and its validation; this module reads the
few values the daemons use through it, so a daemon imports nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from engine.settings import Settings


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    agent_expireafter_minutes: float = 120.0
    grace_seconds: float = 30.0
    splaytime_minutes: float = 0.0
    tick_seconds: float = 60.0
    monitord_interval_seconds: float = 150.0
    cron_target: str = "auto"
    watchdog_interval_minutes: int = 5
    agent_ceiling_minutes: float = 60.0
    lock_db_warn_mb: float = 64.0


# (section, key) in vigil.toml for each field.
_KEYS: dict[str, tuple[str, str]] = {
    "agent_expireafter_minutes": ("execd", "agent_expireafter_minutes"),
    "grace_seconds": ("execd", "grace_seconds"),
    "splaytime_minutes": ("execd", "splaytime_minutes"),
    "tick_seconds": ("execd", "tick_seconds"),
    "monitord_interval_seconds": ("monitord", "interval_seconds"),
    "cron_target": ("watchdog", "cron_target"),
    "watchdog_interval_minutes": ("watchdog", "interval_minutes"),
    "agent_ceiling_minutes": ("watchdog", "agent_ceiling_minutes"),
    "lock_db_warn_mb": ("health", "lock_db_warn_mb"),
}


def load(root: Path) -> DaemonSettings:
    """Settings for the workdir at ``root``; errors in vigil.toml propagate."""
    values: dict[str, Any] = {}
    sections = _sections(root)
    for f in fields(DaemonSettings):
        section, key = _KEYS[f.name]
        sec = sections.get(section)
        if sec is None:
            continue
        v = sec.get(key) if isinstance(sec, dict) else getattr(sec, key, None)
        if v is not None:
            values[f.name] = type(getattr(DaemonSettings(), f.name))(v)
    return DaemonSettings(**values)


def _sections(root: Path) -> dict[str, Any]:
    s = Settings.load(root)
    return {name: getattr(s, name, None) for name in ("execd", "monitord", "watchdog", "health")}
