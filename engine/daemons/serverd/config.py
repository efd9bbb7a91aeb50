"""serverd's view of the policy: ``body server control`` and ``bundle server``.

cf-serverd keeps the promises of ``common`` and ``server`` bundles and reads the
server control body; so does vigil's serverd, through :func:`server_config_from_policy`.
It works on the AST alone, expanding only what a server needs: ``$(sys.x)`` from
the ``sys_vars`` it is given and literal ``vars:`` (strings and lists of strings)
of common and server bundles. Class guards are evaluated against a small set of
classes (``any``, ``server``, the OS and host name classes, plus any given).
Anything it cannot evaluate is left out and listed in ``ServerConfig.warnings``
so that the daemon can say so, never silently widening access.
"""

from __future__ import annotations

import ipaddress
import os
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.policy.ast import FnCall, Policy, Promise, RList, Rval, Scalar
from engine.text import canonify

KEY_PREFIXES = ("SHA256:", "SHA=", "MD5=")
CONTROL_LISTS = ("allowconnects", "denyconnects", "allowallconnects", "trustkeysfrom", "allowusers")


@dataclass(frozen=True, slots=True)
class AccessRule:
    """One ``access:`` promise about a path (the promiser, expanded)."""

    path: str
    real: str  # realpath of ``path`` when it was loaded
    admit_ips: tuple[str, ...] = ()
    admit_keys: tuple[str, ...] = ()
    admit_hostnames: tuple[str, ...] = ()
    deny_ips: tuple[str, ...] = ()
    deny_keys: tuple[str, ...] = ()
    deny_hostnames: tuple[str, ...] = ()
    shortcut: str = ""
    resource_type: str = "path"

    @property
    def uses_hostnames(self) -> bool:
        return bool(self.admit_hostnames or self.deny_hostnames)


@dataclass(frozen=True, slots=True)
class RoleRule:
    """``roles:`` — users in ``users`` may define classes fully matching ``pattern``."""

    pattern: str
    users: tuple[str, ...]


