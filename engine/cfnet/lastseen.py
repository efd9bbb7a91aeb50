"""``state/cf_lastseen.lmdb`` written as CFEngine writes it, so ``cf-key -s`` lists vigil's peers.

Records (keys and values NUL-terminated strings, as CFEngine's):

* ``k<digest>`` -> the address the key was last seen at,
* ``a<address>`` -> the digest last seen at that address,
* ``q<i|o><digest>`` -> 40 bytes: the time (``int64``, native order) followed by four
  doubles (the connection interval's last value, average, variance and change).

``i`` is a peer that connected to us (serverd), ``o`` one we connected to (client).
Reading is :func:`engine.cfengine.keys.read_lastseen`.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

_Q = struct.Struct("=q4d")


def _z(s: str) -> bytes:
    return s.encode("utf-8") + b"\0"


def saw(state_dir: Path, address: str, digest: str, incoming: bool, when: float | None = None) -> None:
    """Record that ``digest`` was seen at ``address`` (as CFEngine's LastSaw does).
    A failure to record is not the connection's failure: it is swallowed here and the
    caller may log it (OSError / lmdb.Error are raised)."""
    from engine.state.lmdbstore import Store

    now = int(time.time() if when is None else when)
    qkey = _z(("qi" if incoming else "qo") + digest)

    def put(txn: object) -> None:
        old = txn.get(qkey)  # type: ignore[attr-defined]
        q = expect = var = 0.0
        if old is not None and len(old) >= _Q.size:
            then, _q, expect, var, _dq = _Q.unpack_from(bytes(old))
            q = float(max(0, now - then))
            delta = q - expect
            expect = expect + 0.3 * delta if expect else q
            var = 0.7 * var + 0.3 * delta * delta
        txn.put(_z("k" + digest), _z(address))  # type: ignore[attr-defined]
        txn.put(_z("a" + address), _z(digest))  # type: ignore[attr-defined]
        txn.put(qkey, _Q.pack(now, q, expect, var, 0.0))  # type: ignore[attr-defined]

    store = Store.open(state_dir / "cf_lastseen.lmdb")
    try:
        store.write(put)
    finally:
        store.close()


def key_at(state_dir: Path, address: str) -> str | None:
    """The digest last seen at ``address``, if any."""
    from engine.state.lmdbstore import Unreadable, reading

    try:
        with reading(state_dir / "cf_lastseen.lmdb") as txn:
            if txn is None:
                return None
            v = txn.get(_z("a" + address))
    except (Unreadable, OSError):
        return None
    return bytes(v).rstrip(b"\0").decode("utf-8", "replace") if v is not None else None
