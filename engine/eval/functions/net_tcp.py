"""TCP probes: readtcp and selectservers, as cf-agent 3.21 runs them.

Both connect with a timeout (:data:`TIMEOUT` seconds for the connection and for the
reply) so a silent server cannot hold the run. ``readtcp`` waits for the reply even
when it sends nothing (cf-agent does); ``selectservers`` with an empty query only
checks that the port accepts a connection. Results are kept for the rest of the run,
as cf-agent keeps them.
"""

from __future__ import annotations

import socket

from engine.eval.functions._util import full_match, need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function, need_list

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

TIMEOUT = 10.0
#: The most a probe reads (cf-agent reads into a buffer of this size).
MAX_READ = 4096


def _port(fn: str, port: str) -> int:
    try:
        n = int(port.strip())
    except ValueError:
        n = -1
    if not 0 < n < 65536:
        raise FunctionError(f"Function '{fn}': invalid port '{port}'", quiet=True)  # cf-agent: silent
    return n


def _cached(env: FnEnv, key: tuple[Any, ...], probe: Any) -> Any:
    """``probe()``, once per run for the same arguments: cf-agent keeps these results
    for the rest of the run, as execresult's (``cache_system_functions``)."""
    cache = getattr(env, "fn_cache", None)
    fresh = getattr(env, "wants_fresh_results", None)
    if cache is None or (fresh is not None and fresh()):
        return probe()
    if key not in cache:
        cache[key] = probe()
    return cache[key]


def _exchange(host: str, port: int, send: str, maxbytes: int, *, read_always: bool) -> str | None:
    """Connect, send ``send`` (when not empty), read one reply of at most ``maxbytes``;
    None when the connection fails."""
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as s:
            if send:
                s.sendall(send.encode("utf-8", "surrogateescape"))
            if maxbytes <= 0 or not (send or read_always):
                return ""
            return s.recv(min(maxbytes, MAX_READ)).decode("utf-8", "surrogateescape")
    except (OSError, UnicodeError):
        return None


@function("readtcp", "string", 4, 4)
def readtcp(env: FnEnv, host: str, port: str, send: str, maxbytes: str) -> str:
    """readtcp(host, port, sendstring, maxbytes): connect to ``host:port``, send
    ``sendstring`` and return at most ``maxbytes`` of the reply; the call fails when
    the connection does."""
    n, limit = _port("readtcp", port), need_int("readtcp", maxbytes)
    reply = _cached(env, ("readtcp", host, n, send, limit),
                    lambda: _exchange(host, n, send, limit, read_always=True))
    if reply is None:
        raise FunctionError(f"readtcp: could not connect to '{host}' port {port}", quiet=True)
    return reply


@function("selectservers", "int", 6, 6)
def selectservers(env: FnEnv, hosts: Any, port: str, query: str, regex: str, maxbytes: str,
                  array: str) -> str:
    """selectservers(hostlist, port, query, regex, maxbytes, array): how many hosts
    of the list answer on ``port`` (with a reply to ``query`` that ``regex`` matches
    completely, when ``query`` is not empty); their names go to ``array[0]``,
    ``array[1]``... in list order."""
    names = need_list(env, "selectservers", hosts)
    n = _port("selectservers", port)
    limit = need_int("selectservers", maxbytes)

    def probe() -> list[str]:
        up: list[str] = []
        for host in names:
            reply = _exchange(host, n, query, limit, read_always=False)
            if reply is not None and (not query or full_match(regex, reply)):
                up.append(host)
        return up

    up = _cached(env, ("selectservers", tuple(names), n, query, regex, limit), probe)
    define = getattr(env, "define_array", None)
    if define is not None and up:
        define(array, {str(i): h for i, h in enumerate(up)})
    return str(len(up))
