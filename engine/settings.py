"""vigil's own settings: ``WORKDIR/vigil.toml``, every key optional.

Policy decides *what* a host converges to; these settings tune the machinery around
it. A missing file means all defaults. An unknown section or key, or a value of the
wrong type, raises :class:`SettingsError` naming the file, the key and the type
expected, so a typo never silently falls back to a default.

========================================  ==========  ====================================
key                                       default     meaning
========================================  ==========  ====================================
``[agent] run_reports_keep``              100         run reports kept in outputs/runs
``[agent] lock_horizon_days``             28          locks older than this are purged
``[execd] agent_expireafter_minutes``     120         a scheduled agent run is killed after
``[execd] grace_seconds``                 30          SIGTERM to SIGKILL grace for it
``[execd] splaytime_minutes``             (policy)    splay; unset: ``body executor control``
``[execd] tick_seconds``                  60          how often the schedule is evaluated
``[monitord] interval_seconds``           150.0       sampling period
``[serverd] port``                        5310        TCP port (CFEngine keeps 5308)
``[serverd] bind``                        127.0.0.1   listen address
``[serverd] max_frame_bytes``             1048576     largest protocol frame accepted
``[serverd] idle_timeout_seconds``        600         idle connections are closed after
``[serverd] max_connections``             1000        concurrent connections
``[serverd] ssl_buffer_bytes``            32768       TLS read buffer per connection
``[serverd] handshake_timeout_seconds``   10.0        TLS handshake and hello deadline
``[console] refresh_seconds``             2.0         console refresh period
``[console] theme``                       textual-dark  Textual theme name
``[console] readonly``                    false       hide actions that change state
``[watchdog] cron_target``                auto        auto, crontab, cron.d or an absolute path
``[watchdog] interval_minutes``           5           how often cron runs the watchdog
``[watchdog] agent_ceiling_minutes``      60          an agent running longer is stuck
``[health] lock_db_warn_mb``              64          warn when cf_lock.lmdb grows past this
========================================  ==========  ====================================

Integers are accepted where a real is expected; booleans are never numbers.
"""

from __future__ import annotations

import tomllib
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints


class SettingsError(ValueError):
    """A bad ``vigil.toml``: ``file``, ``key`` (``section.key``) and what was expected."""

    def __init__(self, file: Path, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")
        self.file = file
        self.key = key


@dataclass(frozen=True, slots=True)
class AgentSettings:
    run_reports_keep: int = 100
    lock_horizon_days: int = 28


@dataclass(frozen=True, slots=True)
class ExecdSettings:
    agent_expireafter_minutes: int = 120
    grace_seconds: int = 30
    splaytime_minutes: int | None = None
    tick_seconds: int = 60


@dataclass(frozen=True, slots=True)
class MonitordSettings:
    interval_seconds: float = 150.0


@dataclass(frozen=True, slots=True)
class ServerdSettings:
    port: int = 5310
    bind: str = "127.0.0.1"
    max_frame_bytes: int = 1048576
    idle_timeout_seconds: int = 600
    max_connections: int = 1000
    ssl_buffer_bytes: int = 32768
    handshake_timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    refresh_seconds: float = 2.0
    theme: str = "textual-dark"
    readonly: bool = False


@dataclass(frozen=True, slots=True)
class WatchdogSettings:
    cron_target: str = "auto"
    interval_minutes: int = 5
    agent_ceiling_minutes: int = 60


@dataclass(frozen=True, slots=True)
class HealthSettings:
    lock_db_warn_mb: int = 64


@dataclass(frozen=True, slots=True)
class Settings:
    """All sections; ``Settings()`` is the defaults."""

    agent: AgentSettings = field(default_factory=AgentSettings)
    execd: ExecdSettings = field(default_factory=ExecdSettings)
    monitord: MonitordSettings = field(default_factory=MonitordSettings)
    serverd: ServerdSettings = field(default_factory=ServerdSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    source: Path | None = None  # the file read, None when defaults only

    @classmethod
    def load(cls, workdir: Path | str) -> Settings:
        """Read ``workdir/vigil.toml``; defaults for anything not set."""
        path = Path(workdir) / "vigil.toml"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls()
        except OSError as e:
            raise SettingsError(path, "", f"cannot read: {e.strerror}") from e
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise SettingsError(path, "", f"not valid TOML: {e}") from e
        return cls.from_dict(doc, path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], path: Path) -> Settings:
        """Build settings from a parsed document, checking every section and key."""
        sections = {f.name: f for f in fields(cls) if f.name != "source"}
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for name, table in doc.items():
            if name not in sections:
                known = ", ".join(sorted(sections))
                raise SettingsError(path, name, f"unknown section (known: {known})")
            if not isinstance(table, dict):
                raise SettingsError(path, name, "expected a table ([section])")
            values[name] = _section(hints[name], table, path, name)
        return cls(**values, source=path)


def _section(cls: type, table: dict[str, Any], path: Path, section: str) -> Any:
    hints = get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in hints:
            known = ", ".join(sorted(hints))
            raise SettingsError(path, f"{section}.{key}", f"unknown key (known: {known})")
        out[key] = _coerce(hints[key], value, path, f"{section}.{key}")
    return cls(**out)


def _type_name(t: Any) -> str:
    args = [a for a in get_args(t) if a is not type(None)]
    if args:
        return " or ".join(_type_name(a) for a in args)
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(t, str(t))


def _coerce(t: Any, value: Any, path: Path, key: str) -> Any:
    origin = get_origin(t)
    if origin is Union or origin is types.UnionType:
        inner = [a for a in get_args(t) if a is not type(None)]
        t = inner[0]
    ok = (
        (t is bool and isinstance(value, bool))
        or (t is int and isinstance(value, int) and not isinstance(value, bool))
        or (t is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (t is str and isinstance(value, str))
    )
    if not ok:
        raise SettingsError(
            path, key, f"expected {_type_name(t)}, got {type(value).__name__} {value!r}"
        )
    if (
        key == "watchdog.cron_target"
        and value not in ("auto", "crontab", "cron.d")
        and not value.startswith("/")
    ):
        raise SettingsError(
            path, key, f"expected auto, crontab, cron.d or an absolute path, got {value!r}"
        )
    return float(value) if t is float else value
