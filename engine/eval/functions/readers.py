"""Functions that read files into values: readfile, read*list, read*array, regline, getfields.

Common arguments: ``comment`` is a regex whose matches are removed before
splitting (empty: none); ``split`` is a regex; ``maxent`` caps the entries;
``maxsize`` caps the bytes read (0: the whole file).
"""

from __future__ import annotations

from engine.eval.functions._util import cf_int, cf_real, full_match, need_int, pcre
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from io import FileIO
    from typing import Any


# The most a function reads from one file. The file is data the agent does not
# control: /dev/zero or a FIFO in its place must fail the call, not fill memory or block.
READ_LIMIT = 64 * 1024 * 1024
READ_CHUNK = 256 * 1024
# cf-agent's range for a maxsize argument ("Integer is out of range" beyond it)
MAXSIZE_RANGE = 99_999_999_999


def read_bytes(path: str, maxsize: int = 0, fn: str = "readfile") -> bytes:
    """Up to ``maxsize`` bytes of ``path`` (0: all of it, up to :data:`READ_LIMIT`);
    a :class:`FunctionError` if it cannot be read or is larger than the limit."""
    import os

    if maxsize < 0 or maxsize > MAXSIZE_RANGE:
        raise FunctionError(f"In function '{fn}', error in variable '{maxsize}', "
                            "'Integer is out of range'")
    limit = maxsize if 0 < maxsize <= READ_LIMIT else READ_LIMIT
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang the run
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb", buffering=0) as f:
            data = _read_upto(f, limit + 1)
    except BlockingIOError:
        data = b""
    except OSError as e:
        raise FunctionError(f"{fn}: could not read file '{path}' ({e.strerror})") from None
    if len(data) > limit:
        if maxsize and maxsize <= READ_LIMIT:
            return data[:limit]
        raise FunctionError(f"{fn}: file '{path}' is larger than {READ_LIMIT} bytes, "
                            "the most a function reads")
    return data


