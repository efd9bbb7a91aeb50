"""hostsseen and hostinnetgroup: who this host has talked to, and NIS netgroups.

``hostsseen`` reads ``state/cf_lastseen.lmdb`` (written by vigil's serverd and
clients in CFEngine's format, :mod:`engine.cfnet.lastseen`). As cf-agent 3.21: each
key's incoming and outgoing records count, a host seen recently in either is not
also listed as not seen, the horizon in hours is multiplied in a 32-bit int (so
``inf`` is about 26 years), and ``name`` asks the resolver for each address (the
address itself when it has no name); when no host qualifies the call fails (the
variable stays undefined), as cf-agent's. The order differs: cf-agent lists hosts in the
order of its in-memory hash map; vigil in the database's key order.
"""

from __future__ import annotations

import os
import time

from engine.eval.functions._util import need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function

_FIELDS = ("name", "address", "hostkey")


def _int32(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


def _sightings(path: str) -> list[tuple[str, str, int]]:
    """(address, key digest, time last seen) of every incoming and outgoing record of a
    key whose address is known, in the database's key order (incoming first)."""
    from pathlib import Path

    from engine.cfengine.keys import lastseen_entries
    from engine.state.lmdbstore import Unreadable

    try:
        entries = lastseen_entries(Path(path))
    except (Unreadable, OSError) as e:
        raise FunctionError(f"hostsseen: cannot read the lastseen database ({e})") from None
    entries.sort(key=lambda s: (s.key, s.direction != "incoming"))
    return [(s.address, s.key, int(s.last_seen)) for s in entries if s.address]


def _name(address: str) -> str:
    import socket

    try:
        return socket.gethostbyaddr(address)[0]
    except (OSError, UnicodeError):
        return address


@function("hostsseen", "slist", 3, 3)
def hostsseen(env: FnEnv, horizon: str, seen: str, field: str) -> list[str]:
    """hostsseen(horizon, seen, field): the hosts (``name``, ``address`` or ``hostkey``)
    that connected here or were connected to within the last ``horizon`` hours
    (``lastseen``) or not within them (``notseen``)."""
    if seen not in ("lastseen", "notseen"):
        raise FunctionError(f"hostsseen: second argument must be 'lastseen' or 'notseen', not '{seen}'")
    if field not in _FIELDS:
        raise FunctionError(f"hostsseen: third argument must be one of {', '.join(_FIELDS)}, not '{field}'")
    span = _int32(need_int("hostsseen", horizon) * 3600)
    oldest = int(time.time()) - span
    recent: list[str] = []
    aged: list[str] = []
    names: dict[str, str] = {}
    for address, digest, when in _sightings(os.path.join(env.workdir, "state", "cf_lastseen.lmdb")):
        if field == "address":
            value = address
        elif field == "hostkey":
            value = digest
        else:
            value = names.get(address) or names.setdefault(address, _name(address))
        if when < oldest:
            if value not in recent and value not in aged:
                aged.append(value)
        else:
            if value in aged:
                aged.remove(value)
            if value not in recent:
                recent.append(value)
    hosts = recent if seen == "lastseen" else aged
    if not hosts:  # cf-agent leaves the variable undefined rather than empty
        raise FunctionError(f"hostsseen: no host {seen} within {horizon} hours", quiet=True)
    return hosts


@function("hostinnetgroup", "class", 1, 1)
def hostinnetgroup(env: FnEnv, netgroup: str) -> bool:
    """hostinnetgroup(netgroup): true when this host belongs to the NIS netgroup
    (looked up through the C library's ``innetgr``; false where there is no NIS)."""
    import ctypes
    import ctypes.util
    import socket

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        innetgr = libc.innetgr
    except (OSError, AttributeError):
        return False
    innetgr.restype = ctypes.c_int
    innetgr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
    host = socket.gethostname().split(".")[0]
    return bool(innetgr(netgroup.encode("utf-8", "surrogateescape"), host.encode("utf-8", "surrogateescape"), None, None))
