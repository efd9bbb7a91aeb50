"""Keys: this host's fingerprint and its peers.

vigil: Ed25519 keys and the trust store (trusted, pending, rejected). CFEngine: the RSA
key in ``ppkeys/localhost.pub`` with its digest as ``cf-key -p`` prints it, trusted
peers as ``ppkeys/<user>-MD5=….pub`` files, joined with ``cf_lastseen.lmdb`` as
``cf-key -s`` shows it (direction, address, name, last connection).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.cfengine import keys as cfkeys
from engine.cfnet import exchange as cfexchange
from engine.cfnet.exchange import CfProbe
from engine.cfnet.peers import CfPeers
from engine.trust.client import RemoteError, TrustError
from engine.trust.exchange import PeerProbe, Standing, peer_has_us_pending, probe, standing
from engine.trust.keys import HostKey, KeyFileError
from engine.trust.store import TrustStore
from engine.workdir import Workdir


@dataclass(frozen=True, slots=True)
class PeerKey:
    fingerprint: str
    state: str  # trusted | pending | rejected (vigil); trusted | seen (CFEngine: no key file)
    host: str = ""
    names: tuple[str, ...] = ()
    address: str = ""
    user: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    changed_from: str | None = None
    direction: str = ""  # CFEngine: incoming | outgoing (one row per direction, as cf-key -s)


@dataclass(frozen=True, slots=True)
class KeysView:
    fingerprint: str | None  # None: no host key yet
    peers: list[PeerKey] = field(default_factory=list)
    key_note: str = ""  # why there is no fingerprint


def keys(wd: Workdir) -> KeysView:
    if wd.cfengine:
        return _cfengine(wd)
    peers = [
        PeerKey(p.fingerprint, str(p.state), p.host, tuple(p.names), p.address, p.user,
                p.first_seen, p.last_seen, p.changed_from)
        for p in TrustStore(wd.ppkeys).list()
    ]
    peers += cfengine_peers(wd)
    try:
        mine: str | None = HostKey(wd.ppkeys).fingerprint
        note = ""
    except (KeyFileError, OSError):
        mine, note = None, "no key yet: run 'vigil key' to make one"
    return KeysView(mine, peers, note)


def cfengine_peers(wd: Workdir) -> list[PeerKey]:
    """A vigil workdir's CFEngine peers (RSA keys, ``MD5=…``): trusted as
    ``ppkeys/<user>-MD5=….pub`` (as cf-key -t writes them), pending and rejected as
    vigil files them, with the server names they were trusted under."""
    cf = CfPeers(wd.ppkeys)
    by_key: dict[str, list[str]] = {}
    for name, dig in cf.names().items():
        by_key.setdefault(dig, []).append(name)
    peers = [
        PeerKey(f.key, "trusted", (by_key.get(f.key) or [""])[0], tuple(sorted(by_key.get(f.key, ()))),
                user=f.user)
        for f in cfkeys.trusted_files(wd.ppkeys)
    ]
    for state in ("pending", "rejected"):
        peers += [
            PeerKey(c.digest, state, c.host, (c.host,) if c.host else (), c.address, c.user,
                    c.first_seen, c.last_seen, c.changed_from)
            for c in cf.listing(state)
        ]
    return peers


def host_fingerprint(wd: Workdir) -> str | None:
    """This host's key fingerprint (``vigil key -p`` / ``cf-key -p``), None without a key."""
    return keys(wd).fingerprint if wd.cfengine else _vigil_fingerprint(wd)


def _vigil_fingerprint(wd: Workdir) -> str | None:
    try:
        return HostKey(wd.ppkeys).fingerprint
    except (KeyFileError, OSError):
        return None


def _cfengine(wd: Workdir) -> KeysView:
    pub = wd.ppkeys / "localhost.pub"
    try:
        mine: str | None = cfkeys.file_digest(pub)
        note = ""
    except cfkeys.KeyReadError as exc:
        mine = None
        note = f"no key: {exc} (cf-key makes one)" if not pub.exists() else str(exc)
    files = {f.key: f for f in cfkeys.trusted_files(wd.ppkeys)}
    peers: list[PeerKey] = []
    seen_keys: set[str] = set()
    for s in cfkeys.read_lastseen(wd.state / "cf_lastseen.lmdb"):
        seen_keys.add(s.key)
        f = files.get(s.key)
        name = cfkeys.host_name(s.address)
        peers.append(PeerKey(s.key, "trusted" if f else "seen", name, (name,) if name else (),
                             s.address, f.user if f else "", 0.0, s.last_seen, None, s.direction))
    for key, f in files.items():
        if key not in seen_keys:
            peers.append(PeerKey(key, "trusted", "", (), "", f.user))
    return KeysView(mine, peers, note)


PeerKeyProbe = PeerProbe | CfProbe  # what the key exchange shows before trusting


def probe_peer(wd: Workdir, host: str, port: int) -> PeerKeyProbe:
    """Connect and take the server's key from the handshake (writes nothing): a vigil
    server's Ed25519 key, or a CFEngine server's RSA key (``probe.cfengine``). A CFEngine
    workdir speaks to CFEngine servers only."""
    if wd.cfengine:
        return cfexchange.probe(wd.root, host, port)
    try:
        return probe(wd.root, host, port)
    except TrustError as vigil_error:  # not an Ed25519 key: a CFEngine server?
        try:
            return cfexchange.probe(wd.root, host, port)
        except (RemoteError, TrustError):
            raise vigil_error from None


def standing_on_peer(wd: Workdir, host: str, port: int) -> str:
    """Whether the peer trusts us, has us pending, or rejected us (writes nothing here)."""
    return str(peer_has_us_pending(wd.root, host, port))


def peer_standing(wd: Workdir, host: str, port: int, server_host: str = "",
                  cfengine: bool = False) -> Standing:
    """:func:`standing_on_peer` with the peer's reason and both hosts' names;
    ``Standing.describe()`` words it, claiming only what was checked (writes nothing).
    ``cfengine``: the peer speaks CFEngine's protocol (a :class:`CfProbe` found it)."""
    if cfengine or wd.cfengine:
        return cfexchange.standing(wd.root, host, port)
    return standing(wd.root, host, port, server_host)
