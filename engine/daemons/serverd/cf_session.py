"""serverd's side of CFEngine's protocol (versions 2 "tls" and 3 "cookie").

After the TLS handshake on the RSA context (``engine.cfnet.tls.server_context``:
the client's certificate is asked for and any is accepted), the identification
dialog runs as cf-serverd 3.21 runs it: our ``CFE_v3 …`` line, the client's
``CFE_v<N> …`` and ``IDENTITY USERNAME=…`` lines, then the client's key (from its
certificate) is judged: trusted (``ppkeys/<user>-MD5=….pub``), new and admitted by
``trustkeysfrom``, or filed as pending and dropped, as cf-serverd drops it. A
trusted client is recorded in ``state/cf_lastseen.lmdb`` and welcomed; its
transactions are then served by :mod:`engine.daemons.serverd.cf_ops` on top of the
access rules of :mod:`engine.daemons.serverd.acl`.

This module never imports serverd (that would tie it into serverd's import loop):
what it needs of the daemon's state is :class:`CfServerState`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from typing import Any, Protocol

from engine.cfnet import wire
from engine.daemons.serverd.acl import ClientId, address_matches
from engine.daemons.serverd.cf_ops import SERVER_VERSION

PROTOCOL_VERSION = 3
USERNAME_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")


class CfServerState(Protocol):
    """What a CFEngine session uses of serverd's ``ServerState``."""

    workdir: Any
    settings: Any
    config: Any
    log: Any
    run_lock: asyncio.Lock
    run_resource: str
    host_name: str


class Refused(Exception):
    """The identification dialog failed: logged, and the connection is closed."""


