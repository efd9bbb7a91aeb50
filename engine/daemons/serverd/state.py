"""What every serverd connection shares: the configuration, the trust store, the TLS
contexts, the log and the counters (one :class:`ServerState` per daemon)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from engine import __version__
from engine.daemons.serverd.config import ServerConfig
from engine.daemons.serverd.ratelimit import RefusalLog
from engine.log import LineLogger
from engine.trust.settings import ServerdSettings
from engine.trust.store import TrustStore
from engine.workdir import Workdir


@dataclass
class ServerState:
    workdir: Workdir
    settings: ServerdSettings
    config: ServerConfig
    store: TrustStore
    log: LineLogger
    host_key_raw: bytes
    host_name: str
    ssl_context: Any
    run_resource: str = ""
    server_name: str = f"vigil-serverd {__version__}"
    run_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: int = 0
    per_ip: dict[str, int] = field(default_factory=dict)
    served: int = 0
    refusals: RefusalLog = field(default_factory=lambda: RefusalLog(print))
    # CFEngine's protocol (engine.daemons.serverd.cf_session): the RSA context every handshake
    # starts on, vigil's clients switched to ``ssl_context`` by SNI; None without an RSA key
    cf_context: Any = None

    @property
    def tls_context(self) -> Any:
        return self.cf_context if self.cf_context is not None else self.ssl_context
