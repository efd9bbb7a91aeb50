"""vigil.toml: defaults, overrides, and errors that name file, key and type."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.settings import Settings, SettingsError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = Settings.load(tmp_path)
    assert s == Settings()
    assert s.source is None
    assert (s.agent.run_reports_keep, s.agent.lock_horizon_days) == (100, 28)
    assert (s.execd.agent_expireafter_minutes, s.execd.grace_seconds) == (120, 30)
    assert (s.execd.splaytime_minutes, s.execd.tick_seconds) == (None, 60)
    assert s.monitord.interval_seconds == 150.0
    assert (s.serverd.port, s.serverd.bind, s.serverd.max_frame_bytes) == (
        5310,
        "127.0.0.1",
        1048576,
    )
    assert (s.serverd.idle_timeout_seconds, s.serverd.max_connections) == (600, 1000)
    assert (s.console.refresh_seconds, s.console.theme, s.console.readonly) == (
        2.0,
        "textual-dark",
        False,
    )
    assert (s.watchdog.cron_target, s.watchdog.interval_minutes) == ("auto", 5)
    assert s.watchdog.agent_ceiling_minutes == 60
    assert s.health.lock_db_warn_mb == 64


def test_values_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "vigil.toml").write_text(
        "[execd]\nsplaytime_minutes = 3\n[monitord]\ninterval_seconds = 60\n"
        '[serverd]\nport = 15308\nbind = "0.0.0.0"\n[console]\nreadonly = true\n'
        '[watchdog]\ncron_target = "/etc/cron.d/vigil"\n'
    )
    s = Settings.load(tmp_path)
    assert s.execd.splaytime_minutes == 3 and s.execd.tick_seconds == 60
    assert s.monitord.interval_seconds == 60.0 and isinstance(s.monitord.interval_seconds, float)
    assert (s.serverd.port, s.serverd.bind) == (15308, "0.0.0.0")
    assert s.console.readonly is True
    assert s.watchdog.cron_target == "/etc/cron.d/vigil"
    assert s.source == tmp_path / "vigil.toml"


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("[execd]\ntick_secs = 1\n", "execd.tick_secs", "unknown key"),
        ('[serverd]\nport = "80"\n', "serverd.port", "expected integer, got str '80'"),
        ("[bogus]\nx = 1\n", "bogus", "unknown section"),
        ("[console]\nreadonly = 1\n", "console.readonly", "expected boolean"),
        ("[monitord]\ninterval_seconds = true\n", "monitord.interval_seconds", "expected number"),
        ('[watchdog]\ncron_target = "x"\n', "watchdog.cron_target", "absolute path"),
        ("[execd]\nsplaytime_minutes = 1.5\n", "execd.splaytime_minutes", "expected integer"),
        ("execd = 3\n", "execd", "expected a table"),
    ],
)
def test_errors_name_file_key_and_type(tmp_path: Path, toml: str, key: str, words: str) -> None:
    (tmp_path / "vigil.toml").write_text(toml)
    with pytest.raises(SettingsError) as info:
        Settings.load(tmp_path)
    assert info.value.key == key
    assert info.value.file == tmp_path / "vigil.toml"
    assert str(info.value).startswith(f"{tmp_path / 'vigil.toml'}: {key}: ")
    assert words in str(info.value)


def test_invalid_toml(tmp_path: Path) -> None:
    (tmp_path / "vigil.toml").write_text("[execd\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings.load(tmp_path)
