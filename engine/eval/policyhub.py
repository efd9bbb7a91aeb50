"""What a bootstrapped workdir says about its hub, as cf-agent reads it at start.

* ``policy_server.dat`` holds what ``--bootstrap`` was given (``host``, ``host:port``,
  ``[v6]:port``): ``sys.policy_hub`` is its address (a name is resolved) and
  ``sys.policy_hub_port`` its port (5308 when none was named);
* ``state/am_policy_hub`` marks the hub itself: classes ``am_policy_hub`` and
  ``policy_server``.

Written by :mod:`engine.bootstrap`.
"""

from __future__ import annotations

from pathlib import Path

POLICY_SERVER_FILE = "policy_server.dat"
AM_POLICY_HUB = "am_policy_hub"  # under state/
DEFAULT_PORT = "5308"
MAX_LEN = 63  # cf-agent reads at most 63 characters of the file


def split_host_port(text: str) -> tuple[str, str | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address ->
    (host, port or None). Raises ValueError for what is none of those."""
    text = text.strip()
    if not text:
        raise ValueError("empty address")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not host or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address '{text}'")
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, None  # a name, an IPv4 address, or a bare IPv6 address
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"bad port '{port}' in '{text}'")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"bad host in '{text}'")
    return host, port


def resolve(host: str) -> str | None:
    """The address of ``host`` (itself when it is one), None when it does not resolve."""
    import ipaddress  # only a bootstrapped host pays for these at start
    import socket

    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for family in (socket.AF_INET, socket.AF_INET6):  # IPv4 first, as cf-agent
        for fam, _t, _p, _c, addr in infos:
            if fam == family:
                return str(addr[0])
    return None


def read_policy_server(workdir: str | Path) -> str | None:
    """The content of ``policy_server.dat`` (its first word), None when absent or empty."""
    try:
        words = (Path(workdir) / POLICY_SERVER_FILE).read_text(errors="replace").split()
    except OSError:
        return None
    return words[0][:MAX_LEN] if words else None


def hub_context(workdir: str | Path) -> tuple[set[str], dict[str, object], str | None]:
    """Classes, ``sys`` variables and an error (or None) from the workdir's bootstrap files."""
    classes: set[str] = set()
    variables: dict[str, object] = {}
    error = None
    if (Path(workdir) / "state" / AM_POLICY_HUB).exists():
        classes |= {"am_policy_hub", "policy_server"}
    server = read_policy_server(workdir)
    if server is None:
        return classes, variables, None
    try:
        host, port = split_host_port(server)
    except ValueError as exc:
        return classes, variables, f"Cannot read '{Path(workdir) / POLICY_SERVER_FILE}': {exc}"
    variables["policy_hub_port"] = port or DEFAULT_PORT
    address = resolve(host)
    if address is None:
        error = f"Unable to resolve policy server host: {host}"
    else:
        variables["policy_hub"] = address
    return classes, variables, error
