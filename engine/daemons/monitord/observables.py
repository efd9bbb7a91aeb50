"""What monitord measures, the classes it derives, and ``state/env_data``.

Sampling uses psutil for CPU, memory, disks and the process table (uids only:
no command lines) and reads ``/proc/net/{tcp,tcp6,udp,udp6}`` directly for
ports and connections, which stays cheap with thousands of sockets.

Classes follow the rule documented in docs/monitoring.md: the direction of the
last value against the long-term average gives ``<x>_high`` / ``<x>_low``
(``<x>_normal`` when equal); the distance, in standard deviations of the long
and recent averages combined, adds ``_normal`` (within one), ``_dev1``,
``_dev2`` and ``_anomaly`` (beyond one, two, three).

``env_data`` is cf-monitord's hand-off file: each observable contributes its
class lines, then ``value_X=``, ``av_X=`` and ``dev_X=`` lines. The policy's
scalar measurements follow with their ``value_``/``av_``/``dev_`` lines (no
classes), then its string measurements (``X=text``) and lists (``@X={'a','b'}``),
then the listening ports. The agent reads it with :func:`engine.state.envdata.read_env_data`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from engine.state.monitor import Measured, Stats
from engine.text import canonify

if TYPE_CHECKING:
    from engine.workdir import Workdir

# Well-known services whose connections are counted as <svc>_in / <svc>_out.
SERVICES: dict[str, int] = {
    "netbiosns": 137, "netbiosdgm": 138, "netbiosssn": 139, "irc": 194,
    "cfengine": 5308, "nfsd": 2049, "smtp": 25, "www": 80, "ftp": 21, "ssh": 22,
    "wwws": 443, "dns": 53, "microsoft_ds": 445, "www_alt": 8080, "imaps": 993,
    "ldap": 389, "ldaps": 636, "mongo": 27017, "mysql": 3306, "postgres": 5432,
    "ipp": 631,
}
_PORT_SERVICE = {port: name for name, port in SERVICES.items()}
_MB = 1024.0 * 1024.0
SQRT2 = math.sqrt(2.0)


@dataclass
class Ports:
    """Listening sockets by family, and local address per listening port."""

    tcp4: list[str] = field(default_factory=list)
    tcp6: list[str] = field(default_factory=list)
    udp4: list[str] = field(default_factory=list)
    udp6: list[str] = field(default_factory=list)
    tcp4_addr: dict[str, str] = field(default_factory=dict)
    tcp6_addr: dict[str, str] = field(default_factory=dict)

    @property
    def all(self) -> list[str]:
        return sorted({*self.tcp4, *self.tcp6, *self.udp4, *self.udp6}, key=int)


def _hex_ip4(h: str) -> str:
    b = bytes.fromhex(h)
    return ".".join(str(x) for x in reversed(b))


def _hex_ip6(h: str) -> str:
    """/proc/net/tcp6 prints the address as four host-order 32-bit words."""
    import ipaddress

    raw = b"".join(bytes.fromhex(h[i : i + 8])[::-1] for i in range(0, 32, 8))
    return str(ipaddress.IPv6Address(raw))


def _proc_net(kind: str) -> list[tuple[str, int, str, int, str]]:
    """Rows of /proc/net/<kind>: (local addr hex, local port, remote addr hex, remote port, state)."""
    rows = []
    try:
        with open(f"/proc/net/{kind}") as fh:
            next(fh, None)
            for line in fh:
                parts = line.split()
                if len(parts) < 4:
                    continue
                la, _, lp = parts[1].partition(":")
                ra, _, rp = parts[2].partition(":")
                rows.append((la, int(lp, 16), ra, int(rp, 16), parts[3]))
    except OSError:
        pass
    return rows


def sample_network() -> tuple[Ports, dict[str, float]]:
    ports = Ports()
    counts = {f"{svc}_{d}": 0.0 for svc in SERVICES for d in ("in", "out")}
    for kind, listening, target in (
        ("tcp", "0A", ports.tcp4), ("tcp6", "0A", ports.tcp6),
        ("udp", "07", ports.udp4), ("udp6", "07", ports.udp6),
    ):
        seen: set[int] = set()
        for la, lp, _ra, rp, st in _proc_net(kind):
            if st == listening and (kind.startswith("tcp") or rp == 0):
                if lp not in seen:
                    seen.add(lp)
                    target.append(str(lp))
                    if kind == "tcp":
                        ports.tcp4_addr[str(lp)] = _hex_ip4(la)
                    elif kind == "tcp6":
                        ports.tcp6_addr[str(lp)] = _hex_ip6(la)
            elif kind.startswith("tcp") and st == "01":  # ESTABLISHED
                if lp in _PORT_SERVICE:
                    counts[f"{_PORT_SERVICE[lp]}_in"] += 1
                elif rp in _PORT_SERVICE:
                    counts[f"{_PORT_SERVICE[rp]}_out"] += 1
        target.sort(key=int)
    return ports, counts


class Sampler:
    """Takes one sample of every observable; keeps the counters deltas need."""

    def __init__(self) -> None:
        psutil.cpu_percent(None)
        psutil.cpu_percent(None, percpu=True)
        self._io_prev = self._io_counters()
        self._io_t = time.monotonic()
        self.ports = Ports()

    @staticmethod
    def _io_counters() -> tuple[int, int, int, int] | None:
        try:
            c = psutil.disk_io_counters()
        except (OSError, RuntimeError):
            return None
        if c is None:
            return None
        return c.read_count, c.write_count, c.read_bytes, c.write_bytes

    def sample(self) -> dict[str, float]:
        v: dict[str, float] = {}
        v.update(self._processes())
        v["loadavg"] = os.getloadavg()[0]
        v["cpu"] = psutil.cpu_percent(None)
        for i, pct in enumerate(psutil.cpu_percent(None, percpu=True)):
            v[f"cpu{i}"] = pct
        v.update(self._disks())
        v.update(self._memory())
        v.update(self._io())
        self.ports, conns = sample_network()
        v.update(conns)
        return v

    @staticmethod
    def _processes() -> dict[str, float]:
        root = other = 0
        users: set[int] = set()
        for p in psutil.process_iter(["uids"]):
            uids = p.info.get("uids")
            if uids is None:
                continue
            users.add(uids.real)
            if uids.real == 0:
                root += 1
            else:
                other += 1
        return {"users": float(len(users)), "rootprocs": float(root), "otherprocs": float(other)}

    @staticmethod
    def _disks() -> dict[str, float]:
        out: dict[str, float] = {}
        try:
            parts = psutil.disk_partitions(all=False)
        except OSError:
            parts = []
        mounts = {"/"} | {p.mountpoint for p in parts}
        for m in sorted(mounts):
            try:
                u = psutil.disk_usage(m)
            except OSError:
                continue
            free = 100.0 - u.percent
            if m == "/":
                out["diskfree"] = free
            else:
                out[f"diskfree_{canonify(m.strip('/'))}"] = free
        return out

    @staticmethod
    def _memory() -> dict[str, float]:
        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
        return {
            "mem_total": vm.total / _MB,
            "mem_free": vm.available / _MB,
            "mem_cached": getattr(vm, "cached", 0) / _MB,
            "mem_swap": sw.total / _MB,
            "mem_freeswap": sw.free / _MB,
        }

    def _io(self) -> dict[str, float]:
        now_c = self._io_counters()
        now_t = time.monotonic()
        prev, self._io_prev, self._io_t = self._io_prev, now_c, now_t
        if prev is None or now_c is None:
            return {}
        d = [max(b - a, 0) for a, b in zip(prev, now_c, strict=True)]
        return {
            "io_reads": float(d[0]),
            "io_writes": float(d[1]),
            "io_readdata": d[2] / _MB,
            "io_writtendata": d[3] / _MB,
        }


def classes_for(name: str, st: Stats) -> list[str]:
    """The classes observable ``name`` defines given its statistics."""
    x = st.last
    delta = x - st.average
    if delta > 0:
        base = f"{name}_high"
    elif delta < 0:
        base = f"{name}_low"
    else:
        # On its average (e.g. a value that never moved): no class, as cf-monitord.
        return []
    ldelta = x - st.recent_average
    # Distance in standard deviations of both views; the +1 keeps a zero
    # variance (a value that never moved) from turning any change into infinity.
    dist = math.sqrt(
        delta * delta / (1.0 + st.variance) + ldelta * ldelta / (1.0 + st.recent_variance)
    )
    k = dist / SQRT2
    if k <= 1.0:
        return [f"{base}_normal"]
    out = [base, f"{base}_dev1"]
    if k > 2.0:
        out.append(f"{base}_dev2")
    if k > 3.0:
        out.append(f"{base}_anomaly")
    return out


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _fmt_value(x: float) -> str:
    """A scalar measurement's value: a whole number without decimals (``8``)."""
    return f"{x:.0f}" if x == int(x) else _fmt(x)


