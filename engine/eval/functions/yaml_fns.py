"""YAML data: parseyaml, readyaml, and YAML for readdata and ``data`` literals that
start with ``---``. Needs PyYAML (with libyaml when it is there); without it the
functions fail with an error saying so."""

from __future__ import annotations

import re

from engine.eval.functions.readers import read_document
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

# how deep YAML may nest before it is refused (a hostile file must not exhaust the stack)
MAX_DEPTH = 500


_NULLS = frozenset({"~", "", "null", "Null", "NULL"})
_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_TAG = "tag:yaml.org,2002:"
# the tag our resolver gives a plain scalar without a tag of its own
_PLAIN = "tag:vigil,plain"
# where cf-agent's number reader stops: the rest of a plain scalar is ignored
_SEPARATORS = frozenset(" \t\n\r\f\v,]}")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _number(value: str) -> int | float | None:
    """A scalar read as cf-agent reads a number: a JSON number up to the first blank,
    comma or closing bracket (``200 300`` is 200); None when it is not one (``017``,
    ``+5``, ``1.``, ``.5``, ``0x1F``, ``1_000`` stay strings). An integer is kept in
    a C int."""
    end = next((i for i, c in enumerate(value) if c in _SEPARATORS), len(value))
    m = _NUMBER.fullmatch(value[:end])
    if m is None:
        return None
    if m.group(1) or m.group(2):
        return float(m.group(0))
    n = int(m.group(0)) & 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


def _scalar(tag: str, value: str) -> Any:
    """A scalar as cf-agent's YAML reader takes it: only plain scalars (and explicit
    ``!!null``/``!!bool``/``!!int``/``!!float`` tags) are read as null, booleans
    (YAML 1.1's words, ``y`` and ``n`` included) or JSON numbers; anything else, and
    every quoted scalar, is a string as written."""
    plain = tag == _PLAIN
    if (plain or tag == _TAG + "null") and value in _NULLS:
        return None
    if plain or tag == _TAG + "bool":
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    if plain or tag in (_TAG + "int", _TAG + "float"):
        n = _number(value)
        if n is not None:
            return n
    return value


def _json_value(node: Any, depth: int = 0) -> Any:
    """A composed YAML node as JSON holds it; mapping keys are the keys as written."""
    if depth > MAX_DEPTH:
        raise FunctionError("YAML data nested too deeply")
    kind = type(node).__name__
    if kind == "MappingNode":
        return {(k.value if type(k).__name__ == "ScalarNode" else str(_json_value(k, depth + 1))):
                _json_value(v, depth + 1) for k, v in node.value}
    if kind == "SequenceNode":
        return [_json_value(x, depth + 1) for x in node.value]
    return _scalar(node.tag, node.value)


_LOADER: Any = None


def _loader(yaml: Any) -> Any:
    """A safe loader that resolves no types itself: a plain scalar without a tag gets
    :data:`_PLAIN`, for :func:`_scalar` to read as cf-agent does."""
    global _LOADER
    if _LOADER is None:
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                if kind is yaml.ScalarNode and implicit[0]:
                    return _PLAIN
                return super().resolve(kind, value, implicit)

        _LOADER = Loader
    return _LOADER


def parse_yaml(text: str) -> Any:
    """The first YAML document in ``text`` as a JSON value; FunctionError when invalid."""
    try:
        import yaml
    except ImportError:  # third-party (a dependency): a broken install fails this call only
        raise FunctionError("YAML support is not available (PyYAML is not installed)") from None
    try:
        node = yaml.compose(text, Loader=_loader(yaml))
    except yaml.YAMLError as e:
        raise FunctionError(f"Error parsing YAML: {str(e).splitlines()[0]}", quiet=True) from None
    return None if node is None else _json_value(node)


@function("parseyaml", "data", 1, 1)
def parseyaml(env: FnEnv, text: str) -> Data:
    """parseyaml(yaml_data): the YAML document as a data container."""
    return Data(parse_yaml(text))


@function("readyaml", "data", 1, 2)
def readyaml(env: FnEnv, path: str, maxsize: str | None = None) -> Data:
    """readyaml(filename, maxbytes): the file's YAML document as a data container (the
    file must not be larger than ``maxbytes`` when given)."""
    return Data(parse_yaml(read_document(path, maxsize, "readyaml", "YAML")))
