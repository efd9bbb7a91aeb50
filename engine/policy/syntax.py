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

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cfengine_syntax.json"

SUPPORTED_PROMISE_TYPES = frozenset(
    {
        "vars",
        "classes",
        "reports",
        "methods",
        "meta",
        "defaults",
        "files",
        "commands",
        "processes",
        "access",
        "insert_lines",
        "delete_lines",
        "replace_patterns",
        "field_edits",
    }
)

# Attributes of supported promise types that vigil parses but does not act on.
UNSUPPORTED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "files": frozenset({"acl", "edit_xml"}),
}

# Body types whose only body is ``control`` (``body agent control``).
CONTROL_BODY_TYPES = frozenset(
    {"agent", "common", "executor", "file", "hub", "monitor", "runagent", "server"}
)


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute (lval) as cf-promises describes it."""

    name: str
    type: str
    range: str = ""

    @property
    def body_type(self) -> str | None:
        """For a body-typed attribute, the body type it refers to (``inherit_from``: None)."""
        if self.type != "body" or self.name == "inherit_from":
            return None
        return self.name


@dataclass(frozen=True, slots=True)
class Function:
    """A built-in function's signature."""

    name: str
    return_type: str
    parameters: tuple[str, ...]
    variadic: bool
    category: str


@dataclass(frozen=True, slots=True)
class Syntax:
    bundle_types: dict[str, frozenset[str]]
    promise_types: dict[str, dict[str, Attribute]]
    body_types: dict[str, dict[str, Attribute]]
    functions: dict[str, Function]


@cache
def table() -> Syntax:
    """The language table (loaded from the data file on first call)."""
    with open(DATA_FILE, encoding="utf-8") as fh:
        raw = json.load(fh)

    def attrs(d: dict[str, list[str]]) -> dict[str, Attribute]:
        return {k: Attribute(k, v[0], v[1] if len(v) > 1 else "") for k, v in d.items()}

    return Syntax(
        bundle_types={k: frozenset(v) for k, v in raw["bundleTypes"].items()},
        promise_types={k: attrs(v) for k, v in raw["promiseTypes"].items()},
        body_types={k: attrs(v) for k, v in raw["bodyTypes"].items()},
        functions={
            k: Function(k, v["returnType"], tuple(v["parameters"]), v["variadic"], v["category"])
            for k, v in raw["functions"].items()
        },
    )


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


def slim(description: dict[str, Any]) -> dict[str, Any]:
    """The parts of ``cf-promises -s json`` output that vigil uses, in a compact form."""

    def attrs(d: dict[str, Any]) -> dict[str, list[str]]:
        return {
            k: [v["type"], v["range"]] if v.get("range") else [v["type"]]
            for k, v in sorted(d["attributes"].items())
        }

    return {
        "source": "cf-promises --syntax-description json (CFEngine 3.21.0)",
        "bundleTypes": {
            k: sorted(v["promiseTypes"]) for k, v in sorted(description["bundleTypes"].items())
        },
        "promiseTypes": {k: attrs(v) for k, v in sorted(description["promiseTypes"].items())},
        "bodyTypes": {k: attrs(v) for k, v in sorted(description["bodyTypes"].items())},
        "functions": {
            k: {
                "returnType": v["returnType"],
                "parameters": [p["type"] for p in v["parameters"]],
                "variadic": bool(v["variadic"]),
                "category": v["category"],
            }
            for k, v in sorted(description["functions"].items())
        },
    }


def generate(out: Path, cf_promises: str = "cf-promises") -> None:
    """Regenerate the data file from an installed cf-promises."""
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
