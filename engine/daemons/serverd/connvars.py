"""``$(connection.ip)``, ``$(connection.hostname)``, ``$(connection.key)`` in access rules.

cf-serverd lets an ``access:`` promise name the connecting client: a path such as
``/srv/$(connection.ip).txt`` or ``admit_ips => { "$(connection.ip)" }`` is expanded
for each connection, so each client reads its own file. The policy reader leaves these
references as written (``policy_eval``); :func:`bind` expands them for one client. A
rule whose expansion leaves no absolute path is dropped, never widened.
"""

from __future__ import annotations

import dataclasses
import os

from engine.daemons.serverd.acl import ClientId
from engine.daemons.serverd.config import CONNECTION_VAR, AccessRule, ServerConfig


def _mentions(rule: AccessRule) -> bool:
    texts = (rule.path, *rule.admit_ips, *rule.admit_keys, *rule.admit_hostnames,
             *rule.deny_ips, *rule.deny_keys, *rule.deny_hostnames)
    return any(CONNECTION_VAR.search(t) for t in texts)


def _bound_rule(rule: AccessRule, values: dict[str, str]) -> AccessRule | None:
    def sub(text: str) -> str:
        return CONNECTION_VAR.sub(lambda m: values[m.group(1) or m.group(2)], text)

    def lst(items: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(x for x in (sub(i) for i in items) if x)

    fields: dict[str, object] = {name: lst(getattr(rule, name)) for name in (
        "admit_ips", "admit_keys", "admit_hostnames", "deny_ips", "deny_keys",
        "deny_hostnames")}
    path = sub(rule.path)
    if rule.resource_type == "path":
        if not path.startswith("/"):
            return None
        path = os.path.normpath(path)
        fields["real"] = os.path.realpath(path)
    return dataclasses.replace(rule, path=path, **fields)  # type: ignore[arg-type]


def bind(config: ServerConfig, client: ClientId) -> ServerConfig:
    """``config`` with the connection variables of its rules expanded for ``client``."""
    if not any(_mentions(r) for r in (*config.access, *config.bundles)):
        return config
    values = {"ip": client.address, "hostname": client.hostname or "",
              "key": client.fingerprint}

    def rules(items: tuple[AccessRule, ...]) -> tuple[AccessRule, ...]:
        out = (_bound_rule(r, values) if _mentions(r) else r for r in items)
        return tuple(r for r in out if r is not None)

    return dataclasses.replace(config, access=rules(config.access),
                               bundles=rules(config.bundles))


def needs_hostname(config: ServerConfig) -> bool:
    """Rules that name hosts (admit/deny_hostnames, ``$(connection.hostname)``) need the
    client's name, looked up only then."""
    rules = (*config.access, *config.bundles)
    return any(r.uses_hostnames or any("connection.hostname" in t for t in (
        r.path, *r.admit_ips, *r.admit_keys, *r.deny_ips, *r.deny_keys)) for r in rules)
