"""One serverd connection: TLS upgrade, the authenticated hello, the request loop.

A connection costs the server nothing beyond itself: every read has a deadline
(handshake, then idle), frames above the maximum size or badly formed close this
connection only, and all errors end in ``writer.close()``.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.daemons.serverd import ops
from engine.daemons.serverd.acl import ClientId, Denied, address_matches
from engine.daemons.serverd.config import ServerConfig
from engine.trust import frames
from engine.trust.keys import fingerprint, verify
from engine.trust.protocol import (
    NONCE_LEN,
    PROTOCOL,
    VERSIONS,
    Op,
    ProtocolError,
    Status,
    auth_transcript,
    b64,
    unb64,
    want_str,
)
from engine.trust.store import PeerState
from engine.trust.tls import channel_binding

if TYPE_CHECKING:
    from engine.daemons.serverd.state import ServerState

HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")


@dataclass
class Session:
    state: ServerState
    transport: asyncio.Transport  # plain TCP, reading paused until the TLS upgrade
    address: str
    reader: asyncio.StreamReader = field(default_factory=asyncio.StreamReader)
    writer: asyncio.StreamWriter | None = None
    client: ClientId | None = None
    host: str = ""
    status: Status = Status.DENIED
    extra: dict[str, Any] = field(default_factory=dict)
    _bound: tuple[Any, Any] = (None, None)  # (serverd's config, bound to the client)

    @property
    def tag(self) -> str:
        return f"{self.address}>       "

    @property
    def config(self) -> ServerConfig:
        """serverd's current configuration with ``$(connection.*)`` bound to this client."""
        from engine.daemons.serverd.connvars import bind

        current = self.state.config
        if self._bound[0] is not current:
            assert self.client is not None
            self._bound = (current, bind(current, self.client))
        bound: ServerConfig = self._bound[1]
        return bound

    # -- I/O ---------------------------------------------------------------------

    async def _write(self, frame: bytes) -> None:
        assert self.writer is not None
        self.writer.write(frame)
        await asyncio.wait_for(self.writer.drain(), self.state.settings.idle_timeout)

    async def send(self, msg: dict[str, Any]) -> None:
        await self._write(frames.encode_message(msg))

    async def send_data(self, data: bytes) -> None:
        await self._write(frames.encode_data(data))

    async def start_tls(self) -> None:
        """Upgrade the paused TCP transport. Reading was paused at accept so the
        client's first TLS bytes wait in the kernel instead of a stream buffer."""
        loop = asyncio.get_running_loop()
        protocol = asyncio.StreamReaderProtocol(self.reader)
        tls = await loop.start_tls(
            self.transport,
            protocol,
            self.state.tls_context,
            server_side=True,
            ssl_handshake_timeout=self.state.settings.handshake_timeout,
        )
        if tls is None:  # the transport was closing: nothing to upgrade
            raise ConnectionError("connection closed before the TLS handshake")
        protocol.connection_made(tls)
        self.writer = asyncio.StreamWriter(tls, protocol, self.reader, loop)

    async def recv(self, timeout: float) -> frames.Frame:
        return await asyncio.wait_for(
            frames.read_frame(self.reader, self.state.settings.max_frame), timeout
        )

    # -- the connection ------------------------------------------------------------

    async def run(self) -> None:
        log = self.state.log
        try:
            try:
                await asyncio.wait_for(self.start_tls(), self.state.settings.handshake_timeout)
            except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as e:
                log.info(f"{self.tag}TLS handshake failed: {e or type(e).__name__}")
                return
            assert self.writer is not None
            if self.writer.get_extra_info("ssl_object").context is not self.state.ssl_context:
                from engine.daemons.serverd.cf_session import CfSession

                await CfSession(self.state, self.reader, self.writer, self.address).run()
                return
            if not await self.authenticate():
                return
            await self.serve()
        except TimeoutError:
            log.info(f"{self.tag}Connection timed out, closing")
        except asyncio.IncompleteReadError:
            log.verbose(f"{self.tag}Peer closed the connection")
        except frames.FrameError as e:
            log.info(f"{self.tag}Bad frame, closing connection: {e}")
        except ProtocolError as e:
            log.info(f"{self.tag}Protocol error, closing connection: {e}")
        except (ConnectionError, ssl.SSLError, OSError) as e:
            log.verbose(f"{self.tag}Connection lost: {e}")
        finally:
            if self.writer is None:
                self.transport.close()
            else:
                self.writer.close()
                try:
                    await asyncio.wait_for(self.writer.wait_closed(), 1.0)
                except (Exception, asyncio.CancelledError):
                    pass
            log.verbose(f"{self.tag}Closing connection")

    async def authenticate(self) -> bool:
        st = self.state
        assert self.writer is not None
        ssl_obj = self.writer.get_extra_info("ssl_object")
        nonce = os.urandom(NONCE_LEN)
        await self.send(
            {
                "proto": PROTOCOL,
                "versions": list(VERSIONS),
                "server": st.server_name,
                "host": st.host_name,
                "nonce": b64(nonce),
            }
        )
        msg = (await self.recv(st.settings.handshake_timeout)).message()
        if msg.get("op") != Op.HELLO:
            raise ProtocolError("expected hello")
        if msg.get("version") not in VERSIONS:
            await self.send(
                {"ok": False, "status": Status.DENIED, "error": "unsupported protocol version"}
            )
            return False
        host = want_str(msg, "host", 253)
        user = want_str(msg, "user", 64)
        if not HOST_RE.match(host) or not USER_RE.match(user):
            raise ProtocolError("bad host or user name")
        key = unb64(msg.get("key"), 32)
        sig = unb64(msg.get("sig"), 64)
        transcript = auth_transcript(
            nonce, channel_binding(ssl_obj), st.host_key_raw, key, host, user
        )
        if not verify(key, sig, transcript):
            st.log.notice(f"{self.tag}Authentication failed: bad signature from '{host}'")
            await self.send({"ok": False, "status": Status.DENIED, "error": "bad signature"})
            return False
        fp = fingerprint(key)
        self.host = host
        self.status = self.decide(key, fp, host, user)
        reply: dict[str, Any] = {
            "ok": self.status is Status.TRUSTED,
            "status": self.status,
            "fingerprint": fp,
            "version": 1,
        }
        if self.status is not Status.TRUSTED:
            error = f"key {fp} is {self.status} on {st.host_name}"
            not_filed = self.extra.get("not_filed")
            if not_filed:
                error = not_filed if self.status is Status.DENIED else f"{error}; {not_filed}"
            reply["error"] = error
            await self.send(reply)
            return False
        self.client = ClientId(self.address, fp, user)
        await self.send(reply)
        return True

    def decide(self, key: bytes, fp: str, host: str, user: str) -> Status:
        """Trusted, rejected, changed, newly trusted via trustkeysfrom, or pending."""
        st, log, store = self.state, self.state.log, self.state.store
        peer = store.get(fp)
        if peer is not None and peer.state is PeerState.TRUSTED:
            store.seen(peer, self.address, host, user)
            log.verbose(f"{self.tag}{fp}: Client is TRUSTED, public key MATCHES stored one.")
            return Status.TRUSTED
        if peer is not None and peer.state is PeerState.REJECTED:
            log.notice(f"{self.tag}Refusing rejected key {fp} (host '{host}')")
            store.seen(peer, self.address, host, user)
            return Status.REJECTED
        known = [p for p in store.trusted_for_name(host) if p.fingerprint != fp]
        if known:
            old = known[0].fingerprint
            log.warning(f"{self.tag}@@@ HOST KEY CHANGED for '{host}' @@@")
            log.warning(
                f"{self.tag}'{host}' is trusted with key {old} but presented {fp}; "
                "refusing the connection. It may be an impostor, or the host was "
                f"re-keyed: check, then 'vigil key --accept {fp}'."
            )
            self._file_pending(key, host, user, changed_from=old)  # refused either way
            return Status.CHANGED
        if address_matches(st.config.trustkeysfrom, self.address):
            log.verbose(f'{self.tag}Peer was found in "trustkeysfrom" list')
            log.notice(f"{self.tag}Trusting new key: {fp}")
            store.add(key, PeerState.TRUSTED, host, self.address, user)
            return Status.TRUSTED
        if not self._file_pending(key, host, user):
            return Status.DENIED  # not filed: the client is told why, not "pending"
        log.notice(
            f"{self.tag}TRUST FAILED, peer presented an untrusted key, dropping connection! "
            f"({fp}, host '{host}'; filed as pending: 'vigil key --accept {fp}')"
        )
        log.verbose(
            f'{self.tag}Add peer to "trustkeysfrom" if you really want to start trusting this new key.'
        )
        return Status.PENDING

    def _file_pending(self, key: bytes, host: str, user: str, changed_from: str | None = None) -> bool:
        """File the key as pending; False (the reason in ``extra["not_filed"]``,
        and one warning) when the store is full, in all or for this address."""
        st = self.state
        store = st.store
        fp = fingerprint(key)
        peer = store.get(fp)
        if peer is not None and peer.state is PeerState.PENDING and not changed_from:
            store.seen(peer, self.address, host, user)
            return True
        if peer is None:
            limit, per_address = st.settings.max_pending, st.settings.max_pending_per_address
            why = ""
            if store.count(PeerState.PENDING) >= limit:
                why = f"the pending-key store of {st.host_name} is full ({limit} keys)"
            elif store.count_from(PeerState.PENDING, self.address) >= per_address:
                why = (f"{st.host_name} already holds {per_address} pending keys from "
                       f"{self.address}, the most it files from one address")
            if why:
                st.log.warning(f"{self.tag}Not filing key {fp} (host '{host}') as pending: {why}")
                self.extra["not_filed"] = (
                    f"refused: key {fp} was not filed as pending: {why}; an admin there must "
                    "accept or reject pending keys (vigil key --list) first")
                return False
        store.add(key, PeerState.PENDING, host, self.address, user, changed_from=changed_from)
        return True

    async def serve(self) -> None:
        assert self.client is not None
        st = self.state
        from engine.daemons.serverd.connvars import needs_hostname

        if needs_hostname(st.config):
            self.client = ClientId(
                self.client.address,
                self.client.fingerprint,
                self.client.user,
                await self._reverse_dns(),
            )
        while True:
            msg = (await self.recv(st.settings.idle_timeout)).message()
            op = msg.get("op")
            if op == Op.BYE:
                return
            try:
                await ops.dispatch(self, op, msg)
            except Denied as e:
                st.log.info(f"{self.tag}{e}")
                await self.send({"ok": False, "error": str(e)})

    async def _reverse_dns(self) -> str | None:
        loop = asyncio.get_running_loop()
        try:
            host, _ = await asyncio.wait_for(
                loop.getnameinfo((self.address, 0), socket.NI_NAMEREQD), 2.0
            )
        except (OSError, TimeoutError):
            return None
        return str(host)
