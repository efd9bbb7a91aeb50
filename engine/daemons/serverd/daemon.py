"""serverd: vigil's file server and remote-run endpoint (cf-serverd's job).

An asyncio TCP server. Each connection is accepted as plain TCP, checked against
``allowconnects``/``denyconnects``/``maxconnections``/``allowallconnects``, then
upgraded to TLS with ``start_tls`` (so refusals can be logged: a ``start_server(ssl=)``
server drops them silently) and handed to :class:`~engine.daemons.serverd.session.Session`.
A refused client gets a TLS access_denied alert (its TLS library names it) and
one log line, within the limits of :mod:`engine.daemons.serverd.ratelimit`.

Runs in the foreground (a supervisor, or ``vigil serverd`` without ``-F``, detaches
it) with the lifecycle every daemon has (:mod:`engine.daemons.lifecycle`): its
pidfile ``<WD>/serverd.pid`` is written once it listens and removed on exit, SIGTERM
and SIGINT stop it, and SIGHUP, or a change to a policy file, re-reads the policy; a
policy that no longer parses keeps the previous configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
from pathlib import Path
from typing import Any

from engine import __version__
from engine.daemons.lifecycle import Lifecycle
from engine.daemons.serverd.acl import address_matches, normalize_address
from engine.daemons.serverd.config import ServerConfig, default_classes, split_command
from engine.daemons.serverd.policy import PolicyError, read_server_policy
from engine.daemons.serverd.ratelimit import RefusalLog
from engine.daemons.serverd.state import ServerState
from engine.log import LineLogger
from engine.trust.identity import host_name
from engine.trust.keys import HostKey, KeyFileError
from engine.trust.settings import ServerdSettings, load_serverd_settings
from engine.trust.store import TrustStore
from engine.trust.tls import server_context, set_ssl_buffer_limit
from engine.workdir import Workdir

POLICY_POLL_SECONDS = 5.0


def sys_vars_for(workdir: Workdir) -> dict[str, object]:
    """The ``sys.*`` variables a server policy may use."""
    import socket

    fq = socket.getfqdn()
    uq = host_name().split(".")[0]
    return {
        **workdir.sys_paths(),
        "host": host_name(),
        "uqhost": uq,
        "fqhost": fq,
        "cf_agent": sys.executable,
    }


def run_resource_for(config: ServerConfig, sys_vars: dict[str, object]) -> str:
    if config.cfruncommand:
        try:
            argv = split_command(config.cfruncommand)
        except ValueError:
            argv = config.cfruncommand.split()  # a run would be refused; name its program
        if argv:
            return argv[0]
    return str(sys_vars.get("cf_agent") or sys.executable)


class Server:
    """The daemon: listening socket, pidfile, reloads, shutdown."""

    def __init__(
        self,
        workdir: Workdir,
        log: LineLogger,
        policy_file: Path | None = None,
        port: int | None = None,
        bind: str | None = None,
        defines: list[str] | None = None,
        negates: list[str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.defines = list(defines or ())
        self.negates = list(negates or ())
        self.log = log
        self.policy_file = policy_file or workdir.promises_cf
        self.port_override = port
        self.bind_override = bind
        self.settings = ServerdSettings()
        self.sys_vars = sys_vars_for(workdir)
        self.policy_mtimes: dict[Path, float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.fingerprint = ""

    # -- configuration ---------------------------------------------------------------

    def read_config(self) -> ServerConfig:
        """Read the policy (in a child process, see ``policy``); PolicyError."""
        classes = (default_classes(self.sys_vars) | set(self.defines)) - set(self.negates)
        result = read_server_policy(
            self.workdir, self.policy_file, self.sys_vars, classes, on_fallback=self.log.info,
            defines=self.defines, negates=self.negates,
        )
        self.policy_mtimes = {p: _mtime(p) for p in [self.policy_file, *result.files]}
        for w in result.warnings:
            self.log.warning(w)
        if not result.files:
            self.log.notice(f"No policy at '{self.policy_file}': every request will be refused")
        return result.config

    def summary(self, config: ServerConfig) -> None:
        v = self.log.verbose
        v("=== BEGIN summary of access promises ===")
        v(f"Host IPs allowed connection access (allowconnects): {', '.join(config.allowconnects)}")
        v(f"Host IPs denied connection access (denyconnects): {', '.join(config.denyconnects)}")
        v(f"Host IPs allowed multiple connections (allowallconnects): {', '.join(config.allowallconnects)}")
        v(f"Host IPs from whom we shall accept public keys on trust (trustkeysfrom): {', '.join(config.trustkeysfrom)}")
        v(f"Users from whom we accept remote run requests (allowusers): {', '.join(config.allowusers)}")
        for rule in config.access:
            v(f"\tPath: {rule.path}")
            for name in ("admit_ips", "admit_keys", "admit_hostnames", "deny_ips", "deny_keys", "deny_hostnames"):
                for item in getattr(rule, name):
                    v(f"\t\t{name}: {item}")
        v("=== END summary of access promises ===")

    def check_reload(self, state: ServerState, force: bool = False) -> None:
        if not force and all(_mtime(p) == m for p, m in self.policy_mtimes.items()):
            return
        self.log.notice(f"Rereading policy file '{self.policy_file}'")
        try:
            config = self.read_config()
        except PolicyError as e:
            self.log.error(f"{e}; keeping the previous configuration")
            return
        if config.port is not None and config.port != state.config.port:
            self.log.notice("The port changed in policy; restart serverd to listen on it")
        tls = (config.allowciphers, config.allowtlsversion)
        if tls != (state.config.allowciphers, state.config.allowtlsversion) and \
                state.cf_context is not None:
            ctx = self.cfengine_context(state.ssl_context, config)  # says why if it cannot
            if ctx is not None:  # new connections only; a bad list keeps the previous one
                state.cf_context = ctx
        state.config = config
        state.run_resource = run_resource_for(config, self.sys_vars)
        self.summary(config)

    # -- connections ---------------------------------------------------------------------

    async def on_connect(self, state: ServerState, transport: asyncio.Transport) -> None:
        from engine.daemons.serverd.session import Session

        peer = transport.get_extra_info("peername") or ("?", 0)
        address = normalize_address(str(peer[0]))
        cfg = state.config
        refusal = reason = ""
        if address_matches(cfg.denyconnects, address):
            refusal = f"Remote host '{address}' is in denyconnects, denying connection"
            reason = "in denyconnects"
        elif not address_matches(cfg.allowconnects, address):
            refusal = f"Remote host '{address}' not in allowconnects, denying connection"
            reason = "not in allowconnects"
        elif state.active >= (cfg.maxconnections or state.settings.max_connections):
            refusal = f"Too many connections ({state.active}), denying '{address}'"
            reason = "too many connections"
        elif state.per_ip.get(address, 0) >= 1 and not address_matches(cfg.allowallconnects, address):
            refusal = f"Remote host '{address}' already connected and not in allowallconnects, denying connection"
            reason = "already connected, not in allowallconnects"
        if refusal:
            if state.refusals.refused(address, refusal, reason):
                refuse_politely(transport)
            else:  # a flood: no more work than closing the socket
                transport.abort()
            return
        state.active += 1
        state.served += 1
        state.per_ip[address] = state.per_ip.get(address, 0) + 1
        self.log.verbose(f"New connection from {address}")
        try:
            await Session(state, transport, address).run()
        finally:
            state.active -= 1
            left = state.per_ip.get(address, 1) - 1
            if left:
                state.per_ip[address] = left
            else:
                state.per_ip.pop(address, None)

    # -- the daemon ------------------------------------------------------------------------

    def prepare(self) -> ServerState | None:
        """Settings, policy, host key and TLS context; None (logged) on failure."""
        try:
            self.settings = load_serverd_settings(self.workdir.root)
            config = self.read_config()
            key = self.vigil_key()
            ssl_context = None
            if key is not None:
                # made with the key; remade here (in a child process, so that this one never
                # loads cryptography) only when missing or not carrying the current key
                cert = key.ensure_cert(host_name(), isolated=True)
                ssl_context = server_context(cert, key.paths.priv)
        except (ValueError, PolicyError, KeyFileError) as e:  # SettingsError is a ValueError
            self.log.error(str(e))
            return None
        except OSError as e:  # ssl.SSLError: e.g. the private key does not match the certificate
            self.log.error(f"Cannot use the host key and certificate in '{self.workdir.ppkeys}': {e}")
            return None
        set_ssl_buffer_limit(self.settings.ssl_max_size)
        cf_context = self.cfengine_context(ssl_context, config)
        if key is None and cf_context is None:
            return None  # said why: no key that any client could be served with
        self.fingerprint = key.fingerprint if key is not None else self.rsa_digest()
        self.summary(config)
        return ServerState(
            workdir=self.workdir,
            settings=self.settings,
            config=config,
            store=TrustStore(self.workdir.ppkeys),
            log=self.log,
            host_key_raw=key.raw_public if key is not None else b"",
            host_name=host_name(),
            ssl_context=ssl_context,
            run_resource=run_resource_for(config, self.sys_vars),
            refusals=RefusalLog(self.log.error),
            cf_context=cf_context,
        )

    def vigil_key(self) -> HostKey | None:
        """The Ed25519 host key; None in a CFEngine workdir that holds only cf-key's RSA
        key (serverd then serves CFEngine's clients alone, as cf-serverd would);
        KeyFileError when there is neither."""
        from engine.cfnet import rsakey

        try:
            return HostKey.load(self.workdir.ppkeys)
        except KeyFileError:
            if not rsakey.has_key(self.workdir.ppkeys):
                raise
        self.log.notice(f"No Ed25519 key in '{self.workdir.ppkeys}': only CFEngine's clients "
                        "can connect ('vigil key' makes one for vigil's)")
        return None

    def rsa_digest(self) -> str:
        from engine.cfnet.rsakey import RSAKeyError, host_digest

        try:
            return host_digest(self.workdir.ppkeys)
        except (RSAKeyError, OSError):
            return "an RSA key"

    def cfengine_context(self, vigil_context: Any, config: ServerConfig) -> Any:
        """The TLS context for CFEngine's clients, routing vigil's to ``vigil_context``
        (when there is one); None (CFEngine clients cannot be served, said once) without
        a usable RSA key."""
        from engine.cfnet import rsakey

        ppkeys = self.workdir.ppkeys
        if not rsakey.has_key(ppkeys):
            self.log.notice(f"No RSA key in '{ppkeys}' (localhost.priv/.pub): CFEngine clients "
                            "cannot connect; 'vigil key' makes one")
            return None
        # only now: the accept-any-certificate callback loads ctypes
        from engine.cfnet.tls import TLSSetupError, apply_tls_policy, route_by_server_name
        from engine.cfnet.tls import server_context as cf_server_context
        from engine.trust.tls import SERVER_NAME

        try:
            rsakey.ensure_cert(ppkeys, isolated=True)  # cryptography only in the child
            ctx = cf_server_context(ppkeys)
            for note in apply_tls_policy(ctx, config.allowciphers, config.allowtlsversion):
                self.log.verbose(note)
            if vigil_context is not None and ctx.maximum_version == ssl.TLSVersion.TLSv1_2:
                self.log.warning("allowciphers names no TLS 1.3 suite: vigil's own clients "
                                 "(TLS 1.3) cannot connect")
        except (rsakey.RSAKeyError, TLSSetupError, OSError) as e:
            self.log.error(f"CFEngine clients cannot connect: {e}")
            return None
        ctx.num_tickets = 0  # as vigil's context: no resumption, no session cache
        if vigil_context is not None:
            route_by_server_name(ctx, vigil_context, SERVER_NAME)
        return ctx

    async def serve(self) -> int:
        state = self.prepare()
        if state is None:
            return 1
        port = self.port_override if self.port_override is not None else state.config.port
        if port is None:
            port = self.settings.port
        # one serverd per workdir, and (as cf-serverd allows, and CFEngine's tests do)
        # more of them on other named ports than the usual one, each with a pidfile of its
        # port; a second one on the usual or an ephemeral port is refused as a mistake
        life = Lifecycle(self.workdir.root, "serverd", self.log)
        own_port = None if port in (0, self.settings.port) else f"serverd-{port}"
        if not life.claim(publish=False, fallback=own_port):
            return 1
        try:
            return await self._listen(state, life, port)
        finally:
            life.close()

    async def _listen(self, state: ServerState, life: Lifecycle, port: int) -> int:
        if self.bind_override:
            bind = self.bind_override
        elif self.bind_override == "":  # cf-serverd's default: all interfaces
            bind = state.config.bindtointerface
        else:
            bind = state.config.bindtointerface or self.settings.bind
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: _Accept(self, state), host=bind or None, port=port,
                reuse_address=True, backlog=1024,
            )
        except OSError as e:
            self.log.error(f"Cannot listen on {bind or '*'}:{port}: {e.strerror or e}")
            return 1
        life.publish()
        addrs = ", ".join(_fmt_sockname(s.getsockname()) for s in server.sockets)
        self.log.notice(f"vigil serverd {__version__} listening on {addrs} as {self.fingerprint}")
        stop, reload_now = asyncio.Event(), asyncio.Event()
        life.on_signals(stop.set, reload_now.set, loop=loop)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, reload_now), POLICY_POLL_SECONDS)
                if stop.is_set():
                    break
                state.refusals.flush()  # sum up refusals not logged one by one
                self.check_reload(state, force=reload_now.is_set())
                reload_now.clear()
                life.rotate_log()
        finally:
            state.refusals.flush(everything=True)
            self.log.notice("Cleaning up and exiting...")
            server.close()
            for t in list(self.tasks):
                t.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        return 0


# A TLS fatal alert, access_denied (49), as a plaintext record: what a client's TLS
# library reports as "tlsv1 alert access denied" instead of an unexplained EOF.
TLS_ACCESS_DENIED = b"\x15\x03\x03\x00\x02\x02\x31"
REFUSAL_LINGER = 2.0  # seconds a refused client is given to read the alert and hang up


def refuse_politely(transport: asyncio.Transport) -> None:
    """Tell a client refused before TLS why its handshake ends: read (and drop)
    its ClientHello, answer with the access_denied alert, half-close, and drop
    the connection when the client hangs up, or after :data:`REFUSAL_LINGER`."""
    try:
        transport.resume_reading()  # _Accept.data_received drops what comes
        transport.write(TLS_ACCESS_DENIED)
        if transport.can_write_eof():
            transport.write_eof()
    except (OSError, RuntimeError):
        transport.abort()
        return
    asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.abort)


class _Accept(asyncio.Protocol):
    """Accepts plain TCP and pauses reading at once, so that nothing the client
    sends is consumed before the TLS upgrade; the session runs as its own task."""

    def __init__(self, server: Server, state: ServerState) -> None:
        self.server = server
        self.state = state

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self.server.on_connect(self.state, transport))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    def data_received(self, data: bytes) -> None:  # paused until TLS; a refused client's
        pass  # ClientHello is read and dropped

    def eof_received(self) -> bool | None:
        return None  # a refused client hung up: close


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def _fmt_sockname(name: Any) -> str:
    host, port = name[0], name[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