def render_env_data(stats: Mapping[str, Stats], ports: Ports,
                    measured: Mapping[str, Measured] | None = None) -> str:
    """The text of ``state/env_data``."""
    lines: list[str] = []
    for name, st in stats.items():
        lines.extend(classes_for(name, st))
        lines.append(f"value_{name}={_fmt(st.last)}")
        lines.append(f"av_{name}={_fmt(st.average)}")
        lines.append(f"dev_{name}={_fmt(st.deviation)}")
    for name, m in (measured or {}).items():
        if m.kind == "scalar":
            lines.append(f"value_{name}={_fmt_value(m.value)}")
            lines.append(f"av_{name}={_fmt(m.average)}")
            lines.append(f"dev_{name}={_fmt(m.deviation)}")
        elif isinstance(m.text, tuple):
            lines.append(f"@{name}=" + _slist(list(m.text)))
        elif m.kind == "string":
            lines.append(f"{name}={m.text}")
    lines.append("@listening_ports=" + _slist(ports.all))
    for fam in ("udp6", "udp4", "tcp6", "tcp4"):
        lines.append(f"@listening_{fam}_ports=" + _slist(getattr(ports, fam)))
    for fam in ("tcp6", "tcp4"):
        addrs = getattr(ports, f"{fam}_addr")
        for port, addr in sorted(addrs.items(), key=lambda kv: int(kv[0])):
            lines.append(f"{fam}_port_addr[{port}]={addr}")
    return "\n".join(lines) + "\n"


