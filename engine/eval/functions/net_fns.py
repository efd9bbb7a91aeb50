"""Network functions: iprange, isipinsubnet, peers, peerleader, peerleaders,
host2ip, ip2host, hostrange."""

from __future__ import annotations

from engine.eval.functions._util import need_int, pcre
from engine.eval.functions.readers import read_text
from engine.eval.functions.registry import FnEnv, FunctionError, function

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def _network(spec: str) -> Any:
    """``a.b.c.d/n`` (host bits allowed) or a single address as an ``ipaddress``
    network; None for anything else (``a.b.c.d-e`` is handled by the caller)."""
    import ipaddress  # loaded by the first network function, not at start-up

    try:
        return ipaddress.ip_network(spec.strip(), strict=False)
    except ValueError:
        return None


def _in_range(spec: str, address: str) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        ip = ipaddress.ip_address("0.0.0.0")  # cf-agent reads text that is no address as 0.0.0.0
    net = _network(spec)
    if net is not None:
        return ip.version == net.version and ip in net
    head, dash, last = spec.rpartition("-")
    if dash and "." in head:  # 10.0.0.1-100: a range of the last octet
        base, _, first = head.rpartition(".")
        try:
            lo, hi = int(first), int(last)
            if ip.version != 4 or not str(ip).startswith(base + "."):
                return False
            return lo <= int(str(ip).rsplit(".", 1)[1]) <= hi
        except ValueError:
            return False
    return False


def _sys(env: FnEnv, name: str) -> Any:
    """``sys.<name>`` itself, not the element a promise iterating over it is at."""
    ctx = getattr(env, "ctx", None)
    return ctx.lookup(f"sys.{name}") if ctx is not None else env.get_var(f"sys.{name}")


def _local_addresses(env: FnEnv, interfaces: tuple[str, ...]) -> list[str]:
    """This host's addresses; with ``interfaces``, only those of the named ones."""
    if not interfaces:
        v = _sys(env, "ip_addresses")
        return list(v) if isinstance(v, list) else []
    out = []
    for name in interfaces:
        v = _sys(env, f"ipv4[{name}]")
        if isinstance(v, str) and v:
            out.append(v)
    return out


@function("iprange", "class", 1)
def iprange(env: FnEnv, spec: str, *interfaces: str) -> bool:
    """iprange(range, interface...): true when one of this host's addresses (on the
    given interfaces, when named) lies in ``range`` (CIDR or ``a.b.c.d-e``)."""
    return any(_in_range(spec, a) for a in _local_addresses(env, interfaces))


@function("isipinsubnet", "class", 1)
def isipinsubnet(env: FnEnv, spec: str, *addresses: str) -> bool:
    """isipinsubnet(range, ip...): true when one of the addresses lies in ``range``."""
    return any(_in_range(spec, a) for a in addresses)


# -- peers: the host list in a file, cut into groups of ``groupsize``


def _hosts(path: str, comment: str) -> list[str]:
    text = read_text(path, 0, "peers")
    if comment:
        text = pcre("(?m)" + comment).sub("", text)
    # cf-agent keeps the blanks a removed comment leaves ("beta # x" is "beta ")
    return [line for line in text.split("\n") if line.strip()]


def _groups(env: FnEnv, fn: str, path: str, comment: str, size: str) -> tuple[list[list[str]], int]:
    """(groups with this host shown as ``localhost``, index of this host's group or -1)."""
    n = need_int(fn, size)
    if not 2 <= n <= 64:
        raise FunctionError(f"Function '{fn}': group size {size} must be between 2 and 64",
                            quiet=True)
    me = {str(env.get_var(v)) for v in ("sys.fqhost", "sys.uqhost") if env.get_var(v)}
    hosts = ["localhost" if h in me else h for h in _hosts(path, comment)]
    groups = [hosts[i : i + n] for i in range(0, len(hosts), n)]
    mine = next((i for i, g in enumerate(groups) if "localhost" in g), -1)
    return groups, mine


@function("peers", "slist", 3, 3)
def peers(env: FnEnv, path: str, comment: str, size: str) -> list[str]:
    """peers(filename, comment_regex, groupsize): the other hosts of this host's group."""
    groups, mine = _groups(env, "peers", path, comment, size)
    return [] if mine < 0 else [h for h in groups[mine] if h != "localhost"]


@function("peerleader", "string", 3, 3)
def peerleader(env: FnEnv, path: str, comment: str, size: str) -> str:
    """peerleader(filename, comment_regex, groupsize): the first host of this host's
    group (``localhost`` when it is this host); fails when this host is not listed."""
    groups, mine = _groups(env, "peerleader", path, comment, size)
    if mine < 0:
        raise FunctionError("Function 'peerleader': this host is not in the list", quiet=True)
    return groups[mine][0]


@function("peerleaders", "slist", 3, 3)
def peerleaders(env: FnEnv, path: str, comment: str, size: str) -> list[str]:
    """peerleaders(filename, comment_regex, groupsize): the first host of every group."""
    groups, _ = _groups(env, "peerleaders", path, comment, size)
    return [g[0] for g in groups]


@function("host2ip", "string", 1, 1)
def host2ip(env: FnEnv, name: str) -> str:
    """host2ip(hostname): the host's first address; the name itself when it does not
    resolve (as cf-agent 3.21 answers)."""
    import socket

    try:
        return str(socket.getaddrinfo(name, None)[0][4][0])
    except (OSError, UnicodeError):
        return name


@function("ip2host", "string", 1, 1)
def ip2host(env: FnEnv, address: str) -> str:
    """ip2host(ip): the address's host name, or the address itself when it has none;
    when ``ip`` is not an address, an error, and still ``ip`` (as cf-agent 3.21 does)."""
    import socket

    try:
        info = socket.getaddrinfo(address, None, flags=socket.AI_NUMERICHOST)[0][4]
    except (OSError, UnicodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        env.log.error(f"Unable to convert IP address '{address}'. (getaddrinfo: {reason})")
        return address
    try:
        return socket.getnameinfo(info, socket.NI_NAMEREQD)[0]
    except (OSError, UnicodeError):
        return address


@function("hostrange", "class", 2, 2)
def hostrange(env: FnEnv, prefix: str, span: str) -> bool:
    """hostrange(prefix, range): true when this host's short name is ``prefix`` followed
    by a number in ``range`` (``"1-32"``)."""
    host = str(env.get_var("sys.uqhost") or "")
    if not host.startswith(prefix):
        return False
    rest = host[len(prefix):]
    lo, _, hi = span.partition("-")
    try:
        return rest.isdigit() and int(lo) <= int(rest) <= int(hi)
    except ValueError:
        return False


