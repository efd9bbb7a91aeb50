"""YAML data: parseyaml, readyaml, and YAML for readdata and ``data`` literals that
start with ``---``. Needs PyYAML (with libyaml when it is there); without it the
functions fail with an error saying so."""

from __future__ import annotations

import re

from engine.eval.functions._util import need_int
from engine.eval.functions.readers import read_text
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

# how deep YAML may nest before it is refused (a hostile file must not exhaust the stack)
MAX_DEPTH = 500


def _json_value(v: Any, depth: int = 0) -> Any:
    """A YAML value as JSON holds it: dates and other scalars become strings, keys strings."""
    if depth > MAX_DEPTH:
        raise FunctionError("YAML data nested too deeply")
    if isinstance(v, dict):
        return {str(k) if not isinstance(k, bool) else ("true" if k else "false"):
                _json_value(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_value(x, depth + 1) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        if isinstance(v, int) and not isinstance(v, bool) and not -(1 << 31) <= v < (1 << 31):
            v &= 0xFFFFFFFF  # cf-agent keeps integers in a C int
            v = v - (1 << 32) if v >= 1 << 31 else v
        return v
    return str(v)


_LEADING_INT = re.compile(r"(-?\d+)\s")
_LOADER: Any = None


def _loader(yaml: Any) -> Any:
    """A safe loader that reads a plain scalar starting with an integer and a blank
    (``200 300``) as that integer, as cf-agent's YAML reader does."""
    global _LOADER
    if _LOADER is None:
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            def construct_yaml_str(self, node: Any) -> Any:
                value = super().construct_yaml_str(node)
                if not node.style:  # plain (None, or "" from libyaml)
                    m = _LEADING_INT.match(value)
                    if m is not None:
                        return int(m.group(1))
                return value

        Loader.add_constructor("tag:yaml.org,2002:str", Loader.construct_yaml_str)
        _LOADER = Loader
    return _LOADER


def parse_yaml(text: str) -> Any:
    """The first YAML document in ``text`` as a JSON value; FunctionError when invalid."""
    try:
        import yaml
    except ImportError:
        raise FunctionError("YAML support is not available (PyYAML is not installed)") from None
    try:
        return _json_value(yaml.load(text, Loader=_loader(yaml)))  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        raise FunctionError(f"Error parsing YAML: {str(e).splitlines()[0]}", quiet=True) from None


@function("parseyaml", "data", 1, 1)
def parseyaml(env: FnEnv, text: str) -> Data:
    """parseyaml(yaml_data): the YAML document as a data container."""
    return Data(parse_yaml(text))


@function("readyaml", "data", 1, 2)
def readyaml(env: FnEnv, path: str, maxsize: str = "0") -> Data:
    """readyaml(filename, maxbytes): the file's YAML document as a data container."""
    return Data(parse_yaml(read_text(path, need_int("readyaml", maxsize), "readyaml")))
