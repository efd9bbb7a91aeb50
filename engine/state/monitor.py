"""``state/monitor.lmdb``: monitord's running averages and recent history.

One single-file LMDB environment with two named databases:

- ``stats``: observable name -> ``<ddddddQ`` (last value, long-term average,
  long-term variance, recent average, recent variance, time of the last
  sample, number of samples).
- ``history``: ``name \\0 <big-endian u64 epoch>`` -> ``<d`` value; the newest
  :data:`HISTORY_KEEP` samples of each observable, for the console's graphs.

Averages are exponentially weighted. Each sample ``x`` moves an average ``m``
and variance ``v`` with weight ``a``: ``d = x - m; m += a*d;
v = (1 - a) * (v + a*d*d)``. The weight is ``1/n`` for the first samples (a
plain mean) and never drops below :data:`LONG_WEIGHT` (long-term, about the
last hundred samples) or ``forgetrate`` (recent, the last few samples), so old
behaviour is slowly forgotten.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import lmdb

from engine.workdir import make_dirs

_STATS = struct.Struct("<ddddddQ")
_HVAL = struct.Struct("<d")
_TS = struct.Struct(">Q")
MAP_SIZE = 256 << 20
HISTORY_KEEP = 240
LONG_WEIGHT = 0.01
DEFAULT_FORGETRATE = 0.6


@dataclass(frozen=True, slots=True)
class Stats:
    last: float
    average: float
    variance: float
    recent_average: float
    recent_variance: float
    t: float
    n: int

    @property
    def deviation(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    @property
    def recent_deviation(self) -> float:
        return math.sqrt(max(self.recent_variance, 0.0))

    def pack(self) -> bytes:
        return _STATS.pack(
            self.last, self.average, self.variance, self.recent_average,
            self.recent_variance, self.t, self.n,
        )

    @classmethod
    def unpack(cls, data: bytes) -> Stats:
        return cls(*_STATS.unpack(data))


def _step(mean: float, var: float, x: float, weight: float) -> tuple[float, float]:
    d = x - mean
    mean += weight * d
    var = (1.0 - weight) * (var + weight * d * d)
    return mean, var


def updated(prev: Stats | None, x: float, t: float, forgetrate: float = DEFAULT_FORGETRATE) -> Stats:
    """The statistics after one more sample ``x`` at time ``t``."""
    if prev is None:
        return Stats(x, x, 0.0, x, 0.0, t, 1)
    n = prev.n + 1
    av, var = _step(prev.average, prev.variance, x, max(1.0 / n, LONG_WEIGHT))
    rav, rvar = _step(prev.recent_average, prev.recent_variance, x, max(1.0 / n, forgetrate))
    return Stats(x, av, var, rav, rvar, t, n)


def _hkey(name: str, t: float) -> bytes:
    return name.encode() + b"\0" + _TS.pack(int(t))


class MonitorStore:
    """The store, opened once per process (LMDB forbids opening it twice)."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if not readonly:
            make_dirs(path.parent, 0o700)
        self.env = lmdb.open(
            str(path), subdir=False, map_size=MAP_SIZE, max_dbs=2, readonly=readonly,
            create=not readonly, mode=0o600,
        )
        self.stats_db = self.env.open_db(b"stats", create=not readonly)
        self.history_db = self.env.open_db(b"history", create=not readonly)

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> MonitorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, Stats]:
        with self.env.begin(db=self.stats_db) as tx:
            return {k.decode(): Stats.unpack(v) for k, v in tx.cursor()}

    def update(
        self, t: float, values: Mapping[str, float], forgetrate: float = DEFAULT_FORGETRATE
    ) -> dict[str, Stats]:
        """Fold one sample of every observable in, in a single write transaction."""
        out: dict[str, Stats] = {}
        with self.env.begin(write=True) as tx:
            for name, x in values.items():
                key = name.encode()
                raw = tx.get(key, db=self.stats_db)
                st = updated(Stats.unpack(raw) if raw else None, float(x), t, forgetrate)
                tx.put(key, st.pack(), db=self.stats_db)
                tx.put(_hkey(name, t), _HVAL.pack(float(x)), db=self.history_db)
                if st.n > HISTORY_KEEP:
                    self._trim(tx, name)
                out[name] = st
        return out

    def _trim(self, tx: lmdb.Transaction[bytes], name: str) -> None:
        """Drop the oldest history entries of ``name`` beyond HISTORY_KEEP."""
        prefix = name.encode() + b"\0"
        cur = tx.cursor(db=self.history_db)
        keys: list[bytes] = []
        if cur.set_range(prefix):
            for k in cur.iternext(values=False):
                if not k.startswith(prefix):
                    break
                keys.append(k)
        for k in keys[: max(len(keys) - HISTORY_KEEP, 0)]:
            tx.delete(k, db=self.history_db)

    def history(self, name: str, limit: int = HISTORY_KEEP) -> list[tuple[float, float]]:
        prefix = name.encode() + b"\0"
        rows: list[tuple[float, float]] = []
        with self.env.begin(db=self.history_db) as tx:
            cur = tx.cursor()
            if cur.set_range(prefix):
                for k, v in cur:
                    if not k.startswith(prefix):
                        break
                    rows.append((float(_TS.unpack(k[len(prefix) :])[0]), _HVAL.unpack(v)[0]))
        return rows[-limit:]


def read_stats(path: Path) -> dict[str, Stats]:
    """Read-only snapshot of the stats; empty when the store does not exist yet."""
    if not path.exists():
        return {}
    store = MonitorStore(path, readonly=True)
    try:
        return store.stats()
    finally:
        store.close()
