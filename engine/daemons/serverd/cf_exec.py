"""The arguments of CFEngine's ``EXEC`` request, authorised as cf-serverd 3.21 does.

cf-runagent sends ``EXEC`` followed by ``-D class,class`` (``-D``/``--define``) and
``-b bundle,bundle`` (``-B``/``--remote-bundles``), each list one word of
comma-separated names. Every name must be of ``[A-Za-z0-9_:]`` (a namespace may
prefix it) and be admitted: a class by a ``roles:`` promise whose pattern fully
matches it and whose ``authorize`` names the client's user; a bundle by an
``access:`` promise of ``resource_type => "bundle"`` whose promiser, a regular
expression, fully matches it and which admits the client (a matching rule that
denies the client wins over one that admits it). The run command is then
``cfruncommand`` with `` -D <list>`` and `` --bundlesequence <list>`` appended, the
lists as the client sent them. Any other argument refuses the run.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from engine.daemons.serverd.acl import ClientId, rule_admits
from engine.daemons.serverd.config import AccessRule, RoleRule

NAME_RE = re.compile(r"[A-Za-z0-9_:]+")
MAX_ARGS = 4096  # characters of EXEC arguments (cf-serverd's buffer is of this order)


class ExecRefused(Exception):
    """The arguments refuse the run: ``reply`` is cf-serverd's, ``reasons`` go to the log."""

    def __init__(self, reply: str, reasons: Iterable[str] = ()) -> None:
        super().__init__(reply)
        self.reply = reply
        self.reasons = list(reasons)


@dataclass(frozen=True, slots=True)
class ExecArgs:
    classes: tuple[str, ...] = ()  # each -D list as sent ("role1,role2")
    bundles: tuple[str, ...] = ()  # each -b list as sent

    def argv(self) -> list[str]:
        """What is appended to the run command."""
        out: list[str] = []
        for lst in self.classes:
            out += ["-D", lst]
        for lst in self.bundles:
            out += ["--bundlesequence", lst]
        return out


def parse(args: str) -> ExecArgs:
    """``-D list`` and ``-b list`` words (a list may follow its flag without a space);
    ExecRefused naming the rest for anything else."""
    if len(args) > MAX_ARGS:
        raise ExecRefused(f"EXEC denied: too long ({len(args)} B) arguments")
    classes: list[str] = []
    bundles: list[str] = []
    rest = args.strip(" \t")
    while rest:
        if rest.startswith(("-D", "-b")):
            flag, rest = rest[:2], rest[2:].lstrip(" \t")
            word, _, rest = _split_word(rest)
            if word:
                (classes if flag == "-D" else bundles).append(word)
            rest = rest.lstrip(" \t")
        else:
            raise ExecRefused(f"EXEC denied: invalid arguments: {rest}")
    return ExecArgs(tuple(classes), tuple(bundles))


def _split_word(text: str) -> tuple[str, str, str]:
    m = re.search(r"[ \t]", text)
    return (text, "", "") if m is None else (text[: m.start()], " ", text[m.end():])


def _names(lst: str) -> list[str]:
    return lst.split(",")


def role_allowed(roles: Iterable[RoleRule], user: str, name: str) -> bool:
    for role in roles:
        if user not in role.users:
            continue
        with contextlib.suppress(re.error):
            if re.fullmatch(role.pattern, name):
                return True
    return False


def bundle_allowed(rules: Iterable[AccessRule], client: ClientId, name: str) -> bool:
    matching = []
    for rule in rules:
        with contextlib.suppress(re.error):
            if re.fullmatch(rule.path, name):
                matching.append(rule)
    return (any(rule_admits(r, client) for r in matching)
            and not any(_denies(r, client) for r in matching))


def _denies(rule: AccessRule, client: ClientId) -> bool:
    """The rule names the client in a deny list (an admit list not naming it is no denial)."""
    from engine.daemons.serverd.acl import address_matches, hostname_matches

    return (address_matches(rule.deny_ips, client.address)
            or client.fingerprint in rule.deny_keys
            or (bool(rule.deny_hostnames) and hostname_matches(rule.deny_hostnames,
                                                               client.hostname)))


def authorise(parsed: ExecArgs, roles: Iterable[RoleRule], bundle_rules: Iterable[AccessRule],
              client: ClientId) -> None:
    """Returns when every name may be asked for; else raises ExecRefused with
    cf-serverd's reply for the first list refused, and why each name was."""
    roles, bundle_rules = list(roles), list(bundle_rules)
    reasons: list[str] = []
    for lst in parsed.classes:
        for name in _names(lst):
            if not NAME_RE.fullmatch(name) or not role_allowed(roles, client.user, name):
                reasons.append(f"Access denied to class '{name}' for user '{client.user}'")
        if reasons:
            raise ExecRefused("EXEC denied role activation (check cf-serverd verbose output)",
                              reasons)
    for lst in parsed.bundles:
        for name in _names(lst):
            if not NAME_RE.fullmatch(name) or not bundle_allowed(bundle_rules, client, name):
                reasons.append(f"Access denied to bundle '{name}'")
        if reasons:
            raise ExecRefused("EXEC denied bundle activation (check cf-serverd verbose output)",
                              reasons)
