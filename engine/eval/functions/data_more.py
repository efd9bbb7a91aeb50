"""Data helpers of CFEngine 3.21: hash_to_int, string, validdata, readenvfile, hashmatch."""

from __future__ import annotations

from engine.eval.functions._util import json_compact, need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def _int32(n: int) -> int:
    """``n`` as a C ``int`` holds it (cf-agent keeps the bounds in ints)."""
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


@function("hash_to_int", "int", 3, 3)
def hash_to_int(env: FnEnv, lower: str, upper: str, text: str) -> str:
    """hash_to_int(lower, upper, string): a number from ``lower`` (included) to
    ``upper`` (excluded) picked by a hash of ``string``: the same on every host.

    As cf-agent: the first 8 bytes of the string's SHA-256 (little-endian) modulo the
    span, with the bounds (in either order) held in 32-bit ints."""
    import hashlib

    low = _int32(need_int("hash_to_int", lower))
    high = _int32(need_int("hash_to_int", upper))
    if low > high:
        low, high = high, low
    if low == high:
        return str(low)
    span = _int32(high - low) & 0xFFFFFFFFFFFFFFFF  # C converts a negative span to unsigned
    h = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()[:8], "little")
    return str(_int32(low + h % span))


@function("string", "string", 1, 1)
def string(env: FnEnv, value: Any) -> str:
    """string(value): a text as it is; a list or data container as one-line JSON."""
    if isinstance(value, Data):
        return json_compact(value.value)
    if isinstance(value, list):
        return json_compact(value)
    return str(value)


@function("validdata", "class", 2, 2)
def validdata(env: FnEnv, text: str, kind: str) -> bool:
    """validdata(string, type): true when ``string`` parses as ``type`` (only JSON)."""
    if kind != "JSON":
        raise FunctionError(f"validdata: data type '{kind}' is not supported, only JSON")
    from engine.eval.functions.data_fns import parse_lenient

    try:
        parse_lenient(text)
    except ValueError:
        return False
    return True


@function("readenvfile", "data", 1, 2)
def readenvfile(env: FnEnv, path: str, maxsize: str | None = None) -> Data:
    """readenvfile(filename, maxbytes): the ``KEY=value`` lines of an env file as a
    map (what ``readdata(filename, "ENV")`` reads). With ``maxbytes``, reading stops
    at the line that would take the count of bytes read (newlines not counted) past it;
    0 reads nothing."""
    from engine.eval.functions.data_fns import _parse_env
    from engine.eval.functions.readers import read_text

    text = read_text(path, 0, "readenvfile")
    if maxsize is not None:  # 0 reads nothing, as cf-agent
        limit = need_int("readenvfile", maxsize)
        kept, used = [], 0
        for line in text.splitlines():
            used += len(line.encode("utf-8", "surrogateescape"))
            if used > limit:
                break
            kept.append(line)
        text = "\n".join(kept)
    return Data(_parse_env(text))


@function("hashmatch", "class", 3, 3)
def hashmatch(env: FnEnv, path: str, algorithm: str, digest: str) -> bool:
    """hashmatch(filename, algorithm, hash): true when the file's hex digest with
    ``algorithm`` is ``hash`` (lower case, as the digest prints)."""
    import hashlib

    from engine.eval.functions.strings import hash_bytes

    hash_bytes(b"", algorithm, "hashmatch")  # an unknown algorithm fails the call
    h = hashlib.new(algorithm)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                h.update(chunk)
    except OSError:
        return False
    return h.hexdigest() == digest
