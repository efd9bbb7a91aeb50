"""The read*array / parse*array family: a file (read) or a string (parse) split
into lines and fields, defining a classic array in the calling bundle.

``readstringarray(array, file, comment, split, maxent, maxbytes)`` defines
``array[<first field>][<i>]``; the ``idx`` variants key by line number instead.
The int and real variants read the same way (cf-agent keeps the fields as text).
All return the number of lines read.
"""

from __future__ import annotations

from engine.eval.functions._util import need_int
from engine.eval.functions.readers import _define, _rows, array_table
from engine.eval.functions.registry import FnEnv, function


def _by_first_field(rows: list[list[str]]) -> dict[str, str]:
    return {f"{row[0]}][{i}": v for row in rows for i, v in enumerate(row)}


def _by_line(rows: list[list[str]]) -> dict[str, str]:
    return {f"{n}][{i}": v for n, row in enumerate(rows) for i, v in enumerate(row)}


def _read(env: FnEnv, fn: str, idx: bool, array: str, path: str, comment: str, split: str,
          maxent: str, maxsize: str) -> str:
    rows = array_table(env, path, comment, split, maxent, maxsize, fn)
    _define(env, array, _by_line(rows) if idx else _by_first_field(rows))
    return str(len(rows))


def _parse(env: FnEnv, fn: str, idx: bool, array: str, text: str, comment: str, split: str,
           maxent: str, maxsize: str) -> str:
    limit = need_int(fn, maxsize)
    if limit > 0:
        text = text[:limit]
    rows = _rows(text, comment, split, need_int(fn, maxent))
    _define(env, array, _by_line(rows) if idx else _by_first_field(rows))
    return str(len(rows))


@function("readintarray", "int", 6, 6)
def readintarray(env: FnEnv, array: str, path: str, comment: str, split: str, maxent: str,
                 maxsize: str) -> str:
    """readintarray(array, filename, comment, split, maxent, maxbytes): like readstringarray."""
    return _read(env, "readintarray", False, array, path, comment, split, maxent, maxsize)


@function("readrealarray", "int", 6, 6)
def readrealarray(env: FnEnv, array: str, path: str, comment: str, split: str, maxent: str,
                  maxsize: str) -> str:
    """readrealarray(array, filename, comment, split, maxent, maxbytes): like readstringarray."""
    return _read(env, "readrealarray", False, array, path, comment, split, maxent, maxsize)


@function("parsestringarray", "int", 6, 6)
def parsestringarray(env: FnEnv, array: str, text: str, comment: str, split: str, maxent: str,
                     maxsize: str) -> str:
    """parsestringarray(array, input, comment, split, maxent, maxbytes): readstringarray
    on a string: defines ``array[<first field>][<i>]``, returns the line count."""
    return _parse(env, "parsestringarray", False, array, text, comment, split, maxent, maxsize)


@function("parsestringarrayidx", "int", 6, 6)
def parsestringarrayidx(env: FnEnv, array: str, text: str, comment: str, split: str, maxent: str,
                        maxsize: str) -> str:
    """parsestringarrayidx(array, input, comment, split, maxent, maxbytes): keyed by line number."""
    return _parse(env, "parsestringarrayidx", True, array, text, comment, split, maxent, maxsize)


@function("parseintarray", "int", 6, 6)
def parseintarray(env: FnEnv, array: str, text: str, comment: str, split: str, maxent: str,
                  maxsize: str) -> str:
    """parseintarray(array, input, comment, split, maxent, maxbytes): like parsestringarray."""
    return _parse(env, "parseintarray", False, array, text, comment, split, maxent, maxsize)


@function("parserealarray", "int", 6, 6)
def parserealarray(env: FnEnv, array: str, text: str, comment: str, split: str, maxent: str,
                   maxsize: str) -> str:
    """parserealarray(array, input, comment, split, maxent, maxbytes): like parsestringarray."""
    return _parse(env, "parserealarray", False, array, text, comment, split, maxent, maxsize)
