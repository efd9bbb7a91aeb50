"""Network hard classes and ``sys.*`` variables, as cf-agent 3.21 reports them on Linux.

What cf-agent learns from ``SIOCGIFCONF`` (interfaces with an IPv4 address) we learn
from ``if_nameindex`` and ``SIOCGIFADDR``/``SIOCGIFFLAGS``/``SIOCGIFHWADDR``; what it
learns by running ``/sbin/ifconfig -a`` (IPv6 addresses, MAC addresses of interfaces
without IPv4) we take from ``/proc/net/if_inet6`` and the same ioctls instead, which
cost no process. ``sys.inet``, ``sys.inet6`` and ``sys.interfaces_data`` are parsed from
``/proc/net/*`` in the shapes CFEngine documents (including its quirks, noted below).
Every file is read once; a missing one simply leaves its variables out.
"""

from __future__ import annotations

import _socket as socket
import os
import sys

from engine.eval.values import Data
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_SIOCGIFHWADDR = 0x8927
_IFF_UP, _IFF_LOOPBACK = 0x1, 0x8
# Interface flags in the order cf-agent lists them in sys.interface_flags.
_FLAG_NAMES = (
    (0x1, "up"), (0x2, "broadcast"), (0x4, "debug"), (0x8, "loopback"),
    (0x10, "pointopoint"), (0x20, "notrailers"), (0x40, "running"), (0x80, "noarp"),
    (0x100, "promisc"), (0x200, "allmulti"), (0x1000, "multicast"),
)
_RTF_UP, _RTF_GATEWAY, _RTF_HOST = 0x1, 0x2, 0x4
_ARPHRD_ETHER = 1
# /proc/net/dev columns; cf-agent names the transmit side's with the receive side's names.
_ZERO6 = "0:0:0:0:0:0:0:0"
_DEV_FIELDS = ("bytes", "packets", "errors", "drop", "fifo", "frame", "compressed", "multicast")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _flags_text(flags: int) -> str:
    return " ".join(name for bit, name in _FLAG_NAMES if flags & bit)


def _hex_ipv4(field: str) -> str:
    """``/proc/net/route`` prints addresses as the host-order integer in hex."""
    return socket.inet_ntoa(int(field, 16).to_bytes(4, sys.byteorder))


def _ipv6_groups(hex32: str) -> str:
    """cf-agent's uncompressed form: eight groups in lower-case hex without leading zeros."""
    return ":".join(f"{int(hex32[i:i + 4], 16):x}" for i in range(0, 32, 4))


def _interfaces() -> tuple[list[tuple[str, str, int, str | None]], list[tuple[str, str]]]:
    """Interfaces with an IPv4 address as (name, address, flags, MAC or None), and
    (name, MAC) of every Ethernet interface in ``ifconfig -a``'s (name) order."""
    import fcntl

    with_ipv4: list[tuple[str, str, int, str | None]] = []
    ether: list[tuple[str, str]] = []
    try:
        names = [n for _, n in socket.if_nameindex()]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return with_ipv4, ether
    fd = s.fileno()
    try:
        for name in names:
            req = name.encode()[:15].ljust(40, b"\0")
            try:
                hw = fcntl.ioctl(fd, _SIOCGIFHWADDR, req)
                flags = int.from_bytes(fcntl.ioctl(fd, _SIOCGIFFLAGS, req)[16:18], sys.byteorder)
            except OSError:
                continue
            mac = None
            if int.from_bytes(hw[16:18], sys.byteorder) == _ARPHRD_ETHER:
                mac = ":".join(f"{b:02x}" for b in hw[18:24])
                ether.append((name, mac))
            try:
                addr = socket.inet_ntoa(fcntl.ioctl(fd, _SIOCGIFADDR, req)[20:24])
            except OSError:
                continue
            if not flags & _IFF_LOOPBACK and mac is None:
                mac = ":".join(f"{b:02x}" for b in hw[18:24])
            with_ipv4.append((name, addr, flags, mac))
    finally:
        s.close()
    ether.sort()
    return with_ipv4, ether