def _slist(items: list[str]) -> str:
    """cf-monitord writes lists as ``{'22','5308'}`` (an item holding ``'`` is
    written in double quotes, which :func:`read_env_data` reads too)."""
    return "{" + ",".join(f'"{i}"' if "'" in i else f"'{i}'" for i in items) + "}"


def write_env_data(path: Path, stats: Mapping[str, Stats], ports: Ports,
                   measured: Mapping[str, Measured] | None = None) -> None:
    from engine.atomicwrite import write_atomic
    from engine.workdir import make_dirs

    make_dirs(path.parent, 0o755)
    write_atomic(path, render_env_data(stats, ports, measured).encode(), 0o644)




@dataclass(frozen=True, slots=True)
class Observable:
    """One observable as the console and ``engine.inspect`` show it.

    ``kind`` is empty for a built-in observable; for a policy's measurement it is
    ``weekly``, ``scalar``, ``string`` or ``slist`` (then ``value`` is None and
    ``text`` holds the string, or the items joined by ``,``)."""

    name: str
    value: float | None
    average: float | None
    deviation: float | None
    classes: tuple[str, ...]
    t: float = 0.0
    samples: int = 0
    unit: str = ""
    description: str = ""
    kind: str = ""
    text: str = ""


def monitor_snapshot(wd: Workdir | str | os.PathLike[str]) -> list[Observable]:
    """Every observable in ``state/monitor.lmdb`` of workdir ``wd`` (a Workdir or a path),
    the policy's measurements included."""
    from engine.state.monitor import MonitorStore
    from engine.workdir import Workdir as _Workdir

    root = wd.root if isinstance(wd, _Workdir) else Path(wd)
    path = root / "state" / "monitor.lmdb"
    if not path.exists():
        return []
    try:
        store = MonitorStore(path, readonly=True)
        try:
            stats, measured = store.stats(), store.measures()
        finally:
            store.close()
    except Exception:  # noqa: BLE001 - a store being created or damaged reads as empty
        return []
    out = []
    for n, s in sorted(stats.items()):
        m = measured.get(n)
        meta = m if m is not None and m.kind == "weekly" else None
        out.append(Observable(
            n, s.last, s.average, s.deviation, tuple(classes_for(n, s)), s.t, s.n,
            meta.units if meta else "", meta.description if meta else "",
            "weekly" if meta else "",
        ))
    for n, m in sorted(measured.items()):
        if m.kind == "scalar":
            out.append(Observable(n, m.value, m.average, m.deviation, (), m.t, m.n, m.units,
                                  m.description, "scalar"))
        elif m.kind in ("string", "slist"):
            text = ",".join(m.text) if isinstance(m.text, tuple) else m.text
            out.append(Observable(n, None, None, None, (), m.t, m.n, m.units, m.description,
                                  m.kind, text))
    return out
