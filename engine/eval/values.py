"""Runtime values. Scalars are ``str``, lists are ``list[str]``, data containers are :class:`Data`."""

from __future__ import annotations

import json

from engine._records import Frozen, set_field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCALAR_TYPES = frozenset({"string", "int", "real"})
LIST_TYPES = frozenset({"slist", "ilist", "rlist"})


class Data(Frozen):
    """A data container (``data`` variable): any JSON value."""

    __slots__ = ("value",)
    __match_args__ = ("value",)
    value: Any

    def __init__(self, value: Any) -> None:
        set_field(self, "value", value)

    def to_json(self) -> str:
        return json.dumps(self.value, separators=(",", ":"))


def is_list(value: Any) -> bool:
    return isinstance(value, list)


def data_to_str(value: Any) -> str:
    """How a JSON primitive prints when expanded as ``$(data[key])``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