class CfSession:
    """One CFEngine client on an established TLS connection."""

    def __init__(self, state: CfServerState, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, address: str) -> None:
        self.state = state
        self.reader = reader
        self.writer = writer
        self.address = address
        self.client: ClientId | None = None
        self.protocol = PROTOCOL_VERSION
        self._bound: tuple[Any, Any] = (None, None)  # (serverd's config, bound to the client)

    @property
    def config(self) -> Any:
        """serverd's current configuration with ``$(connection.*)`` bound to this client."""
        from engine.daemons.serverd.connvars import bind

        current = self.state.config
        if self._bound[0] is not current:
            assert self.client is not None
            self._bound = (current, bind(current, self.client))
        return self._bound[1]

    @property
    def tag(self) -> str:
        return f"{self.address}>       "

    # -- I/O -------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), self.state.settings.idle_timeout)

    async def send(self, payload: bytes, more: bool = False) -> None:
        """One transaction; a payload longer than a transaction is cut, as C's buffers cut it."""
        await self.write(wire.transaction(payload[: wire.MAX_PAYLOAD] or b"\0", more))

    async def recv(self, timeout: float) -> bytes:
        """One transaction's payload. WireError on a bad header: the connection ends."""
        header = await asyncio.wait_for(self.reader.readexactly(wire.HEADER), timeout)
        length, _more = wire.parse_header(header)
        return await asyncio.wait_for(self.reader.readexactly(length), timeout)

    async def read_line(self, timeout: float) -> bytes:
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\n"), timeout)
        except asyncio.LimitOverrunError:
            raise Refused(f"line longer than {wire.MAX_LINE} bytes during identification") from None
        if len(line) > wire.MAX_LINE + 1:
            raise Refused(f"line of {len(line)} bytes during identification "
                          f"(at most {wire.MAX_LINE})")
        return line.rstrip(b"\n")

    async def _reverse_dns(self) -> str | None:
        """The client's name by reverse DNS (NI_NAMEREQD), None when it has none."""
        loop = asyncio.get_running_loop()
        try:
            host, _ = await asyncio.wait_for(
                loop.getnameinfo((self.address, 0), socket.NI_NAMEREQD), 2.0)
        except (OSError, TimeoutError):
            return None
        return str(host)

    # -- the connection ----------------------------------------------------------

    async def run(self) -> None:
        log = self.state.log
        try:
            key = self.client_key()
            await self.identify(key)
        except Refused as e:
            log.notice(f"{self.tag}{e}")
            return
        except wire.WireError as e:
            log.info(f"{self.tag}{e}, closing connection")
            return
        await self.serve()

    def client_key(self) -> tuple[int, int]:
        """(n, e) of the RSA key in the client's certificate."""
        from engine.cfnet.rsakey import RSAKeyError, numbers
        from engine.trust.der import spki_of_cert
        from engine.trust.keys import KeyFileError

        der = self.writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        if not der:
            raise Refused("Client presented no certificate, dropping connection (a vigil "
                          "client names the vigil protocol by SNI; a CFEngine client always "
                          "presents its key)")
        try:
            return numbers(spki_of_cert(der))
        except (RSAKeyError, KeyFileError) as e:
            raise Refused(f"Client presented no usable RSA key ({e}), dropping connection") from None

    async def identify(self, key: tuple[int, int]) -> None:
        st = self.state
        timeout = st.settings.handshake_timeout
        log = st.log
        log.verbose(f"{self.tag}TLS session established, checking trust...")
        await self.write(f"CFE_v{PROTOCOL_VERSION} cf-serverd {SERVER_VERSION}\n".encode())
        line = await self.read_line(timeout)
        version = wire.parse_version(line)
        if version is None:
            raise Refused(f"Protocol version negotiation failed! Received: {_shown(line)}")
        if version not in wire.VERSIONS:
            raise Refused(f"Client advertises disallowed protocol version: {version}")
        self.protocol = version
        user = self.parse_identity(await self.read_line(timeout))
        await self.judge(key, user)
        await self.write(f"OK WELCOME USERNAME={user}\n".encode())

    def parse_identity(self, line: bytes) -> str:
        text = line.decode("utf-8", "replace")
        if not text.startswith("IDENTITY "):
            raise Refused(f"Expected IDENTITY, received: {_shown(line)}")
        user = ""
        for field in text[len("IDENTITY "):].split():
            name, _, value = field.partition("=")
            if name == "USERNAME":
                if not USERNAME_RE.match(value):
                    raise Refused(f"Received invalid IDENTITY: USERNAME={_shown(value.encode())}")
                user = value
                self.state.log.verbose(f"{self.tag}Setting IDENTITY: USERNAME={value}")
            else:
                self.state.log.verbose(f"{self.tag}Received unknown IDENTITY parameter: "
                                       f"{_shown(field.encode())}")
        if not user:
            raise Refused("Received IDENTITY without USERNAME, dropping connection")
        return user

    async def judge(self, key: tuple[int, int], user: str) -> None:
        """Trusted, trusted now by ``trustkeysfrom``, or Refused (pending, rejected)."""
        from engine.cfengine.keys import digest
        from engine.cfnet import lastseen
        from engine.cfnet.peers import CfPeers

        st, log = self.state, self.state.log
        n, e = key
        dig = digest(n, e)
        peers = CfPeers(st.workdir.ppkeys)
        state_dir = st.workdir.state
        loop = asyncio.get_running_loop()
        if peers.is_trusted(dig, user):
            log.verbose(f"{self.tag}{dig}: Client is TRUSTED, public key MATCHES stored one.")
        elif peers.state_of(dig) == "rejected":
            raise Refused(f"{dig}: Client's key is REJECTED here, dropping connection "
                          f"('vigil key --accept {dig}' trusts it)")
        elif address_matches(st.config.trustkeysfrom, self.address):
            # an address is not an identity (NAT, DHCP, many agents on one host): another
            # key last seen there is worth a line, not a refusal, as in cf-serverd
            before = await loop.run_in_executor(None, lastseen.key_at, state_dir, self.address)
            log.verbose(f'{self.tag}Peer was found in "trustkeysfrom" list')
            log.notice(f"{self.tag}Trusting new key: {dig}" + (
                f" ({self.address} was last seen with {before})" if before and before != dig
                else ""))
            peers.trust(n, e, user)
        else:
            before = await loop.run_in_executor(None, lastseen.key_at, state_dir, self.address)
            changed = before if before and before != dig and peers.is_trusted(before, user) else None
            filed, why = peers.file_pending(n, e, self.address, user, changed_from=changed)
            if filed is None:
                log.warning(f"{self.tag}Not filing key {dig} as pending: {why}")
            raise Refused(f"TRUST FAILED, peer presented an untrusted key, dropping "
                          f"connection! ({dig}, user '{user}'"
                          + (f"; KEY CHANGED: {self.address} was last seen with the trusted key "
                             f"{changed} (a reinstalled host, or another host at this address)"
                             if changed else "")
                          + (f"; pending: 'vigil key --accept {dig}')" if filed else ")"))
        try:
            await loop.run_in_executor(None, lambda: lastseen.saw(state_dir, self.address, dig,
                                                                 incoming=True))
        except Exception as exc:  # lmdb.Error, OSError: the connection goes on
            log.verbose(f"{self.tag}Cannot record {dig} in cf_lastseen.lmdb: {exc}")
        self.client = ClientId(self.address, dig, user)

    async def serve(self) -> None:
        from engine.daemons.serverd import cf_ops

        st = self.state
        from engine.daemons.serverd.connvars import needs_hostname

        if self.client is not None and needs_hostname(st.config):
            self.client = dataclasses.replace(self.client, hostname=await self._reverse_dns())
        while True:
            try:
                payload = await self.recv(st.settings.idle_timeout)
            except wire.WireError as e:
                st.log.info(f"{self.tag}{e}, closing connection")
                return
            if not await cf_ops.dispatch(self, payload):
                return


def _shown(data: bytes, width: int = 60) -> str:
    text = data.decode("utf-8", "replace")
    return repr(text) if len(text) <= width else f"{text[:width]!r}… ({len(text)} characters)"
