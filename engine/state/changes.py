"""The database of ``changes`` bodies: ``state/cf_changes.lmdb`` as cf-agent 3.21 keeps it.

One LMDB file, read and written in cf-agent's own layout so that either agent finds
what the other recorded:

* ``H\\0`` + the digest's name, NUL-padded to 8 bytes, + the path + ``\\0`` -> the
  digest, NUL-padded to 65 bytes (cf-agent's key starts ``H\\0``, not ``H_``);
* ``S_`` + the path + ``\\0`` -> the file's ``struct stat`` as the C library lays it
  out (:mod:`engine.state._cstat`);
* ``D_`` + a directory + ``\\0`` -> the names a depth search recorded in it, sorted
  bytewise, each NUL-terminated (no key when there are none).

The store is opened on first use and shared for the run (:class:`ChangesDB` is what
the files actuator keeps in its run state, closed at the end of the run).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.state import _cstat

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    import lmdb

    from engine.state.lmdbstore import ErrorLog, Store

FILE_NAME = "cf_changes.lmdb"
DIGEST_SIZE = 65  # EVP_MAX_MD_SIZE + 1
# every digest name cf-agent may have stored a file under (its traces go with the file)
HASH_NAMES = ("md5", "sha224", "sha256", "sha384", "sha512", "sha1", "sha", "best", "crypt")

StatRecord = _cstat.StatRecord


def _path_bytes(path: str) -> bytes:
    return os.fsencode(path)


def hash_key(kind: str, path: str) -> bytes:
    return b"H\0" + kind.encode().ljust(8, b"\0")[:8] + _path_bytes(path) + b"\0"


def stat_key(path: str) -> bytes:
    return b"S_" + _path_bytes(path) + b"\0"


def dir_key(path: str) -> bytes:
    return b"D_" + _path_bytes(path) + b"\0"


class ChangesDB:
    """Digests, stats and directory listings of watched files, for one run."""

    def __init__(self, path: str | os.PathLike[str], log: ErrorLog | None = None) -> None:
        self.path = Path(path)
        self.log = log
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The open store; ``OSError`` when it cannot be opened or created."""
        if self._store is None:
            import lmdb

            from engine.state.lmdbstore import Store  # lmdb itself is loaded only here

            try:
                self._store = Store.open(self.path, log=self.log)
            except lmdb.Error as e:
                raise OSError(f"Could not open changes database '{self.path}': {e}") from e
        return self._store

    def _get(self, key: bytes) -> bytes | None:
        import lmdb

        def get(txn: lmdb.Transaction[bytes]) -> bytes | None:
            v = txn.get(key)
            return bytes(v) if v is not None else None

        try:
            return self.store.read(get)
        except lmdb.Error as e:
            raise OSError(f"Could not read changes database '{self.path}': {e}") from e

    def _put(self, key: bytes, value: bytes, what: str) -> bool:
        return self.store.try_write(lambda txn: bool(txn.put(key, value)), what, False)

    # -- digests ------------------------------------------------------------------

    def digest(self, kind: str, path: str) -> bytes | None:
        """The digest stored for ``path`` under ``kind`` (NUL padding included)."""
        return self._get(hash_key(kind, path))

    def set_digest(self, kind: str, path: str, digest: bytes) -> bool:
        value = digest[:DIGEST_SIZE].ljust(DIGEST_SIZE, b"\0")
        return self._put(hash_key(kind, path), value, f"the {kind} digest of '{path}'")

    # -- stats --------------------------------------------------------------------

    def stat(self, path: str) -> StatRecord | None:
        raw = self._get(stat_key(path))
        return _cstat.unpack(raw) if raw is not None else None

    def set_stat(self, path: str, st: os.stat_result) -> bool:
        return self._put(stat_key(path), _cstat.pack(st), f"the stat information of '{path}'")

    def forget(self, path: str) -> None:
        """Every digest and the stats recorded for ``path`` (a file that went away)."""
        keys = [hash_key(k, path) for k in HASH_NAMES] + [stat_key(path)]

        def drop(txn: lmdb.Transaction[bytes]) -> None:
            for k in keys:
                txn.delete(k)

        self.store.try_write(drop, f"the removal of '{path}'", None)

    # -- directory listings -------------------------------------------------------

    def names(self, directory: str) -> list[str]:
        """The names recorded in ``directory``, sorted as cf-agent sorts them."""
        raw = self._get(dir_key(directory))
        if not raw:
            return []
        return [os.fsdecode(n) for n in raw.split(b"\0")[:-1]]

    def set_names(self, directory: str, names: list[str]) -> bool | None:
        """Record the names found in ``directory``: whether the record changed, None
        when it could not be written."""
        key = dir_key(directory)
        value = b"".join(os.fsencode(n) + b"\0" for n in sorted_names(names))

        def put(txn: lmdb.Transaction[bytes]) -> bool | None:
            old = txn.get(key)
            if not value:
                return bool(txn.delete(key))
            if old is not None and bytes(old) == value:
                return False
            txn.put(key, value)
            return True

        return self.store.try_write(put, f"the listing of '{directory}'", None)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def sorted_names(names: list[str]) -> list[str]:
    """``names`` in cf-agent's order (``strcmp``: bytewise)."""
    return sorted(names, key=os.fsencode)