def split_command(command: str) -> list[str]:
    """``cfruncommand`` as an argv. A quote left open is closed at the end, as CFEngine
    does: the stock masterfiles leave ``-c '...`` open on purpose. ValueError if the
    line still does not split (e.g. a trailing backslash)."""
    import shlex

    try:
        return shlex.split(command)
    except ValueError as first:
        if str(first) != "No closing quotation":
            raise
        for quote in ("'", '"'):
            try:
                return shlex.split(command + quote)
            except ValueError:
                continue
        raise first from None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    port: int | None = None  # None: the [serverd] port setting
    bindtointerface: str = ""
    allowconnects: tuple[str, ...] = ()
    denyconnects: tuple[str, ...] = ()
    allowallconnects: tuple[str, ...] = ()
    trustkeysfrom: tuple[str, ...] = ()
    allowusers: tuple[str, ...] = ()
    maxconnections: int | None = None  # None: the [serverd] max_connections setting
    cfruncommand: str = ""
    allowciphers: str = ""  # CFEngine's protocol's TLS: OpenSSL ciphers and TLS 1.3 suites
    allowtlsversion: str = ""  # the lowest TLS version served to CFEngine's clients
    access: tuple[AccessRule, ...] = ()
    roles: tuple[RoleRule, ...] = ()
    # access promises of resource_type "bundle": the promiser is a regex of bundle names
    # a remote run may ask for (cf-runagent -B), admit/deny as for paths
    bundles: tuple[AccessRule, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def uses_hostnames(self) -> bool:
        return any(r.uses_hostnames for r in self.access)


def default_classes(sys_vars: dict[str, object]) -> set[str]:
    classes = {"any", "server", canonify(platform.system().lower())}
    for k in ("host", "uqhost", "fqhost"):
        v = sys_vars.get(k)
        if isinstance(v, str) and v:
            classes.add(canonify(v))
    return classes


# -- class guards ------------------------------------------------------------------


def guard_true(expr: str, classes: set[str]) -> bool:
    if expr in ("any", ""):
        return True

    def defined(name: str) -> bool:
        return name.split(":")[-1] in classes

    # imported on the first guard that is not "any": serverd loads nothing of
    # engine.eval for a policy without class guards
    from engine.eval.classexpr import evaluate

    try:
        return bool(evaluate(expr, defined))
    except Exception:
        return False


# -- variables -----------------------------------------------------------------

_VAR = re.compile(r"\$\(([^()${}]+)\)|\$\{([^()${}]+)\}")
# bound for each connection (cf-serverd's access promises may name the client)
CONNECTION_VAR = re.compile(r"\$\(connection\.(ip|hostname|key)\)|\$\{connection\.(ip|hostname|key)\}")


def _unbound(text: str) -> bool:
    """``text`` still holds a reference other than ``$(connection.*)``."""
    return bool(_VAR.search(CONNECTION_VAR.sub("", text)))


class _Scope:
    evaluated = False  # True: values and classes come from the evaluator

    def guard(self, expr: str, bundle: str = "") -> bool:
        raise NotImplementedError  # only an evaluated scope decides guards itself

    def __init__(self, sys_vars: dict[str, object]) -> None:
        self.values: dict[str, str | list[str]] = {}
        for k, v in sys_vars.items():
            if isinstance(v, str):
                self.values[f"sys.{k}"] = v
            elif isinstance(v, list | tuple) and all(isinstance(x, str) for x in v):
                self.values[f"sys.{k}"] = list(v)
        self.unresolved: set[str] = set()

    def lookup(self, name: str, bundle: str) -> str | list[str] | None:
        name = name.split(":")[-1] if name.count(":") == 1 and "." in name else name
        if "." not in name:
            name = f"{bundle}.{name}"
        return self.values.get(name)

    def expand(self, text: str, bundle: str) -> str:
        for _ in range(8):  # nested references, bounded
            changed = False

            def sub(m: re.Match[str]) -> str:
                nonlocal changed
                name = m.group(1) or m.group(2)
                v = self.lookup(name, bundle)
                if isinstance(v, str):
                    changed = True
                    return v
                self.unresolved.add(name)
                return m.group(0)

            text = _VAR.sub(sub, text)
            if not changed:
                break
        return text

    def list_of(self, rval: Rval | None, bundle: str) -> list[str] | None:
        """Strings of an rval; None when it cannot be evaluated here."""
        if rval is None:
            return []
        if isinstance(rval, Scalar):
            m = re.fullmatch(r"@\(([^()]+)\)|@\{([^{}]+)\}", rval.value)
            if m:
                v = self.lookup(m.group(1) or m.group(2), bundle)
                return list(v) if isinstance(v, list) else None
            return [self.expand(rval.value, bundle)]
        if isinstance(rval, RList):
            out: list[str] = []
            for item in rval.items:
                sub = self.list_of(item, bundle)
                if sub is None:
                    return None
                out.extend(sub)
            return out
        return None  # FnCall: not evaluated by the server

    def scalar(self, rval: Rval | None, bundle: str) -> str | None:
        if isinstance(rval, Scalar):
            return self.expand(rval.value, bundle)
        return None


def _collect_vars(policy: Policy, scope: _Scope, classes: set[str]) -> None:
    for f in policy.files:
        for b in f.bundles:
            if b.bundle_type not in ("common", "server"):
                continue
            for p in b.promises:
                if p.promise_type != "vars" or not guard_true(p.guard, classes):
                    continue
                for c in p.constraints:
                    if c.lval in ("string", "int", "real"):
                        v = scope.scalar(c.rval, b.name)
                        if v is not None:
                            scope.values[f"{b.name}.{p.promiser}"] = v
                    elif c.lval in ("slist", "ilist", "rlist"):
                        lst = scope.list_of(c.rval, b.name)
                        if lst is not None:
                            scope.values[f"{b.name}.{p.promiser}"] = lst


# -- the config ------------------------------------------------------------------


def _split_legacy(entries: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Legacy ``admit``/``deny`` entries -> (ips, keys, hostnames)."""
    ips: list[str] = []
    keys: list[str] = []
    hosts: list[str] = []
    for e in entries:
        if e.startswith(KEY_PREFIXES):
            keys.append(e)
        elif _is_network(e) or (
            re.fullmatch(r"[0-9.\\*+?\[\]()|^$-]+", e) and any(ch.isdigit() for ch in e)
        ):
            ips.append(e)
        else:
            hosts.append(e)
    return ips, keys, hosts


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _access_rule(p: Promise, scope: _Scope, bundle: str, warn: list[str]) -> AccessRule | None:
    rtype = scope.scalar(p.get("resource_type"), bundle) or "path"
    promiser = scope.expand(p.promiser, bundle)
    if rtype not in ("path", "bundle"):
        warn.append(f"{p.pos}: access resource_type '{rtype}' is not served, ignored")
        return None
    if rtype == "bundle" and _unbound(promiser):
        warn.append(f"{p.pos}: access bundle '{promiser}' is not fully expanded, ignored")
        return None
    if rtype == "path" and (not promiser.startswith("/") or _unbound(promiser)):
        warn.append(f"{p.pos}: access path '{promiser}' is not an absolute path, ignored")
        return None
    lists: dict[str, list[str]] = {}
    for lval in (
        "admit_ips", "admit_keys", "admit_hostnames", "deny_ips", "deny_keys",
        "deny_hostnames", "admit", "deny",
    ):
        v = scope.list_of(p.get(lval), bundle)
        if v is None:
            warn.append(f"{p.pos}: cannot evaluate '{lval}' here, treated as empty")
            v = []
        lists[lval] = [x for x in v if x and not _unbound(x)]
    a_ips, a_keys, a_hosts = _split_legacy(lists["admit"])
    d_ips, d_keys, d_hosts = _split_legacy(lists["deny"])
    # "dir/" and "dir/." promise the directory, as "dir" does; a bundle rule is a regex
    path = os.path.normpath(promiser) if rtype == "path" else promiser
    return AccessRule(
        path=path,
        real=os.path.realpath(path) if rtype == "path" else "",
        admit_ips=tuple(lists["admit_ips"] + a_ips),
        admit_keys=tuple(lists["admit_keys"] + a_keys),
        admit_hostnames=tuple(lists["admit_hostnames"] + a_hosts),
        deny_ips=tuple(lists["deny_ips"] + d_ips),
        deny_keys=tuple(lists["deny_keys"] + d_keys),
        deny_hostnames=tuple(lists["deny_hostnames"] + d_hosts),
        shortcut=scope.scalar(p.get("shortcut"), bundle) or "",
        resource_type=rtype,
    )


def server_config_from_policy(
    policy: Policy, sys_vars: dict[str, object], classes: Iterable[str] | None = None,
    scope: _Scope | None = None,
) -> ServerConfig:
    """Read ``body server control`` and the ``access:``/``roles:`` promises of every
    ``bundle server`` (cf-serverd keeps them all, in or out of the bundlesequence).

    ``scope``, when given, is the evaluated policy's (``engine.daemons.serverd.policy_eval``):
    its values and classes are used; else literal values and the given classes."""
    known = default_classes(sys_vars) | set(classes or ())
    if scope is None:
        scope = _Scope(sys_vars)
        _collect_vars(policy, scope, known)
    holds = scope.guard if scope.evaluated else (lambda expr, _bundle="": guard_true(expr, known))
    warn: list[str] = []
    ctl: dict[str, object] = {}
    for body in policy.control_bodies("server"):
        for c in body.constraints:
            if not holds(c.guard):
                continue
            if c.lval in CONTROL_LISTS:
                v = scope.list_of(c.rval, "server_control")
                if v is None:
                    warn.append(f"{c.pos}: cannot evaluate '{c.lval}' here, treated as empty")
                ctl[c.lval] = tuple(v or ())
            elif c.lval in ("port", "maxconnections", "bindtointerface", "cfruncommand",
                            "allowciphers", "allowtlsversion"):
                s = scope.scalar(c.rval, "server_control")
                if s is None or (isinstance(c.rval, FnCall) and not scope.evaluated):
                    warn.append(f"{c.pos}: cannot evaluate '{c.lval}' here, ignored")
                    continue
                ctl[c.lval] = s
    port: int | None = None
    if "port" in ctl:
        try:
            port = int(str(ctl["port"]))
            if not 0 <= port <= 65535:
                raise ValueError
        except ValueError:
            warn.append(f"port '{ctl['port']}' is not a port number, ignored")
            port = None
    maxconn: int | None = None
    if "maxconnections" in ctl:
        try:
            maxconn = max(1, int(str(ctl["maxconnections"])))
        except ValueError:
            warn.append(f"maxconnections '{ctl['maxconnections']}' is not a number, ignored")

    access: list[AccessRule] = []
    bundle_rules: list[AccessRule] = []
    roles: list[RoleRule] = []
    for f in policy.files:
        for b in f.bundles:
            if b.bundle_type != "server":
                continue
            for p in b.promises:
                if not holds(p.guard, b.name):
                    continue
                if p.promise_type == "access":
                    rule = _access_rule(p, scope, b.name, warn)
                    if rule is not None:
                        (access if rule.resource_type == "path" else bundle_rules).append(rule)
                elif p.promise_type == "roles":
                    users = scope.list_of(p.get("authorize"), b.name) or []
                    roles.append(RoleRule(scope.expand(p.promiser, b.name), tuple(users)))

    def lst(name: str) -> tuple[str, ...]:
        v = ctl.get(name, ())
        return tuple(str(x) for x in v) if isinstance(v, tuple) else ()

    return ServerConfig(
        port=port,
        bindtointerface=str(ctl.get("bindtointerface", "")),
        allowconnects=lst("allowconnects"),
        denyconnects=lst("denyconnects"),
        allowallconnects=lst("allowallconnects"),
        trustkeysfrom=lst("trustkeysfrom"),
        allowusers=lst("allowusers"),
        maxconnections=maxconn,
        cfruncommand=str(ctl.get("cfruncommand", "")),
        allowciphers=str(ctl.get("allowciphers", "")),
        allowtlsversion=str(ctl.get("allowtlsversion", "")),
        access=tuple(access),
        roles=tuple(roles),
        bundles=tuple(bundle_rules),
        warnings=tuple(warn),
    )
