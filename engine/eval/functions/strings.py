"""String functions: concat, canonify, case, head/tail, split, escape, hash, ..."""

from __future__ import annotations

import re

from engine.eval.functions._util import fmt_bool_class, full_match, lenient_int, need_int, pcre
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.text import canonify

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def _bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _str(b: bytes) -> str:
    """Byte slices may cut a UTF-8 sequence, as cf-agent's do; keep the bytes."""
    return b.decode("utf-8", "surrogateescape")


@function("concat", "string")
def concat(env: FnEnv, *parts: str) -> str:
    """concat(string...): the arguments joined with nothing between them."""
    return "".join(parts)


@function("canonify", "string", 1, 1)
def canonify_fn(env: FnEnv, s: str) -> str:
    """canonify(text): ``text`` with every byte of its UTF-8 encoding outside
    ``[A-Za-z0-9_]`` made ``_``."""
    return canonify(s)


@function("canonifyuniquely", "string", 1, 1)
def canonifyuniquely(env: FnEnv, s: str) -> str:
    """canonifyuniquely(text): canonify(text) plus ``_`` and the SHA-1 of ``text``."""
    import hashlib

    return canonify(s) + "_" + hashlib.sha1(s.encode("utf-8", "surrogateescape")).hexdigest()


@function("strcmp", "class", 2, 2)
def strcmp(env: FnEnv, a: str, b: str) -> bool:
    """strcmp(s1, s2): true when the two strings are equal."""
    return a == b


@function("regcmp", "class", 2, 2)
def regcmp(env: FnEnv, regex: str, s: str) -> bool:
    """regcmp(regex, string): true when ``regex`` matches the whole string."""
    return full_match(regex, s)


@function("string_upcase", "string", 1, 1)
def string_upcase(env: FnEnv, s: str) -> str:
    """string_upcase(s): ASCII letters upper-cased."""
    return s.translate(_UPPER)


@function("string_downcase", "string", 1, 1)
def string_downcase(env: FnEnv, s: str) -> str:
    """string_downcase(s): ASCII letters lower-cased."""
    return s.translate(_LOWER)


_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@function("string_length", "int", 1, 1)
def string_length(env: FnEnv, s: str) -> str:
    """string_length(s): the length of ``s`` in bytes."""
    return str(len(s.encode("utf-8", "surrogateescape")))


@function("string_head", "string", 2, 2)
def string_head(env: FnEnv, s: str, n: str) -> str:
    """string_head(s, n): the first n characters; negative n: all but the last -n."""
    k = lenient_int(env, n)
    b = _bytes(s)
    return _str(b[: max(len(b) + k, 0)] if k < 0 else b[:k])


@function("string_tail", "string", 2, 2)
def string_tail(env: FnEnv, s: str, n: str) -> str:
    """string_tail(s, n): the last n characters; negative n: all but the first -n."""
    k = lenient_int(env, n)
    b = _bytes(s)
    return _str(b[-k:] if k < 0 else b[max(len(b) - k, 0) :])


@function("string_reverse", "string", 1, 1)
def string_reverse(env: FnEnv, s: str) -> str:
    """string_reverse(s): ``s`` backwards."""
    return s[::-1]


@function("string_trim", "string", 1, 1)
def string_trim(env: FnEnv, s: str) -> str:
    """string_trim(s): ``s`` without leading and trailing whitespace."""
    return s.strip(" \t\n\r\f\v")


@function("string_replace", "string", 3, 3)
def string_replace(env: FnEnv, s: str, match: str, repl: str) -> str:
    """string_replace(s, match, replacement): every literal occurrence replaced."""
    if not match:
        return s
    return s.replace(match, repl)


def _split(s: str, regex: str, maximum: int) -> list[str]:
    """Split like cf-agent: at most ``maximum`` pieces, the last one keeps the rest;
    an empty match does not advance (so ``""`` as separator yields empty pieces)."""
    rx = pcre(regex)
    out: list[str] = []
    rest = s
    while len(out) < maximum - 1:
        m = rx.search(rest)
        if m is None:
            break
        out.append(rest[: m.start()])
        rest = rest[m.end() :]
    out.append(rest)
    return out


@function("string_split", "slist", 3, 3)
def string_split(env: FnEnv, s: str, regex: str, maximum: str) -> list[str]:
    """string_split(string, regex, maxent): pieces between matches of ``regex``."""
    k = need_int("string_split", maximum)
    if k < 1:
        raise FunctionError(f"Function 'string_split' called with invalid maxent argument: '{maximum}'")
    return _split(s, regex, k)