def _inet6_lines() -> list[list[str]]:
    text = _read("/proc/net/if_inet6") or ""
    return [parts for parts in (line.split() for line in text.splitlines()) if len(parts) >= 6]


def _default_gateway() -> str | None:
    """The gateway of the first default route (cf-agent's ``ipv4_gw_`` class)."""
    for line in (_read("/proc/net/route") or "").splitlines()[1:]:
        f = line.split()
        if len(f) >= 4 and f[1] == "00000000" and int(f[3], 16) & _RTF_GATEWAY:
            try:
                return _hex_ipv4(f[2])
            except (ValueError, OSError):
                return None
    return None


def _inet() -> dict[str, Any]:
    inet: dict[str, Any] = {}
    text = _read("/proc/net/route") or ""
    routes: list[dict[str, Any]] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 11:
            continue
        try:
            dest, gateway, mask = _hex_ipv4(f[1]), _hex_ipv4(f[2]), _hex_ipv4(f[7])
            flags = int(f[3], 16)
            refcnt, use, metric, mtu, window, irtt = (int(x) for x in (f[4], f[5], f[6], f[8], f[9], f[10]))
        except (ValueError, OSError):
            continue
        is_default = dest == "0.0.0.0"
        route = {
            "active_default_gateway": False,
            "dest": dest,
            "flags": [
                "up" if flags & _RTF_UP else "down",
                "host" if flags & _RTF_HOST else "net",
                "default" if is_default else "not_default",
                "gateway" if flags & _RTF_GATEWAY else "local",
            ],
            "gateway": gateway, "interface": f[0], "irtt": irtt, "mask": mask, "metric": metric,
            "mtu": mtu, "refcnt": refcnt, "use": use, "window": window,
        }
        if is_default and flags & _RTF_GATEWAY and "default_route" not in inet:
            route["active_default_gateway"] = True
            inet["default_gateway"] = gateway
            inet["default_route"] = route
        routes.append(route)
    inet["routes"] = routes
    stats: dict[str, dict[str, str]] = {}
    lines = (_read("/proc/net/netstat") or "").splitlines()
    for head, values in zip(lines[::2], lines[1::2], strict=False):
        section, _, names = head.partition(":")
        stats[section] = dict(zip(names.split(), values.partition(":")[2].split(), strict=False))
    inet["stats"] = stats
    return inet


def _inet6(lines: list[list[str]]) -> dict[str, Any]:
    addresses: dict[str, Any] = {}
    for hex_addr, dev, plen, scope, raw_flags, iface in (p[:6] for p in lines):
        addresses[iface] = {  # the last address of an interface is the one reported
            "address": _ipv6_groups(hex_addr), "device_number": int(dev, 16), "interface": iface,
            "prefix_length": int(plen, 16), "raw_flags": raw_flags, "scope": int(scope, 16),
        }
    routes: list[dict[str, Any]] = []
    for line in (_read("/proc/net/ipv6_route") or "").splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        flags, metric = int(f[8], 16), int(f[5], 16)
        routes.append({
            # cf-agent 3.21 reports every destination as all zeros (its documentation shows
            # the same) and the prefix lengths as the file's hex text; we report the same.
            "dest": _ZERO6, "dest_prefix": f[1],
            "flags": ["up" if flags & _RTF_UP else "down", "host" if flags & _RTF_HOST else "net",
                      "gateway" if flags & _RTF_GATEWAY else "local"],
            "interface": f[9], "metric": metric - (1 << 32) if metric >= 1 << 31 else metric,
            "next_hop": _ipv6_groups(f[4]) if f[4].strip("0") else _ZERO6, "refcnt": int(f[6], 16), "source_prefix": f[3],
            "use": int(f[7], 16),
        })
    stats: dict[str, int] = {}
    for line in (_read("/proc/net/snmp6") or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return {"addresses": addresses, "routes": routes, "stats": stats}


def _interfaces_data() -> dict[str, Any]:
    text = _read("/proc/net/dev") or ""
    out: dict[str, Any] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        values = rest.split()
        if not sep or len(values) < 16:
            continue
        name = name.strip()
        entry = {"device": name}
        entry.update({f"receive_{k}": v for k, v in zip(_DEV_FIELDS, values[:8], strict=True)})
        entry.update({f"transmit_{k}": v for k, v in zip(_DEV_FIELDS, values[8:16], strict=True)})
        out[name] = entry
    return out


class LazyData(Data):
    """A data container read on first use: ``sys.inet``, ``sys.inet6`` and
    ``sys.interfaces_data`` cost half a millisecond to parse and few policies read them.

    Equal to a ``Data`` of the same value; copies and pickles are plain ``Data``.
    """

    __slots__ = ("_load", "_value")
    _load: Callable[[], Any]
    _value: Any

    def __init__(self, load: Callable[[], Any]) -> None:
        object.__setattr__(self, "_load", load)

    @property
    def value(self) -> Any:
        try:
            return self._value
        except AttributeError:
            loaded = self._load()
            object.__setattr__(self, "_value", loaded)
            return loaded

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Data) and self.value == other.value

    __hash__ = Data.__hash__

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (Data, (self.value,))


