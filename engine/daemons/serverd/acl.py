"""Access decisions: who may connect, which paths a client may read, who may run.

Addresses match IPs, CIDR networks, or (for compatibility) anchored regular
expressions. Paths are confined in two steps: the requested path must be
absolute, free of ``..`` and NUL, and its *resolved* form (every symlink
followed) must lie under the resolved root of the most specific ``access:``
promise that admits the client; then the file is opened with ``O_NOFOLLOW`` and
the kernel's name for the open descriptor is checked again, so a symlink swapped
in between the check and the open cannot lead outside the root.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from engine.daemons.serverd.config import AccessRule, RoleRule, ServerConfig


class Denied(Exception):
    """A request refused; the message is safe to send to the client."""


@dataclass(frozen=True, slots=True)
class ClientId:
    address: str
    fingerprint: str
    user: str
    hostname: str | None = None  # reverse DNS, only looked up when rules need it


def normalize_address(address: str) -> str:
    """``::ffff:10.0.0.1`` -> ``10.0.0.1``; strips an IPv6 zone."""
    address = address.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


@lru_cache(maxsize=512)
def _entry_matcher(entry: str) -> tuple[str, object]:
    try:
        return "net", ipaddress.ip_network(entry, strict=False)
    except ValueError:
        pass
    try:
        return "re", re.compile(entry)
    except re.error:
        return "eq", entry


def address_matches(entries: Iterable[str], address: str) -> bool:
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    for entry in entries:
        kind, m = _entry_matcher(entry)
        if kind == "net":
            if ip is not None and ip.version == m.version and ip in m:  # type: ignore[attr-defined,operator]
                return True
        elif kind == "re":
            if m.fullmatch(address):  # type: ignore[attr-defined]
                return True
        elif entry == address:
            return True
    return False


def hostname_matches(entries: Iterable[str], hostname: str | None) -> bool:
    if not hostname:
        return False
    host = hostname.lower().rstrip(".")
    for entry in entries:
        e = entry.lower()
        if e.startswith("."):
            if host.endswith(e):
                return True
        elif e == host:
            return True
        else:
            with contextlib.suppress(re.error):
                if re.fullmatch(entry, hostname, re.IGNORECASE):
                    return True
    return False


def rule_admits(rule: AccessRule, client: ClientId) -> bool:
    """deny_* first (an unresolvable name is denied when deny_hostnames is set),
    then any admit_*; by default nothing is admitted."""
    if address_matches(rule.deny_ips, client.address):
        return False
    if client.fingerprint in rule.deny_keys:
        return False
    if rule.deny_hostnames and (
        client.hostname is None or hostname_matches(rule.deny_hostnames, client.hostname)
    ):
        return False
    return (
        address_matches(rule.admit_ips, client.address)
        or client.fingerprint in rule.admit_keys
        or hostname_matches(rule.admit_hostnames, client.hostname)
    )


def _under(path: str, root: str) -> bool:
    return path == root or root == "/" or path.startswith(root + "/")


def check_request_path(path: object) -> str:
    """Syntax checks before touching the file system."""
    if not isinstance(path, str) or not path:
        raise Denied("a path is required")
    if "\x00" in path or len(path) > 4096:
        raise Denied("invalid path")
    if not path.startswith("/"):
        raise Denied(f"path '{path}' is not absolute")
    if ".." in path.split("/"):
        raise Denied(f"path '{path}' contains '..'")
    return path


def find_rule(config: ServerConfig, real: str) -> AccessRule | None:
    """The most specific (longest) path rule containing ``real``."""
    best: AccessRule | None = None
    for rule in config.access:
        if _under(real, rule.real) and (best is None or len(rule.real) > len(best.real)):
            best = rule
    return best


def expand_shortcut(config: ServerConfig, path: object) -> object:
    """``path`` with a leading shortcut name replaced by its promiser's path."""
    if not isinstance(path, str):
        return path
    head, sep, rest = path.lstrip("/").partition("/")
    for short in config.access:
        if short.shortcut and head == short.shortcut.strip("/") and (
                not path.startswith("/") or not sep):
            base = short.path.rstrip("/") or "/"
            return f"{base.rstrip('/')}/{rest}" if rest else base
    return path


