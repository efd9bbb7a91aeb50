"""The hub named on the command line: its address, its port, and our role.

cf-agent takes the hub's role when the hub's address is one of this host's. vigil
does too, with one difference: when this workdir has no ``masterfiles/promises.cf`` to
serve, a local address can only mean another server on this host (a second workdir,
a test hub on a spare port), so vigil bootstraps to it as a client where cf-agent
stops with "In order to bootstrap as a policy server, the file … must exist".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from engine.eval.policyhub import DEFAULT_PORT, resolve, split_host_port
from engine.text import canonify


class TargetError(Exception):
    """The argument names no hub we can reach (cf-agent's wording)."""


@dataclass(frozen=True, slots=True)
class Hub:
    argument: str  # as given: written to policy_server.dat, named in the last message
    host: str
    address: str
    port: int
    port_named: bool

    @property
    def loopback(self) -> bool:
        return self.host == "localhost" or ipaddress.ip_address(self.address).is_loopback


def parse(argument: str) -> Hub:
    if argument.strip() == ":avahi":
        raise TargetError("Automatic discovery of the hub (':avahi') is not supported by vigil: "
                          "name the hub's address")
    try:
        host, port = split_host_port(argument)
    except ValueError as exc:
        raise TargetError(f"Cannot bootstrap to '{argument}': {exc}") from None
    address = resolve(host)
    if address is None:
        raise TargetError(f"Could not resolve hostname '{host}', unable to bootstrap")
    return Hub(argument.strip(), host, address, int(port or DEFAULT_PORT), port is not None)


def is_this_host(address: str, hard_classes: set[str]) -> bool:
    """cf-agent's test: the canonified address is one of this host's address classes."""
    c = canonify(address)
    return c in hard_classes or f"ipv4_{c}" in hard_classes


def masterfiles_ready(masterdir: Path) -> bool:
    return (masterdir / "promises.cf").is_file()
