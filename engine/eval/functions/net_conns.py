"""network_connections: the sockets in /proc/net/{tcp,tcp6,udp,udp6}, read as
cf-agent 3.21 reads them.

Quirks kept for compatibility: the state is read as a decimal number, so the
hexadecimal states LISTEN (``0A``) and CLOSING (``0B``) come out as ``UNKNOWN``;
an IPv6 address is the file's 32 hex digits cut into eight groups (each group
printed without leading zeros), without reordering the kernel's words.
"""

from __future__ import annotations

from engine.eval.functions.registry import FnEnv, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

_STATES = ("UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
           "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING")


def _address(hexaddr: str) -> str:
    if len(hexaddr) == 8:  # IPv4: one 32-bit word in host (little-endian) order
        n = int(hexaddr, 16)
        return ".".join(str((n >> shift) & 0xFF) for shift in (0, 8, 16, 24))
    return ":".join(f"{int(hexaddr[i:i + 4], 16):x}" for i in range(0, len(hexaddr), 4))


def _state(text: str) -> str:
    digits = ""
    for c in text:  # sscanf("%d"): the leading decimal digits
        if not c.isdigit():
            break
        digits += c
    n = int(digits) if digits else 0
    return _STATES[n] if 0 < n < len(_STATES) else "UNKNOWN"


def _endpoint(text: str) -> dict[str, str]:
    addr, _, port = text.partition(":")
    return {"address": _address(addr), "port": str(int(port, 16))}


def parse_table(text: str) -> list[dict[str, Any]]:
    """The rows of one /proc/net table (its header line skipped)."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        try:
            out.append({"local": _endpoint(fields[1]), "remote": _endpoint(fields[2]),
                        "state": _state(fields[3])})
        except ValueError:
            continue
    return out


@function("network_connections", "data", 0, 0)
def network_connections(env: FnEnv) -> Data:
    """network_connections(): the TCP and UDP sockets of this host (IPv4 and IPv6):
    ``{"tcp": [{"local": {"address", "port"}, "remote": {...}, "state"}], "tcp6": ...,
    "udp": ..., "udp6": ...}``."""
    import os

    root = os.environ.get("CFENGINE_TEST_OVERRIDE_PROCDIR", "")  # as cf-agent allows
    result: dict[str, Any] = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"{root}/proc/net/{proto}", encoding="ascii", errors="replace") as f:
                result[proto] = parse_table(f.read())
        except OSError:
            result[proto] = []
    return Data(result)