def resolve(
    config: ServerConfig, client: ClientId, path: object, op: str = "GET"
) -> tuple[str, AccessRule]:
    """Resolve a requested path and check it is admitted: (real path, its rule).

    A path that begins with a shortcut's name (``masterfiles`` or
    ``masterfiles/lib/files.cf``, as the stock update policy asks) stands for the
    promiser it names, as cf-serverd expands it."""
    requested = check_request_path(expand_shortcut(config, path))
    real = os.path.realpath(requested)
    rule = find_rule(config, real)
    if rule is None or not rule_admits(rule, client):
        raise Denied(f"access denied to {op}: {requested}")
    return real, rule


def confined_open(real: str, rule: AccessRule, flags: int) -> int:
    """Open ``real`` without following a final symlink, then prove through
    ``/proc/self/fd`` that what was opened still lies under ``rule``'s root."""
    try:
        fd = os.open(real, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Denied(f"no such file: {real}") from None
    except OSError as e:
        raise Denied(f"cannot open {real}: {e.strerror}") from None
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        opened = real
    if not _under(opened, rule.real):
        os.close(fd)
        raise Denied(f"access denied to {real}")
    return fd


def run_allowed(config: ServerConfig, client: ClientId, command_path: str) -> None:
    """A remote run needs an allowed user and an ``access:`` rule admitting the
    client to the run command's program path, as cf-serverd checks EXEC."""
    if client.user not in config.allowusers:
        raise Denied(f"EXEC denied due to not allowed user: {client.user}")
    real = os.path.realpath(command_path)
    rule = find_rule(config, real) or find_rule(config, os.path.normpath(command_path))
    if rule is None or not rule_admits(rule, client):
        raise Denied(f"EXEC denied due to ACL for file: {command_path}")


_CLASS_RE = re.compile(r"[A-Za-z0-9_]+")


MAX_CLASS_NAME = 1024  # characters in one class name sent with a run (CF_MAXVARSIZE)
MAX_CLASSES = 256  # class names sent with one run


def _shown(value: object, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else f"{text[:width]}… ({len(text)} characters)"


def check_class_names(classes: object) -> list[str]:
    """The class names a client sent with a run, if each is a CFEngine class
    name (``[A-Za-z0-9_]``, 1 to :data:`MAX_CLASS_NAME` characters) and there are
    at most :data:`MAX_CLASSES`; raises Denied saying what is wrong otherwise."""
    if not isinstance(classes, list):
        raise Denied("'classes' must be a list of class names")
    if len(classes) > MAX_CLASSES:
        raise Denied(f"too many classes: {len(classes)} sent, at most {MAX_CLASSES} allowed")
    for cls in classes:
        if not isinstance(cls, str):
            raise Denied(f"invalid class name {_shown(cls)}: not a string")
        if len(cls) > MAX_CLASS_NAME:
            raise Denied(f"class name of {len(cls)} characters is too long "
                         f"(at most {MAX_CLASS_NAME}): {_shown(cls)}")
        if not _CLASS_RE.fullmatch(cls):
            raise Denied(f"invalid class name {_shown(cls)}: only letters, digits and '_' "
                         "may be used")
    return classes


def classes_allowed(roles: Iterable[RoleRule], user: str, classes: Iterable[str]) -> list[str]:
    """Every class must be a plain class name that a ``roles:`` promise lets
    ``user`` define; returns them, or raises Denied naming the first refused."""
    out: list[str] = []
    role_list = list(roles)
    for cls in check_class_names(list(classes)):
        ok = False
        for role in role_list:
            if user not in role.users:
                continue
            with contextlib.suppress(re.error):
                if re.fullmatch(role.pattern, cls):
                    ok = True
                    break
        if not ok:
            raise Denied(f"user '{user}' is not authorized to define class {_shown(cls)}")
        out.append(cls)
    return out
