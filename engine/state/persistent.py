"""Persistent classes in ``state/cf_state.lmdb``, in CFEngine's format.

Key: the class name and a NUL. Value: ``<II`` (expiry as epoch seconds, timer
policy: 0 reset, 1 preserve) followed by the comma-separated tags and a NUL.

``timer_policy => "reset"`` (the default) restarts the timer every time the
class is set again; ``"absolute"`` (stored as *preserve*) keeps the expiry of
an entry that has not run out yet.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Sequence
from pathlib import Path

from engine.state import lmdbcheck

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Protocol

    import lmdb

    from engine.state._pclass import PersistentClass, Policy
    from engine.state.lmdbstore import Store
else:
    Protocol = object  # a plain base at run time; mypy takes the branch above and checks them

POLICY_CODES: dict[str, int] = {"reset": 0, "preserve": 1, "absolute": 1}
POLICY_NAMES: dict[int, Policy] = {0: "reset", 1: "preserve"}

_HEAD = struct.Struct("<II")


class StateLog(Protocol):
    def error(self, msg: str) -> None: ...
    def verbose(self, msg: str) -> None: ...


def __getattr__(name: str) -> object:
    # PersistentClass (a dataclass) is imported once an entry is read or written
    if name == "PersistentClass":
        from engine.state._pclass import PersistentClass

        return PersistentClass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def encode(expires: int, policy: str, tags: Sequence[str]) -> bytes:
    code = POLICY_CODES.get(policy)
    if code is None:
        raise ValueError(f"unknown timer policy {policy!r} (reset, preserve or absolute)")
    return _HEAD.pack(expires & 0xFFFFFFFF, code) + ",".join(tags).encode() + b"\0"


def decode(key: bytes, value: bytes) -> PersistentClass | None:
    if len(value) < _HEAD.size:
        return None
    expires, code = _HEAD.unpack_from(value)
    text = value[_HEAD.size :].split(b"\0", 1)[0].decode("utf-8", "replace")
    name = key[:-1] if key.endswith(b"\0") else key
    from engine.state._pclass import PersistentClass

    return PersistentClass(
        name=name.decode("utf-8", "replace"),
        expires=expires,
        policy=POLICY_NAMES.get(code, "reset"),
        tags=tuple(t for t in text.split(",") if t),
    )


def _key(name: str) -> bytes:
    return name.encode("utf-8") + b"\0"


class PersistentClassDB:
    """The persistent class store of one workdir, open for writing."""

    def __init__(self, store: Store | None, log: StateLog | None = None,
                 path: str | os.PathLike[str] | None = None) -> None:
        self._store = store
        self._path = Path(path) if path is not None else store.path if store else Path()
        self.log = log
        self._open_error: str | None = None  # the lazy open failed: saves are not recorded
        self._unrecorded: list[str] = []

    @classmethod
    def open(cls, path: str | os.PathLike[str], log: StateLog | None = None) -> PersistentClassDB:
        from engine.state.lmdbstore import Store  # lmdb itself is loaded only here

        return cls(Store.open(path, log=log), log)

    @classmethod
    def open_when_written(cls, path: str | os.PathLike[str],
                          log: StateLog | None = None) -> PersistentClassDB:
        """:meth:`open`, except that a sound file holding no entry (which the pread
        check tells without mapping it) is opened only when a class is saved: most
        runs then never load LMDB for it. A missing or doubtful file is opened now."""
        health = lmdbcheck.check(path)
        if health.ok and health.exists and not health.suspicious and health.entries == 0:
            return cls(None, log, path)
        return cls.open(path, log)

    @property
    def store(self) -> Store:
        if self._store is None:
            from engine.state.lmdbstore import Store

            self._store = Store.open(self._path, log=self.log)
        return self._store

    @property
    def path(self) -> Path:
        return self._path

    def load(self, now: float | None = None) -> dict[str, PersistentClass]:
        """The classes still in force; expired entries are deleted on the way."""
        t = int(time.time() if now is None else now)
        live: dict[str, PersistentClass] = {}
        expired: list[bytes] = []
        if self._store is None:
            return live  # opened empty (open_when_written): nothing to load

        def scan(txn: lmdb.Transaction[bytes]) -> None:
            for k, v in txn.cursor():
                pc = decode(k, v)
                if pc is None or t > pc.expires:
                    expired.append(k)
                else:
                    live[pc.name] = pc

        self.store.read(scan)
        if expired:
            def purge(txn: lmdb.Transaction[bytes]) -> None:
                for k in expired:
                    raw = txn.get(k)
                    pc = decode(k, raw) if raw is not None else None
                    if raw is not None and (pc is None or t > pc.expires):
                        txn.delete(k)

            self.store.try_write(purge, "the removal of expired persistent classes", None)
        if self.log:  # the caller reports the live ones as it defines them
            for k in expired:
                self.log.verbose(f"Persistent class '{k.rstrip(bytes(1)).decode(errors='replace')}' expired")
        return live

    def save(
        self,
        name: str,
        minutes: int,
        policy: str = "reset",
        tags: Sequence[str] = (),
        now: float | None = None,
    ) -> PersistentClass:
        """Set ``name`` for ``minutes``. Under the preserve (absolute) policy an
        entry that has not expired keeps its expiry. Returns what is stored.

        A class that cannot be written (a full disk, a database that cannot be
        opened) is an error line, not an exception: the class is still defined
        for this run, and closing the database sums up what was not recorded."""
        t = int(time.time() if now is None else now)
        if policy not in POLICY_CODES:
            raise ValueError(f"unknown timer policy {policy!r} (reset, preserve or absolute)")
        key = _key(name)
        stored_policy: Policy = POLICY_NAMES[POLICY_CODES[policy]]
        from engine.state._pclass import PersistentClass

        wanted = PersistentClass(name, t + int(minutes) * 60, stored_policy, tuple(tags))
        what = f"persistent class '{name}'"
        if self._open_error is not None:
            self._unrecorded.append(what)
            return wanted
        try:
            store = self.store
        except Exception as exc:  # cannot open or create it: once an error, then counted
            self._open_error = str(exc)
            self._unrecorded.append(what)
            if self.log:
                self.log.error(f"Could not record {what} in '{self._path}': {exc}")
            return wanted

        def put(txn: lmdb.Transaction[bytes]) -> PersistentClass:
            if stored_policy == "preserve":
                raw = txn.get(key)
                old = decode(key, raw) if raw is not None else None
                if old is not None and old.policy == "preserve" and t <= old.expires:
                    if self.log:
                        left = (old.expires - t) // 60
                        self.log.verbose(
                            f"Persistent class '{name}' is already in a preserved state -- "
                            f"{left} minutes to go"
                        )
                    return old
            txn.put(key, encode(wanted.expires, wanted.policy, wanted.tags))
            return wanted

        return store.try_write(put, what, wanted)

    def delete(self, name: str) -> bool:
        return bool(self.store.write(lambda txn: txn.delete(_key(name))))

    def sync(self) -> None:
        if self._store is not None:
            self._store.sync()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if len(self._unrecorded) > 1 and self.log:  # the first one had its error line
            n = len(self._unrecorded)
            self.log.error(f"{n} persistent classes could not be recorded in '{self._path}' "
                           f"({self._open_error}): {', '.join(self._unrecorded[:5])}"
                           + (f" and {n - 5} more" if n > 5 else ""))
            self._unrecorded = []

    def __enter__(self) -> PersistentClassDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_all(path: str | os.PathLike[str]) -> list[PersistentClass]:
    """Every entry, expired ones included, read-only (for status views). Raises
    ``lmdbstore.Unreadable`` for a damaged file."""
    from engine.state.lmdbstore import reading

    with reading(path) as txn:
        if txn is None:
            return []
        out = []
        for k, v in txn.cursor():
            pc = decode(bytes(k), bytes(v))
            if pc is not None:
                out.append(pc)
        return out
