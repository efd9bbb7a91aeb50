"""The trust store: peers' public keys, filed by state and named by fingerprint.

Layout under ``ppkeys/``::

    trusted/SHA256:<b64>.pub    the peer's key (SPKI PEM), as `vigil key --trust` takes it
    trusted/SHA256:<b64>.json   {"host", "names", "address", "user",
                                 "first_seen", "last_seen", "changed_from"}
    pending/...                 keys seen from unknown clients, waiting for an admin
    rejected/...                keys an admin refused; never moved back to pending

Trust is by fingerprint only: a key is trusted when ``trusted/<fp>.pub`` exists.
``names`` are the host names a key was seen under (the name a client claims in
its hello, or ``host:port`` for a server we connected to); they serve only to
notice a *changed* key for a known name, which is always refused, never trusted
silently. Every write is atomic (temp file + rename); the ``.pub`` is written
before its sidecar and readers tolerate a missing sidecar.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.atomicwrite import write_atomic
from engine.trust.keys import fingerprint, is_fingerprint, load_public_file, public_pem
from engine.workdir import make_dirs

SEEN_WRITE_INTERVAL = 60.0  # last_seen is rewritten at most this often per key


class PeerState(StrEnum):
    TRUSTED = "trusted"
    PENDING = "pending"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Peer:
    """One peer key and what is known about it."""

    fingerprint: str
    state: PeerState
    host: str = ""
    names: tuple[str, ...] = ()
    address: str = ""
    user: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    changed_from: str | None = None
    key_file: Path = field(default=Path(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "state": str(self.state),
            "host": self.host,
            "names": list(self.names),
            "address": self.address,
            "user": self.user,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "changed_from": self.changed_from,
        }


class TrustStore:
    """Peers under one ``ppkeys`` directory; cheap to create, holds no cache."""

    def __init__(self, ppkeys: Path) -> None:
        self.ppkeys = Path(ppkeys)

    def dir(self, state: PeerState) -> Path:
        return self.ppkeys / str(state)

    # -- reading -------------------------------------------------------------

    def _read(self, state: PeerState, fp: str) -> Peer | None:
        pub = self.dir(state) / f"{fp}.pub"
        if not pub.exists():
            return None
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads((self.dir(state) / f"{fp}.json").read_text("utf-8"))
            if isinstance(loaded, dict):
                meta = loaded
        names = meta.get("names") or ([meta["host"]] if meta.get("host") else [])
        return Peer(
            fingerprint=fp,
            state=state,
            host=str(meta.get("host", "")),
            names=tuple(str(n) for n in names),
            address=str(meta.get("address", "")),
            user=str(meta.get("user", "")),
            first_seen=float(meta.get("first_seen", 0.0) or 0.0),
            last_seen=float(meta.get("last_seen", 0.0) or 0.0),
            changed_from=meta.get("changed_from") or None,
            key_file=pub,
        )

    def get(self, fp: str) -> Peer | None:
        """The peer with this fingerprint in any state (trusted wins over the rest)."""
        if not is_fingerprint(fp):
            return None
        for state in (PeerState.TRUSTED, PeerState.REJECTED, PeerState.PENDING):
            peer = self._read(state, fp)
            if peer is not None:
                return peer
        return None

    def is_trusted(self, fp: str) -> bool:
        return is_fingerprint(fp) and (self.dir(PeerState.TRUSTED) / f"{fp}.pub").exists()

    def raw_key(self, peer: Peer) -> bytes:
        return load_public_file(peer.key_file)

    def list(self, state: PeerState | None = None) -> list[Peer]:
        states = [state] if state else list(PeerState)
        out: list[Peer] = []
        for st in states:
            try:
                names = sorted(os.listdir(self.dir(st)))
            except FileNotFoundError:
                continue
            for name in names:
                if name.endswith(".pub") and is_fingerprint(name[:-4]):
                    peer = self._read(st, name[:-4])
                    if peer is not None:
                        out.append(peer)
        return out

    def trusted_for_name(self, *names: str) -> builtins.list[Peer]:  # list: the method above
        """Trusted peers recorded under any of ``names``."""
        wanted = {n for n in names if n}
        return [p for p in self.list(PeerState.TRUSTED) if wanted.intersection(p.names)]

    def count(self, state: PeerState) -> int:
        try:
            return sum(1 for n in os.listdir(self.dir(state)) if n.endswith(".pub"))
        except FileNotFoundError:
            return 0

    def count_from(self, state: PeerState, address: str) -> int:
        """Peers in ``state`` last seen from ``address`` (reads every sidecar)."""
        return sum(1 for p in self.list(state) if p.address == address)

    # -- writing -------------------------------------------------------------

    def _write(self, peer: Peer, raw: bytes | None, sync: bool = True) -> Peer:
        d = self.dir(peer.state)
        make_dirs(d, 0o700)
        pub = d / f"{peer.fingerprint}.pub"
        if raw is not None:
            write_atomic(pub, public_pem(raw).encode("ascii"), mode=0o644, sync=sync)
        data = json.dumps(peer.to_json(), indent=1, sort_keys=True).encode("utf-8")
        write_atomic(d / f"{peer.fingerprint}.json", data, mode=0o644, sync=sync)
        return replace(peer, key_file=pub)

    def _delete(self, peer: Peer) -> None:
        d = self.dir(peer.state)
        for suffix in (".json", ".pub"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(d / f"{peer.fingerprint}{suffix}")

    def add(
        self,
        raw: bytes,
        state: PeerState,
        host: str = "",
        address: str = "",
        user: str = "",
        changed_from: str | None = None,
    ) -> Peer:
        """File ``raw`` under ``state``, keeping what was known about it before."""
        fp = fingerprint(raw)
        now = time.time()
        old = self.get(fp)
        names = list(old.names) if old else []
        if host and host not in names:
            names.append(host)
        peer = Peer(
            fingerprint=fp,
            state=state,
            host=host or (old.host if old else ""),
            names=tuple(names),
            address=address or (old.address if old else ""),
            user=user or (old.user if old else ""),
            first_seen=old.first_seen if old and old.first_seen else now,
            last_seen=now,
            changed_from=changed_from if state is PeerState.PENDING else None,
        )
        new = self._write(peer, raw)
        if old is not None and old.state is not state:
            self._delete(old)
        return new

    def move(self, fp: str, state: PeerState) -> Peer:
        """Accept (``TRUSTED``) or reject (``REJECTED``) a known key."""
        old = self.get(fp)
        if old is None:
            raise LookupError(f"no key with fingerprint {fp}")
        if old.state is state:
            return old
        raw = self.raw_key(old)
        peer = replace(old, state=state, changed_from=None)
        new = self._write(peer, raw)
        self._delete(old)
        return new

    def remove(self, what: str) -> builtins.list[Peer]:
        """Remove by fingerprint or by host name/address; returns what went."""
        if is_fingerprint(what):
            victims = [p for p in self.list() if p.fingerprint == what]
        else:
            victims = [p for p in self.list() if what in p.names or what == p.address]
        for p in victims:
            self._delete(p)
        return victims

    def seen(self, peer: Peer, address: str = "", host: str = "", user: str = "") -> Peer:
        """Note a contact: last_seen, address, a new name. Written at most once a
        minute per key unless something besides the time changed."""
        names = list(peer.names)
        changed = bool(host and host not in names)
        if changed:
            names.append(host)
        changed = changed or bool(address and address != peer.address)
        changed = changed or bool(user and user != peer.user)
        now = time.time()
        if not changed and now - peer.last_seen < SEEN_WRITE_INTERVAL:
            return peer
        new = replace(
            peer,
            names=tuple(names),
            host=host or peer.host,
            address=address or peer.address,
            user=user or peer.user,
            last_seen=now,
        )
        try:
            return self._write(new, None, sync=False)
        except OSError:
            return peer