def discover_network(classes: set[str], sys_vars: dict[str, object]) -> None:
    """Add the network classes to ``classes`` and the network variables to ``sys_vars``."""
    ips: list[str] = []
    interfaces: list[str] = []
    hardware: list[str] = []
    hw_flags: list[str] = []
    main_ipv4 = None
    last_iface = None
    with_ipv4, ether = _interfaces()
    for name, ip, flags, mac in with_ipv4:
        last_iface = name
        cname = canonify(name)
        classes.add(f"net_iface_{cname}")
        text = _flags_text(flags)
        if text:
            sys_vars[f"interface_flags[{name}]"] = text
            hw_flags.append(text)
        if flags & _IFF_UP:
            parts = ip.split(".")
            classes.add(canonify(ip))
            classes.update("ipv4_" + "_".join(parts[:i]) for i in range(1, 5))
            if main_ipv4 is None and not flags & _IFF_LOOPBACK:
                main_ipv4 = ip
            ips.append(ip)
            sys_vars[f"ipv4[{cname}]"] = ip
            for i in (1, 2, 3):
                sys_vars[f"ipv4_{i}[{cname}]"] = ".".join(parts[:i])
            sys_vars[f"ip2iface[{ip}]"] = cname
        if mac is not None:
            sys_vars[f"hardware_mac[{cname}]"] = mac
            hardware.append(mac)
            interfaces.append(name)
            classes.add("mac_" + canonify(mac))
    for name, mac in ether:  # cf-agent's ifconfig pass: no class, not in interfaces
        key = f"hardware_mac[{canonify(name)}]"
        if key not in sys_vars:
            sys_vars[key] = mac
            hardware.append(mac)
    inet6_lines = _inet6_lines()
    for parts in sorted(inet6_lines, key=lambda p: p[5]):  # ifconfig -a lists by name
        try:
            addr = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(parts[0]))
        except (ValueError, OSError):
            continue
        if addr != "::1":
            ips.append(addr)
            classes.add(canonify(addr))
            classes.add("ipv6_" + canonify(addr))
    if last_iface is not None:
        sys_vars["interface"] = last_iface
    if main_ipv4 is not None:
        sys_vars["ipv4"] = main_ipv4
    for var, value in (("interfaces", interfaces), ("hardware_addresses", hardware),
                       ("hardware_flags", hw_flags), ("ip_addresses", ips)):
        if value:
            sys_vars[var] = value
    gateway = _default_gateway()
    if gateway is not None:
        classes.add("ipv4_gw_" + canonify(gateway))
    if os.path.exists("/proc/net/route"):
        sys_vars["inet"] = LazyData(_inet)
    if inet6_lines:
        sys_vars["inet6"] = LazyData(lambda: _inet6(inet6_lines))
    if os.path.exists("/proc/net/dev"):
        sys_vars["interfaces_data"] = LazyData(_interfaces_data)