def _read_upto(f: FileIO, most: int) -> bytes:
    """At most ``most`` bytes of ``f``, in chunks: one read of ``most`` bytes would
    allocate a buffer of that size (64 MB) for every small file."""
    chunks: list[bytes] = []
    total = 0
    while total < most:
        chunk = f.read(min(READ_CHUNK, most - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_document(path: str, maxsize: str | None, fn: str, kind: str = "JSON") -> str:
    """All of ``path`` for a parser (readjson, readyaml). cf-agent does not parse the
    first ``maxsize`` bytes of a longer file: given ``maxsize`` (0 included), a file
    larger than it fails the call."""
    limit = None if maxsize is None else need_int(fn, maxsize)
    if limit is not None and not 0 <= limit <= MAXSIZE_RANGE:
        raise FunctionError(f"In function '{fn}', error in variable '{limit}', "
                            "'Integer is out of range'")
    data = read_bytes(path, 0, fn)
    if limit is not None and len(data) > limit:
        raise FunctionError(f"{fn}: error parsing {kind} file '{path}': "
                            "Unable to parse JSON without truncating")
    return data.decode("utf-8", "surrogateescape")


def read_text(path: str, maxsize: int = 0, fn: str = "readfile") -> str:
    """:func:`read_bytes` as text; bytes that are not UTF-8 are kept (surrogateescape)."""
    return read_bytes(path, maxsize, fn).decode("utf-8", "surrogateescape")


def _strip_comments(text: str, comment: str) -> str:
    return pcre(comment).sub("", text) if comment else text


@function("readfile", "string", 1, 2)
def readfile(env: FnEnv, path: str, maxsize: str = "0") -> str:
    """readfile(filename, maxbytes): the file's contents (0 or absent: the whole file).

    A file of one line loses its newline, as in cf-agent 3.21 (``"a\\n"`` reads as
    ``"a"``; ``"a\\nb\\n"`` and ``"a\\n\\n"`` are kept whole)."""
    return _one_line_chomped(read_text(path, need_int("readfile", maxsize), "readfile"))


def _one_line_chomped(text: str) -> str:
    """cf-agent's file reader drops the newline of a file that holds one line only."""
    if text.endswith("\n") and text.count("\n") == 1:
        return text[:-1]
    return text


def _read_items(path: str, comment: str, split: str, maxent: str, maxsize: str, fn: str) -> list[str]:
    text = _strip_comments(_one_line_chomped(read_text(path, need_int(fn, maxsize), fn)), comment)
    items = [x for x in pcre(split).split(text) if x != ""] if split else [text]
    return items[: need_int(fn, maxent)]


@function("readstringlist", "slist", 5, 5)
def readstringlist(env: FnEnv, path: str, comment: str, split: str, maxent: str, maxsize: str) -> list[str]:
    """readstringlist(filename, comment, split, maxent, maxbytes): the file's pieces
    between ``split`` matches, comments removed, empty pieces dropped."""
    return _read_items(path, comment, split, maxent, maxsize, "readstringlist")


@function("readintlist", "ilist", 5, 5)
def readintlist(env: FnEnv, path: str, comment: str, split: str, maxent: str, maxsize: str) -> list[str]:
    """readintlist(filename, comment, split, maxent, maxbytes): like readstringlist; every item must be an integer."""
    items = _read_items(path, comment, split, maxent, maxsize, "readintlist")
    for it in items:
        if cf_int(it) is None:
            raise FunctionError(f"Presumed int value '{it}' read from file '{path}' has no recognizable value")
    return items


@function("readreallist", "rlist", 5, 5)
def readreallist(env: FnEnv, path: str, comment: str, split: str, maxent: str, maxsize: str) -> list[str]:
    """readreallist(filename, comment, split, maxent, maxbytes): like readstringlist; every item must be a number."""
    items = _read_items(path, comment, split, maxent, maxsize, "readreallist")
    for it in items:
        if cf_real(it) is None:
            raise FunctionError(f"Presumed real value '{it}' read from file '{path}' has no recognizable value")
    return items


def _rows(text: str, comment: str, split: str, maxent: int) -> list[list[str]]:
    """Non-empty lines (after comment removal), each split into fields."""
    text = _strip_comments(text, comment)
    rx = pcre(split)
    rows = [rx.split(line) for line in text.split("\n") if line.strip() != ""]
    return rows[:maxent]


def _table(path: str, comment: str, split: str, maxent: str, maxsize: str, fn: str) -> list[list[str]]:
    return _rows(read_text(path, need_int(fn, maxsize), fn), comment, split, need_int(fn, maxent))


def array_table(env: FnEnv, path: str, comment: str, split: str, maxent: str, maxsize: str,
                fn: str) -> list[list[str]]:
    """:func:`_table` for the read*array functions: as in cf-agent, a file that cannot
    be read is an error and no lines (the call returns 0), not a failed call."""
    limit, entries = need_int(fn, maxsize), need_int(fn, maxent)
    try:
        text = read_text(path, limit, fn)
    except FunctionError as e:
        env.log.error(str(e))
        return []
    return _rows(text, comment, split, entries)


def _define(env: FnEnv, name: str, values: dict[str, str]) -> None:
    define = getattr(env, "define_array", None)
    if define is not None:
        define(name, values)


@function("readstringarray", "int", 6, 6)
def readstringarray(env: FnEnv, array: str, path: str, comment: str, split: str, maxent: str, maxsize: str) -> str:
    """readstringarray(array, filename, comment, split, maxent, maxbytes): defines
    ``array[first_field][i]`` for each field of each line; returns the line count."""
    rows = array_table(env, path, comment, split, maxent, maxsize, "readstringarray")
    values = {f"{row[0]}][{i}": v for row in rows for i, v in enumerate(row)}
    _define(env, array, values)
    return str(len(rows))


@function("readstringarrayidx", "int", 6, 6)
def readstringarrayidx(env: FnEnv, array: str, path: str, comment: str, split: str, maxent: str, maxsize: str) -> str:
    """readstringarrayidx(array, filename, comment, split, maxent, maxbytes): like
    readstringarray but keyed by line number: ``array[line][i]``."""
    rows = array_table(env, path, comment, split, maxent, maxsize, "readstringarrayidx")
    values = {f"{n}][{i}": v for n, row in enumerate(rows) for i, v in enumerate(row)}
    _define(env, array, values)
    return str(len(rows))


@function("data_readstringarray", "data", 5, 5)
def data_readstringarray(env: FnEnv, path: str, comment: str, split: str, maxent: str, maxsize: str) -> Data:
    """data_readstringarray(filename, comment, split, maxent, maxbytes): a map from each
    line's first field to its other fields (a later line replaces an earlier one)."""
    rows = _table(path, comment, split, maxent, maxsize, "data_readstringarray")
    out: dict[str, Any] = {}
    for row in rows:
        out.pop(row[0], None)
        out[row[0]] = row[1:]
    return Data(dict(sorted(out.items())))


@function("data_readstringarrayidx", "data", 5, 5)
def data_readstringarrayidx(env: FnEnv, path: str, comment: str, split: str, maxent: str, maxsize: str) -> Data:
    """data_readstringarrayidx(filename, comment, split, maxent, maxbytes): a list of
    each line's fields."""
    return Data(_table(path, comment, split, maxent, maxsize, "data_readstringarrayidx"))


@function("regline", "class", 2, 2)
def regline(env: FnEnv, regex: str, path: str) -> bool:
    """regline(regex, filename): true when ``regex`` matches some whole line of the file."""
    try:
        text = read_text(path, 0, "regline")
    except FunctionError:
        return False
    return any(full_match(regex, ln) for ln in text.split("\n"))


@function("getfields", "int", 4, 4)
def getfields(env: FnEnv, regex: str, path: str, split: str, array: str) -> str:
    """getfields(regex, filename, split, array_lval): splits the first line matching
    ``regex`` into ``array[1]``, ``array[2]``...; returns the number of matching lines."""
    text = read_text(path, 0, "getfields")
    lines = [ln for ln in text.split("\n") if full_match(regex, ln)]
    if lines:
        fields = pcre(split).split(lines[0])
        _define(env, array, {str(i + 1): v for i, v in enumerate(fields)})
    return str(len(lines))
