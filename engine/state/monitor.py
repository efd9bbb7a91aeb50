"""``state/monitor.lmdb``: monitord's running averages and recent history.

One single-file LMDB environment with two named databases:

- ``stats``: observable name -> ``<ddddddQ`` (last value, long-term average,
  long-term variance, recent average, recent variance, time of the last
  sample, number of samples).
- ``history``: ``name \\0 <big-endian u64 epoch>`` -> ``<d`` value; the newest
  :data:`HISTORY_KEEP` samples of each observable, for the console's graphs.
- ``measures``: handle -> JSON, what the policy's ``measurements:`` promises gave
  (:class:`Measured`): a weekly one's units and description (its numbers are in
  ``stats``), a scalar one's last value with its average and variance, a string or
  list one's text.
- ``positions``: ``handle \\0 path`` -> ``<q`` offset, where a ``track_growing_file``
  measurement stopped reading.

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
from typing import Any

import lmdb

from engine.workdir import make_dirs

_STATS = struct.Struct("<ddddddQ")
_HVAL = struct.Struct("<d")
_TS = struct.Struct(">Q")
_POS = struct.Struct("<q")
MAP_SIZE = 256 << 20
HISTORY_KEEP = 240
LONG_WEIGHT = 0.01
DEFAULT_FORGETRATE = 0.6
#: weight of a new value in a scalar measurement's average, as cf-monitord's
#: named events (``expect = w*x + (1-w)*expect``, the variance likewise)
SCALAR_WEIGHT = 0.7


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
            str(path), subdir=False, map_size=MAP_SIZE, max_dbs=4, readonly=readonly,
            create=not readonly, mode=0o600,
        )
        self.stats_db = self.env.open_db(b"stats", create=not readonly)
        self.history_db = self.env.open_db(b"history", create=not readonly)
        self._measures_db: Any = None
        self._positions_db: Any = None

    def _db(self, name: bytes) -> Any:
        """A database added after the first two: a read-only store made before it
        existed has none (None)."""
        attr = f"_{name.decode()}_db"
        db = getattr(self, attr)
        if db is None:
            readonly = self.env.flags().get("readonly", False)
            try:
                db = self.env.open_db(name, create=not readonly)
            except lmdb.NotFoundError:
                return None
            setattr(self, attr, db)
        return db

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


    # -- measurements ------------------------------------------------------------------

    def measures(self) -> dict[str, Measured]:
        db = self._db(b"measures")
        if db is None:
            return {}
        out: dict[str, Measured] = {}
        with self.env.begin(db=db) as tx:
            for k, v in tx.cursor():
                m = Measured.from_json(bytes(v))
                if m is not None:
                    out[bytes(k).decode("utf-8", "replace")] = m
        return out

    def update_measures(self, t: float, weekly: Mapping[str, Measured],
                        scalars: Mapping[str, tuple[float, str, str]],
                        symbols: Mapping[str, Measured]) -> dict[str, Measured]:
        """Record one sample of the policy's measurements; every handle not given is
        dropped, so the store holds what the current policy measures. ``scalars``
        maps a handle to (value, units, description); its average is updated here."""
        db = self._db(b"measures")
        out: dict[str, Measured] = {}
        with self.env.begin(write=True, db=db) as tx:
            for name, (x, units, desc) in scalars.items():
                raw = tx.get(name.encode())
                prev = Measured.from_json(raw) if raw else None
                out[name] = scalar_updated(prev, x, t, units, desc)
            out.update(weekly)
            out.update(symbols)
            stale = [k for k in tx.cursor().iternext(values=False)
                     if bytes(k).decode("utf-8", "replace") not in out]
            for k in stale:
                tx.delete(k)
            for name, m in out.items():
                tx.put(name.encode(), m.to_json())
        return out

    def position(self, handle: str, path: str) -> int:
        """Where a ``track_growing_file`` measurement stopped reading ``path`` (0: never)."""
        db = self._db(b"positions")
        if db is None:
            return 0
        with self.env.begin(db=db) as tx:
            raw = tx.get(_poskey(handle, path))
        return _POS.unpack(raw)[0] if raw and len(raw) == _POS.size else 0

    def set_position(self, handle: str, path: str, offset: int) -> None:
        db = self._db(b"positions")
        with self.env.begin(write=True, db=db) as tx:
            tx.put(_poskey(handle, path), _POS.pack(offset))


def _poskey(handle: str, path: str) -> bytes:
    return handle.encode() + b"\0" + path.encode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class Measured:
    """What one ``measurements:`` promise gave.

    ``kind`` is ``weekly`` (a time series: the numbers live in ``stats`` under the
    handle), ``scalar`` (``value``, ``average``, ``variance`` here), ``string`` or
    ``slist`` (``text``: the string, or the items)."""

    kind: str
    units: str = ""
    description: str = ""
    value: float = 0.0
    average: float = 0.0
    variance: float = 0.0
    text: str | tuple[str, ...] = ""
    t: float = 0.0
    n: int = 0

    @property
    def deviation(self) -> float:
        return math.sqrt(max(self.variance, 0.0))

    def to_json(self) -> bytes:
        import json

        d = {k: getattr(self, k) for k in self.__slots__}
        if isinstance(self.text, tuple):
            d["text"] = list(self.text)
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Measured | None:
        """None for a record this version cannot read."""
        import json

        try:
            d = json.loads(raw)
            text = d.get("text", "")
            return cls(
                str(d["kind"]), str(d.get("units", "")), str(d.get("description", "")),
                float(d.get("value", 0.0)), float(d.get("average", 0.0)),
                float(d.get("variance", 0.0)),
                tuple(str(x) for x in text) if isinstance(text, list) else str(text),
                float(d.get("t", 0.0)), int(d.get("n", 0)),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def scalar_updated(prev: Measured | None, x: float, t: float, units: str = "",
                   description: str = "") -> Measured:
    """A scalar measurement after one more value ``x`` (see :data:`SCALAR_WEIGHT`)."""
    if prev is None or prev.kind != "scalar" or prev.n == 0:
        return Measured("scalar", units, description, x, x, 0.0, "", t, 1)
    w = SCALAR_WEIGHT
    d = x - prev.average
    return Measured("scalar", units, description, x, w * x + (1 - w) * prev.average,
                    w * d * d + (1 - w) * prev.variance, "", t, prev.n + 1)


def read_stats(path: Path) -> dict[str, Stats]:
    """Read-only snapshot of the stats; empty when the store does not exist yet."""
    if not path.exists():
        return {}
    store = MonitorStore(path, readonly=True)
    try:
        return store.stats()
    finally:
        store.close()


def read_measures(path: Path) -> dict[str, Measured]:
    """Read-only snapshot of the measurements; empty when the store does not exist yet."""
    if not path.exists():
        return {}
    store = MonitorStore(path, readonly=True)
    try:
        return store.measures()
    finally:
        store.close()
