"""``field_edits``: one line split into fields and one field changed, as cf-agent 3.21 does it.

The line is split on ``field_separator`` (a regex; the text it first matches joins
the fields again). Empty fields are dropped unless ``allow_blank_fields`` is true,
so editing a line with ``::`` in it closes the gap. With a ``value_separator``
(one character) the field is a list of sub-values and ``field_operation`` works on
that list: ``append`` (the default), ``prepend``, ``alphanum`` (insert, then
sort), ``delete``, ``set``. Without one, the whole field is set (or, for
``delete``, emptied).
"""

from __future__ import annotations

from engine import cfregex


class FieldSpec:
    """The ``edit_field`` body, read once per promise."""

    __slots__ = ("separator", "select", "value", "vsep", "op", "extend", "blanks")

    def __init__(self, body: dict[str, object]) -> None:
        self.separator = str(body.get("field_separator", r"\s+"))
        try:
            self.select = int(str(body.get("select_field", "1")))
        except ValueError:
            self.select = 1
        if _true(body.get("start_fields_from_zero")):
            self.select += 1
        vsep = body.get("value_separator")
        self.vsep = str(vsep)[:1] if vsep else ""
        self.value = str(body.get("field_value", ""))
        self.op = str(body.get("field_operation", "append" if self.vsep else "set"))
        self.extend = _true(body.get("extend_fields"))
        self.blanks = _true(body.get("allow_blank_fields"))


class NoFields(Exception):
    """The separator does not occur in the line."""


class TooShort(Exception):
    """The line has fewer fields than the one promised."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def split_fields(line: str, rx: cfregex.Pattern, blanks: bool) -> list[str]:
    """The fields of ``line``: each search starts where the last match ended."""
    out: list[str] = []
    pos = 0
    while True:
        rest = line[pos:]
        m = rx.search(rest)
        if m is None or m.end() == 0:
            break
        if blanks or m.start() > 0:
            out.append(rest[:m.start()])
        pos += m.end()
    rest = line[pos:]
    if (blanks and pos != 0) or rest:
        out.append(rest)
    return out


def split_values(field: str, sep: str) -> list[str]:
    """The sub-values of a field; ``\\<sep>`` is a separator kept in the value."""
    if not field:
        return []
    out: list[str] = []
    cur: list[str] = []
    k = 0
    while k < len(field):
        c = field[k]
        if c == "\\" and k + 1 < len(field) and field[k + 1] == sep:
            cur.append(sep)
            k += 2
            continue
        if c == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        k += 1
    if cur or not field.endswith(sep):
        out.append("".join(cur))
    return out


def edit_line(line: str, spec: FieldSpec, filename: str) -> tuple[str, str] | None:
    """The edited line and cf-agent's message for it, or None when the field is
    already as promised. Raises :class:`NoFields` or :class:`TooShort`."""
    rx = cfregex.compile(spec.separator, dotall=True, multiline=True)
    m = rx.search(line)
    if m is None:
        raise NoFields()
    joiner = m.group(0)
    fields = split_fields(line, rx, spec.blanks)
    k = spec.select - 1
    if k >= len(fields):
        if not spec.extend:
            raise TooShort(len(fields))
        fields.extend([""] * (spec.select - len(fields)))
    col = fields[k]
    value = spec.value
    if spec.vsep:
        subs = split_values(col, spec.vsep)
        msg = _sub_edit(subs, spec.op, value)
        if msg is None:
            return None
        if spec.op in ("set",):
            subs = [value]
        fields[k] = spec.vsep.join(subs)
        text = f"{msg} '{value}' in '{filename}'"
    elif spec.op == "delete":
        fields[k] = ""
        text = f"Deleted column field value '' in '{filename}'"
    else:
        if col == value:
            return None
        fields[k] = value
        text = f"Set whole column field value '{col}' to '{value}' in '{filename}'"
    return joiner.join(fields), text


def _sub_edit(subs: list[str], op: str, value: str) -> str | None:
    """Change the sub-values in place; the message verb, or None if nothing changed."""
    if op == "delete":
        if value not in subs:
            return None
        subs.remove(value)
        return "Deleted column field sub-value"
    if op == "set":
        if len(subs) == 1 and subs[0] == value:
            return None
        return "Set field sub-value"
    if op == "prepend":
        if value in subs:
            return None
        subs.insert(0, value)
        return "Prepended field sub-value"
    if op == "alphanum":
        if value in subs:
            return None
        subs.insert(0, value)
        subs.sort()
        return "Inserted field sub-value"
    if value in subs:
        return None
    subs.append(value)
    return "Appended field sub-value"


def _true(v: object) -> bool:
    return v is not None and str(v).lower() in ("true", "yes", "on")
