"""The CFEngine 3.21 language table: bundle, promise and body types, their attributes,
the built-in functions, and which of them vigil acts on.

The table lives in ``engine/data/cfengine_syntax.json``, generated from
``cf-promises --syntax-description json`` (CFEngine 3.21.0) by::

    python -m engine.policy.syntax generate [OUT.json]

It is loaded once, on first use. Attribute types are the ones cf-promises names:
``string int real option context slist ilist rlist olist clist irange data`` plus
``body`` (the lval is the body type: ``perms => p`` needs a ``body perms p``; the
exception is ``inherit_from``, whose type is the enclosing body's) and ``bundle``
(``usebundle``, ``edit_line``, ``edit_xml``, ``home_bundle``, ``service_bundle``).

What vigil supports: the promise types in :data:`SUPPORTED_PROMISE_TYPES`; for those,
every attribute CFEngine knows except :data:`UNSUPPORTED_ATTRIBUTES`. Everything else
is valid policy that vigil reports as ``unsupported`` and skips.
"""

from __future__ import annotations

import sys
from functools import cache, cached_property
from pathlib import Path

from engine import promisetypes
from engine.policy.ast import _Node

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

_set = object.__setattr__

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cfengine_syntax.json"

# What vigil carries out: engine.promisetypes, the one promise-type table.
SUPPORTED_PROMISE_TYPES = promisetypes.SUPPORTED
# Attributes of supported promise types that vigil parses but does not act on.
UNSUPPORTED_ATTRIBUTES = promisetypes.UNSUPPORTED_ATTRIBUTES

# Body types whose only body is ``control`` (``body agent control``).
CONTROL_BODY_TYPES = frozenset(
    {"agent", "common", "executor", "file", "hub", "monitor", "runagent", "server"}
)


class Attribute(_Node):
    """One attribute (lval) as cf-promises describes it."""

    __slots__ = ("name", "type", "range")
    __match_args__ = ("name", "type", "range")
    name: str
    type: str
    range: str

    def __init__(self, name: str, type: str, range: str = "") -> None:
        _set(self, "name", name)
        _set(self, "type", type)
        _set(self, "range", range)

    @property
    def body_type(self) -> str | None:
        """For a body-typed attribute, the body type it refers to (``inherit_from``: None)."""
        if self.type != "body" or self.name == "inherit_from":
            return None
        return self.name


class Function(_Node):
    """A built-in function's signature."""

    __slots__ = ("name", "return_type", "parameters", "variadic", "category", "ranges")
    __match_args__ = ("name", "return_type", "parameters", "variadic", "category", "ranges")
    name: str
    return_type: str
    parameters: tuple[str, ...]
    variadic: bool
    category: str
    # per parameter: the range cf-promises checks a literal argument against
    # (int, real and option parameters), "" for none
    ranges: tuple[str, ...]

    def __init__(
        self,
        name: str,
        return_type: str,
        parameters: tuple[str, ...],
        variadic: bool,
        category: str,
        ranges: tuple[str, ...] = (),
    ) -> None:
        _set(self, "name", name)
        _set(self, "return_type", return_type)
        _set(self, "parameters", parameters)
        _set(self, "variadic", variadic)
        _set(self, "category", category)
        _set(self, "ranges", ranges)


def _attrs(d: dict[str, list[str]]) -> dict[str, Attribute]:
    return {k: Attribute(k, v[0], v[1] if len(v) > 1 else "") for k, v in d.items()}


class Syntax:
    """The language table. Each part is built from the data file's form on first use,
    so checking a policy without bodies or function calls never builds those."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    @cached_property
    def bundle_types(self) -> dict[str, frozenset[str]]:
        return {k: frozenset(v) for k, v in self._raw["bundleTypes"].items()}

    @cached_property
    def promise_types(self) -> dict[str, dict[str, Attribute]]:
        return {k: _attrs(v) for k, v in self._raw["promiseTypes"].items()}

    @cached_property
    def body_types(self) -> dict[str, dict[str, Attribute]]:
        return {k: _attrs(v) for k, v in self._raw["bodyTypes"].items()}

    @cached_property
    def functions(self) -> dict[str, Function]:
        return {
            k: Function(
                k,
                v["returnType"],
                tuple(v["parameters"]),
                v["variadic"],
                v["category"],
                tuple(v.get("ranges", ())),
            )
            for k, v in self._raw["functions"].items()
        }


@cache
def table() -> Syntax:
    """The language table (the data file is read on first call)."""
    import json

    with open(DATA_FILE, encoding="utf-8") as fh:
        return Syntax(json.load(fh))


def bundle_promise_types(bundle_type: str) -> frozenset[str] | None:
    """The promise types a bundle type allows; None for an unknown bundle type."""
    return table().bundle_types.get(bundle_type)


def promise_attributes(promise_type: str) -> dict[str, Attribute] | None:
    return table().promise_types.get(promise_type)


def body_attributes(body_type: str) -> dict[str, Attribute] | None:
    return table().body_types.get(body_type)


def function(name: str) -> Function | None:
    return table().functions.get(name)


def is_supported(promise_type: str) -> bool:
    return promise_type in SUPPORTED_PROMISE_TYPES


def attribute_supported(promise_type: str, lval: str) -> bool:
    return lval not in UNSUPPORTED_ATTRIBUTES.get(promise_type, frozenset())


# -- generation ---------------------------------------------------------------------

# Function parameter types whose literal arguments cf-promises checks against the range.
_RANGED_PARAMETER_TYPES = frozenset({"int", "real", "option"})


def slim(description: dict[str, Any]) -> dict[str, Any]:
    """The parts of ``cf-promises -s json`` output that vigil uses, in a compact form."""

    def attrs(d: dict[str, Any]) -> dict[str, list[str]]:
        return {
            k: [v["type"], v["range"]] if v.get("range") else [v["type"]]
            for k, v in sorted(d["attributes"].items())
        }

    def fn(v: dict[str, Any]) -> dict[str, Any]:
        out = {
            "returnType": v["returnType"],
            "parameters": [p["type"] for p in v["parameters"]],
            "variadic": bool(v["variadic"]),
            "category": v["category"],
        }
        ranges = [
            p["range"] if p["type"] in _RANGED_PARAMETER_TYPES else "" for p in v["parameters"]
        ]
        if any(ranges):
            out["ranges"] = ranges
        return out

    return {
        "source": "cf-promises --syntax-description json (CFEngine 3.21.0)",
        "bundleTypes": {
            k: sorted(v["promiseTypes"]) for k, v in sorted(description["bundleTypes"].items())
        },
        "promiseTypes": {k: attrs(v) for k, v in sorted(description["promiseTypes"].items())},
        "bodyTypes": {k: attrs(v) for k, v in sorted(description["bodyTypes"].items())},
        "functions": {k: fn(v) for k, v in sorted(description["functions"].items())},
    }


def generate(out: Path, cf_promises: str = "cf-promises") -> None:
    """Regenerate the data file from an installed cf-promises."""
    import json
    import subprocess

    raw = subprocess.run(
        [cf_promises, "--syntax-description", "json"], check=True, capture_output=True, text=True
    ).stdout
    out.write_text(json.dumps(slim(json.loads(raw)), indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":  # pragma: no cover - maintenance tool
    if len(sys.argv) >= 2 and sys.argv[1] == "generate":
        generate(Path(sys.argv[2]) if len(sys.argv) > 2 else DATA_FILE)
    else:
        print("usage: python -m engine.policy.syntax generate [OUT.json]", file=sys.stderr)
        sys.exit(2)
