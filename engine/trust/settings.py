"""serverd and client settings, read from ``engine.settings`` (``[serverd]`` in vigil.toml).

The shared settings name them ``port``, ``bind``, ``max_frame_bytes``,
``idle_timeout_seconds`` and ``max_connections``. The rest are fixed here unless
the shared settings grow a key of the name in ``_SHARED`` (then it is used):
``ssl_buffer_bytes`` (asyncio's per-connection TLS read buffer) and
``handshake_timeout_seconds`` (default: 10 s, never more than the idle timeout).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from engine.trust.protocol import DEFAULT_PORT


@dataclass(frozen=True, slots=True)
class ServerdSettings:
    port: int = DEFAULT_PORT
    bind: str = "127.0.0.1"
    max_frame: int = 1024 * 1024  # bytes in one frame, both directions
    idle_timeout: float = 600.0  # seconds without a whole frame before closing
    max_connections: int = 1000  # ceiling when the policy sets no maxconnections
    handshake_timeout: float = 10.0  # TLS handshake + hello
    ssl_max_size: int = 32 * 1024  # asyncio SSLProtocol.max_size; 0 keeps asyncio's
    chunk_size: int = 256 * 1024  # file bytes per data frame (capped by max_frame)
    max_pending: int = 1000  # pending keys kept before new ones are refused
    max_pending_per_address: int = 10  # pending keys filed from one source address
    run_timeout: float = 3600.0  # a remote agent run is killed after this
    connect_timeout: float = 10.0  # client side


# our field -> the shared settings' key
_SHARED = {
    "port": "port",
    "bind": "bind",
    "max_frame": "max_frame_bytes",
    "idle_timeout": "idle_timeout_seconds",
    "max_connections": "max_connections",
    "handshake_timeout": "handshake_timeout_seconds",
    "ssl_max_size": "ssl_buffer_bytes",
}


def load_serverd_settings(workdir: Path | str) -> ServerdSettings:
    """Raises ``engine.settings.SettingsError`` for a bad vigil.toml."""
    from engine.settings import Settings

    section = Settings.load(Path(workdir)).serverd
    values = {
        ours: getattr(section, theirs)
        for ours, theirs in _SHARED.items()
        if getattr(section, theirs, None) is not None
    }
    s = ServerdSettings(**values)
    if s.handshake_timeout > s.idle_timeout:
        s = replace(s, handshake_timeout=s.idle_timeout)
    return s