@function("splitstring", "slist", 3, 3)
def splitstring(env: FnEnv, s: str, regex: str, maximum: str) -> list[str]:
    """splitstring(string, regex, maxent): like string_split but drops pieces past ``maxent``."""
    k = need_int("splitstring", maximum)
    if k <= 0 or s == "":
        return []  # cf-agent 3.21: splitstring("", ...) is an empty list
    return _split(s, regex, 1 << 30)[:k]


@function("escape", "string", 1, 1)
def escape(env: FnEnv, s: str) -> str:
    """escape(text): ``text`` with every non-alphanumeric character backslash-escaped."""
    return "".join(c if c.isascii() and c.isalnum() else "\\" + c for c in s)


@function("lastnode", "string", 2, 2)
def lastnode(env: FnEnv, s: str, regex: str) -> str:
    """lastnode(string, separator_regex): the part after the last separator."""
    return pcre(regex).split(s)[-1]


@function("dirname", "string", 1, 1)
def dirname(env: FnEnv, path: str) -> str:
    """dirname(path): the parent directory (trailing slashes ignored; ``.`` if none)."""
    p = path.rstrip("/")
    if not p:
        return "/" if path else "."
    i = p.rfind("/")
    if i < 0:
        return "."
    return p[:i].rstrip("/") or "/"


@function("translatepath", "string", 1, 1)
def translatepath(env: FnEnv, path: str) -> str:
    """translatepath(path): the path in this platform's separators (unchanged on Unix)."""
    return path


_HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def hash_bytes(data: bytes, algorithm: str, fn: str) -> str:
    if algorithm not in _HASHES:
        raise FunctionError(f"Function '{fn}': unknown hash algorithm '{algorithm}'")
    import hashlib

    return hashlib.new(algorithm, data).hexdigest()


@function("hash", "string", 2, 2)
def hash_(env: FnEnv, s: str, algorithm: str) -> str:
    """hash(input, algorithm): hex digest of ``input`` (md5, sha1, sha256, sha384, sha512)."""
    return hash_bytes(s.encode("utf-8", "surrogateescape"), algorithm, "hash")


@function("regextract", "class", 3, 3)
def regextract(env: FnEnv, regex: str, s: str, array: str) -> bool:
    """regextract(regex, string, backref_array): true when ``regex`` matches
    somewhere in ``string``; the match goes to ``array[0]``, groups to ``array[1]``...,
    a named group under its name instead of its number."""
    rx = pcre(regex)
    m = rx.search(s)
    if m is None:
        return False
    named = {i: n for n, i in rx.groupindex.items()}
    values = {"0": m.group(0)}
    for i in range(1, (rx.groups or 0) + 1):
        values[named.get(i, str(i))] = m.group(i) or ""
    define = getattr(env, "define_array", None)
    if define is not None:
        define(array, values)
    return True


@function("classify", "class", 1, 1)
def classify(env: FnEnv, s: str) -> bool:
    """classify(text): true when canonify(text) is a defined class."""
    return env.class_defined(canonify(s))


def class_str(b: bool) -> str:
    """How a class function's result reads when used as a string argument."""
    return fmt_bool_class(b)


_GROUP_REF = re.compile(r"\$(\d+)|\\(\d+)")


@function("regex_replace", "string", 4, 4)
def regex_replace(env: FnEnv, s: str, pattern: str, repl: str, options: str) -> str:
    """regex_replace(string, regex, replacement, options): replace matches of a PCRE
    regex; ``$1``/``\\1`` insert groups; options ``g`` (every match), ``i``
    (ignore case), ``m`` (multiline), ``s`` (dot matches newline), ``x`` (extended)."""
    # the options as inline flags, so the match runs through engine.cfregex (PCRE's
    # syntax, and a time limit on a pattern or subject the agent does not control)
    flags = "".join(opt for opt in "imsx" if opt in options)
    rx = pcre(f"(?{flags}){pattern}" if flags else pattern)

    def substitute(m: Any) -> str:
        def group(g: re.Match[str]) -> str:
            n = int(g.group(1) or g.group(2))
            return (m.group(n) or "") if n <= (rx.groups or 0) else ""

        return _GROUP_REF.sub(group, repl)

    return rx.sub(substitute, s, count=0 if "g" in options else 1)
