"""First contact with the hub, before anything in the workdir changes.

cf-agent trusts the hub's key inside its failsafe policy (``trustkey`` while
``trust_server`` is defined). vigil connects once first, so that what goes wrong is
said plainly and the workdir is left as it was: no hub there, a hub that refuses us,
a key that changed. The hub's key is trusted on first use unless ``--trust-server=no``;
a hub that presents another key than the one trusted for it is refused whatever
``--trust-server`` says (cf-agent 3.21 would trust the new key too).
"""

from __future__ import annotations

from pathlib import Path

from engine.bootstrap.target import Hub
from engine.cfnet import rsakey
from engine.cfnet.client import NotCFEngine, ServerKey, connect
from engine.log import LineLogger
from engine.trust.client import RemoteError, TrustError


class HubError(Exception):
    """First contact failed; the message says why and what to do."""


def contact(workdir: Path, hub: Hub, trust_server: bool, log: LineLogger,
            timeout: float = 30.0) -> str:
    """Connect, judge the hub's key and identify; the hub's key digest (``MD5=…``)."""
    name = f"{hub.address}:{hub.port}"

    def first_use(key: ServerKey) -> bool:
        if trust_server:
            log.notice(f"Trusting new key: {key.digest}")
        return trust_server

    try:
        conn = connect(workdir, hub.address, hub.port, on_unknown=first_use, timeout=timeout)
    except NotCFEngine:
        raise HubError(f"The server at '{name}' speaks only vigil's own protocol (it has no "
                       "RSA key): give it one with 'vigil key' there and restart it") from None
    except TrustError as exc:
        raise HubError(_trust_message(workdir, name, exc)) from None
    except RemoteError as exc:
        raise HubError(f"{exc}: is a server (cf-serverd or vigil serverd) listening on port "
                       f"{hub.port} of {hub.address}?" if "Unable to establish" in str(exc)
                       else str(exc)) from None
    with conn:
        return conn.server.digest


def _trust_message(workdir: Path, name: str, exc: TrustError) -> str:
    if exc.status == "changed":
        return (f"The hub at '{name}' presented the key {exc.fingerprint}, but this host trusts "
                f"it with {exc.changed_from}: the hub's key changed (a reinstalled hub, or "
                "someone in between). Refusing to bootstrap. If the change is expected, compare "
                f"with 'cf-key -p' on the hub, then 'vigil key --accept {exc.fingerprint}' and "
                "bootstrap again")
    if exc.status == "unknown":
        return (f"The hub at '{name}' presented the key {exc.fingerprint}, which this host does "
                "not trust, and --trust-server=no was given. Compare it with 'cf-key -p' on the "
                f"hub, then 'vigil key --accept {exc.fingerprint}', or bootstrap without "
                "--trust-server=no")
    if exc.status == "rejected":
        return (f"The hub at '{name}' presented the key {exc.fingerprint}, which was rejected on "
                f"this host ('vigil key --accept {exc.fingerprint}' undoes that)")
    try:
        ours = rsakey.host_digest(workdir / "ppkeys")
    except (OSError, rsakey.RSAKeyError, ValueError):
        ours = "(unreadable)"
    return (f"The hub at '{name}' does not accept this host: it closed the connection after "
            f"identification. It must trust this host's key {ours} (its 'trustkeysfrom' "
            "naming this host's address, or 'cf-key -t' there) and let this address connect "
            f"('allowconnects'); its log says which ({exc})")
