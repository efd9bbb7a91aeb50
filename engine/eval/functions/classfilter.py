"""classfiltercsv: the rows of a CSV file whose class expression holds."""

from __future__ import annotations

from engine.eval.functions._util import need_int
from engine.eval.functions.data_fns import _parse_csv
from engine.eval.functions.readers import read_text
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


@function("classfiltercsv", "data", 3, 4)
def classfiltercsv(env: FnEnv, path: str, has_header: str, class_column: str,
                   sort_column: str | None = None) -> Data:
    """classfiltercsv(filename, has_header, class_column, optional sort_column): the
    rows (CRLF-terminated CSV) whose ``class_column`` holds a class expression that is
    true, that column left out; each row is an object keyed by the column names (with a
    header) or by the fields' positions, ``"0"``, ``"1"``... (without). Rows with another number of columns than the first are
    dropped; ``sort_column`` (counted in the file's columns) orders the rows."""
    rows = [r for r in _parse_csv(read_text(path, 0, "classfiltercsv")) if r != [""]]
    header = rows.pop(0) if has_header in ("true", "yes", "on") and rows else None
    width = len(header) if header is not None else len(rows[0]) if rows else 0
    col = need_int("classfiltercsv", class_column)
    sort = need_int("classfiltercsv", sort_column) if sort_column not in (None, "") else None
    if not 0 <= col < max(width, 1) or (sort is not None and not 0 <= sort < width):
        raise FunctionError("Function 'classfiltercsv': column index out of range", quiet=True)
    kept = [r for r in rows if len(r) == width and env.class_defined(r[col])]
    if sort is not None:
        kept.sort(key=lambda r: r[sort])
    out: list[Any] = []
    for r in kept:
        fields = [v for i, v in enumerate(r) if i != col]
        if header is not None:
            names = [h for i, h in enumerate(header) if i != col]
            out.append(dict(zip(names, fields, strict=True)))
        else:
            out.append({str(i): v for i, v in enumerate(fields)})
    return Data(out)
