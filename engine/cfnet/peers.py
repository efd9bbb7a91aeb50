"""Trust in CFEngine peers: cf-key's files, with vigil's pending and rejected states.

* **trusted**: ``ppkeys/<user>-MD5=<hex>.pub`` exists (PKCS#1 PEM), exactly the file
  ``cf-key -t`` and cf-serverd's ``trustkeysfrom`` write, so CFEngine tools and vigil
  agree on who is trusted.
* **pending** / **rejected**: ``ppkeys/pending/MD5=<hex>.pub`` (``rejected/``), with a
  JSON sidecar (address, user, host, first/last seen, ``changed_from``). The
  directories are vigil's trust store's; the names (``MD5=…`` rather than
  ``SHA256:…``) keep the two kinds of key apart.
* **names**: ``ppkeys/cfengine-servers.json`` maps each server this host connected to
  (``host:port``) to the digest it was trusted with. A known server presenting another
  key is refused as *changed*, whatever ``trustkey`` says.

Caps as for vigil keys: at most 1000 pending keys, 10 from one address.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.atomicwrite import write_atomic
from engine.cfengine.keys import digest
from engine.cfnet.rsakey import public_pem
from engine.workdir import make_dirs

DIGEST_RE = re.compile(r"\A(?:MD5=[0-9a-f]{32}|SHA=[0-9a-f]{64})\Z")
USER_RE = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
MAX_PENDING = 1000
MAX_PENDING_PER_ADDRESS = 10
NAMES = "cfengine-servers.json"


@dataclass(frozen=True, slots=True)
class CfPeer:
    digest: str
    state: str  # trusted | pending | rejected
    user: str = "root"
    address: str = ""
    host: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    changed_from: str | None = None


class CfPeers:
    """The CFEngine side of ``ppkeys/``."""

    def __init__(self, ppkeys: Path) -> None:
        self.ppkeys = ppkeys

    # -- trusted ---------------------------------------------------------------

    def trusted_file(self, dig: str, user: str = "root") -> Path:
        if not DIGEST_RE.match(dig) or not USER_RE.match(user):
            raise ValueError(f"not a key digest or user name: {user!r}-{dig!r}")
        return self.ppkeys / f"{user}-{dig}.pub"

    def is_trusted(self, dig: str, user: str = "root") -> bool:
        try:
            return self.trusted_file(dig, user).exists()
        except ValueError:
            return False

    def trust(self, n: int, e: int, user: str = "root", name: str = "") -> str:
        """Write ``<user>-MD5=….pub`` (as cf-key -t), forget any pending/rejected entry."""
        dig = digest(n, e)
        make_dirs(self.ppkeys, 0o700)
        write_atomic(self.trusted_file(dig, user), public_pem(n, e), mode=0o600)
        for state in ("pending", "rejected"):
            self._drop(state, dig)
        if name:
            self.bind_name(name, dig)
        return dig

    # -- pending / rejected ----------------------------------------------------

    def _dir(self, state: str) -> Path:
        return self.ppkeys / state

    def _drop(self, state: str, dig: str) -> None:
        for suffix in (".pub", ".json"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._dir(state) / f"{dig}{suffix}")

    def state_of(self, dig: str, user: str = "root") -> str | None:
        if self.is_trusted(dig, user):
            return "trusted"
        if not DIGEST_RE.match(dig):
            return None
        for state in ("rejected", "pending"):
            if (self._dir(state) / f"{dig}.pub").exists():
                return state
        return None

    def file_pending(self, n: int, e: int, address: str, user: str = "root", host: str = "",
                     changed_from: str | None = None) -> tuple[CfPeer | None, str]:
        """File a new key as pending; (None, reason) when a cap refuses it, and the
        rejected entry when the key was rejected before."""
        dig = digest(n, e)
        if (self._dir("rejected") / f"{dig}.pub").exists():
            return self._read("rejected", dig), "rejected"
        d = self._dir("pending")
        old = self._read("pending", dig)
        if old is None:
            names = _names(d)
            if len(names) >= MAX_PENDING:
                return None, f"{MAX_PENDING} keys are pending already"
            if sum(1 for p in (self._read("pending", x) for x in names) if p and p.address == address) \
                    >= MAX_PENDING_PER_ADDRESS:
                return None, f"{MAX_PENDING_PER_ADDRESS} keys from {address} are pending already"
        now = time.time()
        peer = CfPeer(dig, "pending", user, address, host, old.first_seen if old else now, now,
                      changed_from or (old.changed_from if old else None))
        make_dirs(d, 0o700)
        write_atomic(d / f"{dig}.pub", public_pem(n, e), mode=0o600)
        write_atomic(d / f"{dig}.json", json.dumps(asdict(peer)).encode(), mode=0o600)
        return peer, "pending"

    def _read(self, state: str, dig: str) -> CfPeer | None:
        try:
            data = json.loads((self._dir(state) / f"{dig}.json").read_text())
            return CfPeer(**{**data, "state": state})
        except (OSError, ValueError, TypeError):
            return CfPeer(dig, state) if (self._dir(state) / f"{dig}.pub").exists() else None

    def listing(self, state: str) -> list[CfPeer]:
        out = [self._read(state, d) for d in _names(self._dir(state))]
        return [p for p in out if p is not None]

    def accept(self, dig: str, user: str = "root") -> str:
        """pending/rejected -> trusted."""
        from engine.cfnet.rsakey import load_public

        for state in ("pending", "rejected"):
            pub = self._dir(state) / f"{dig}.pub"
            if pub.exists():
                n, e = load_public(pub)
                return self.trust(n, e, user)
        raise KeyError(dig)

    def reject(self, dig: str) -> None:
        """pending -> rejected."""
        src, dst = self._dir("pending"), self._dir("rejected")
        make_dirs(dst, 0o700)
        for suffix in (".pub", ".json"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(src / f"{dig}{suffix}", dst / f"{dig}{suffix}")

    # -- server names (client side) --------------------------------------------

    def _names_file(self) -> Path:
        return self.ppkeys / NAMES

    def names(self) -> dict[str, str]:
        try:
            data = json.loads(self._names_file().read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def bind_name(self, name: str, dig: str) -> None:
        names = self.names()
        if names.get(name) == dig:
            return
        names[name] = dig
        make_dirs(self.ppkeys, 0o700)
        write_atomic(self._names_file(), json.dumps(names, indent=1, sort_keys=True).encode(),
                     mode=0o600)

    def changed_from(self, name: str, dig: str, user: str = "root") -> str | None:
        """The other digest ``name`` was trusted with, when that key is still trusted."""
        old = self.names().get(name)
        if old and old != dig and self.is_trusted(old, user):
            return old
        return None


def _names(d: Path) -> list[str]:
    try:
        return sorted(n[:-4] for n in os.listdir(d) if n.endswith(".pub") and DIGEST_RE.match(n[:-4]))
    except OSError:
        return []
