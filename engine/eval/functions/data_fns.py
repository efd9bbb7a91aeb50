"""Data container functions: parsejson, readjson, readcsv, storejson, mergedata, type, ...

cf-agent's JSON reader is lenient (a trailing comma is accepted, text after the
value is ignored) and keeps integers in a C int; its writer sorts object keys and
prints reals with four decimals (see ``_util.json_compact``).
"""

from __future__ import annotations

import json
import re

from engine.eval.functions import _jsonref as jsonref
from engine.eval.functions._util import json_pretty, need_int, parse_json
from engine.eval.functions.arrays import collect
from engine.eval.functions.readers import read_document, read_text
from engine.eval.functions.registry import FnEnv, FunctionError, _ref_value, function, strip_ref
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

_TRAILING_COMMA = re.compile(r",(\s*[\]}])")
_DECODER = json.JSONDecoder()


def parse_lenient(text: str) -> Any:
    """Parse the first JSON value in ``text``; ValueError when there is none."""
    s = text.strip()
    try:
        value, _end = _DECODER.raw_decode(s)
    except ValueError:
        value, _end = _DECODER.raw_decode(_TRAILING_COMMA.sub(r"\1", s))
    return parse_json(json.dumps(value))


def _container_from_text(fn: str, text: str, env: FnEnv | None = None) -> Any:
    """The container in ``text``; with ``env`` (inline JSON in policy) bare words
    are variable references (see ``_jsonref``)."""
    try:
        v = parse_lenient(text) if env is None else jsonref.parse(
            text, lambda ref: _ref_value(env, ref))
    except ValueError:
        raise FunctionError(f"Error parsing JSON expression '{text}'", quiet=env is not None) from None
    if not isinstance(v, (dict, list)):
        raise FunctionError(f"Non-container from parsing JSON expression '{text}'")
    return v


@function("parsejson", "data", 1, 1)
def parsejson(env: FnEnv, text: str) -> Data:
    """parsejson(json_data): the JSON object or array in ``json_data``."""
    return Data(_container_from_text("parsejson", text, env))


@function("validjson", "class", 1, 2)
def validjson(env: FnEnv, text: str, strict: str = "false") -> bool:
    """validjson(string, strict): true when ``string`` holds a JSON value."""
    try:
        parse_lenient(text)
        return True
    except ValueError:
        return False


@function("readjson", "data", 1, 2)
def readjson(env: FnEnv, path: str, maxsize: str | None = None) -> Data:
    """readjson(filename, maxbytes): the JSON container in the file (which must not be
    larger than ``maxbytes`` when given)."""
    return Data(_container_from_text("readjson", read_document(path, maxsize, "readjson")))


def _parse_csv(text: str) -> list[list[str]]:
    """CSV as cf-agent reads it: records end at CRLF only (a bare LF stays inside a
    field), a field may be double-quoted (``""`` is a quote); a quote anywhere else
    spoils the whole file, which then yields no rows."""
    rows: list[list[str]] = []
    row: list[str] = []
    field: list[str] = []
    i, n = 0, len(text)
    at_start = True
    while i < n:
        c = text[i]
        if at_start and c == '"':
            j = i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    return []
                if text.startswith('""', k):
                    field.append(text[j:k] + '"')
                    j = k + 2
                    continue
                field.append(text[j:k])
                i = k + 1
                break
            at_start = False
            continue
        if c == '"':
            return []
        if c == ",":
            row.append("".join(field))
            field, at_start = [], True
        elif text.startswith("\r\n", i):
            row.append("".join(field))
            rows.append(row)
            row, field, at_start = [], [], True
            i += 2
            continue
        else:
            field.append(c)
            at_start = False
        i += 1
    if field or row:
        row.append("".join(field))
        rows.append(row)
    return rows


@function("readcsv", "data", 1, 2)
def readcsv(env: FnEnv, path: str, maxsize: str = "0") -> Data:
    """readcsv(filename, maxbytes): a list of rows, each a list of fields (CRLF lines)."""
    return Data(_parse_csv(read_text(path, need_int("readcsv", maxsize), "readcsv")))


def _parse_env(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, _, v = line.partition("=")
        out[k.strip()] = _env_value(v.strip())
    return out


def _env_value(v: str) -> str:
    """An env file value as cf-agent reads it: a backslash escapes the next character;
    a quoted value ends at its closing quote (what follows is dropped) or, unclosed,
    at the end of the line."""
    quote = v[0] if v[:1] in ("'", '"') else ""
    out: list[str] = []
    i = 1 if quote else 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v):
            out.append(v[i + 1])
            i += 2
            continue
        if quote and c == quote:
            break
        out.append(c)
        i += 1
    return "".join(out)


@function("readdata", "data", 2, 3)
def readdata(env: FnEnv, path: str, kind: str, maxsize: str = "0") -> Data:
    """readdata(filename, filetype): JSON, YAML, CSV or ENV data (``auto`` picks by
    extension: .csv, .env, .yaml/.yml, else JSON)."""
    if kind == "auto":
        low = path.lower()
        kind = ("CSV" if low.endswith(".csv") else "ENV" if low.endswith(".env")
                else "YAML" if low.endswith((".yaml", ".yml")) else "JSON")
    text = read_text(path, need_int("readdata", maxsize), "readdata")
    if kind == "YAML":
        from engine.eval.functions.yaml_fns import parse_yaml

        return Data(parse_yaml(text))
    if kind == "JSON":
        return Data(_container_from_text("readdata", text))
    if kind == "CSV":
        return Data(_parse_csv(text))
    if kind == "ENV":
        return Data(_parse_env(text))
    raise FunctionError(f"readdata: unsupported file type '{kind}'")


def _data_arg(env: FnEnv, fn: str, arg: Any) -> Any:
    """A container from a data/list variable, a classic array, Data, or inline JSON."""
    if isinstance(arg, str) and arg.strip()[:1] in ("{", "["):
        return _container_from_text(fn, arg, env)
    v = collect(env, arg)
    if v is not None:
        return v
    if isinstance(arg, str) and env.get_var(arg) is None:
        # an undefined variable: cf-agent fails the function without a word
        raise FunctionError(f"{fn}: '{arg}' is not defined", quiet=True)
    raise FunctionError(f"{fn}: '{arg}' is not a data container, list or array")


@function("storejson", "string", 1, 1)
def storejson(env: FnEnv, arg: Any) -> str:
    """storejson(data_container): the container as indented JSON text."""
    return json_pretty(_data_arg(env, "storejson", arg))


def _as_object(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {str(i): x for i, x in enumerate(v)}


@function("mergedata", "data", 1)
def mergedata(env: FnEnv, *args: Any) -> Data:
    """mergedata(one, two, ...): containers merged: arrays concatenate, objects
    merge key by key (later wins); mixing the two merges by position keys."""
    result: Any = None
    for a in args:
        v = _data_arg(env, "mergedata", a)
        if not isinstance(v, (dict, list)):
            raise FunctionError(f"mergedata: '{a}' is not a container")
        if result is None:
            result = dict(v) if isinstance(v, dict) else list(v)
        elif isinstance(result, list) and isinstance(v, list):
            result.extend(v)
        else:
            result = {**_as_object(result), **_as_object(v)}
    return Data(result)


_JSON_TYPES = ((bool, "boolean"), (int, "int"), (float, "real"), (str, "string"), (dict, "object"), (list, "array"))


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    for t, name in _JSON_TYPES:
        if isinstance(v, t):
            return name
    return "unknown"


def _data_element(env: FnEnv, ref: str) -> tuple[Any] | None:
    """``(value,)`` of ``d[k1][k2]`` inside a data container ``d`` (null included);
    None when ``d`` is not a container or the keys lead nowhere."""
    base, _, rest = ref.partition("[")
    container = env.get_var(base)
    if not isinstance(container, Data):
        return None
    value = container.value
    for key in re.findall(r"([^\[\]]*)\]", rest):
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return (value,)


@function("type", "string", 1, 2)
def type_(env: FnEnv, ref: str, detail: str = "false") -> str:
    """type(var, detail): ``data``, ``slist``, ``string`` or ``none``; with detail
    ``data object`` / ``policy slist`` and the like."""
    v = env.get_var(strip_ref(ref)) if isinstance(ref, str) else ref
    full = detail in ("true", "yes", "on")
    inner = _data_element(env, strip_ref(ref)) if isinstance(ref, str) and "[" in ref else None
    if inner is not None:  # an element of a data container: "d[k]"
        return f"data {_json_type(inner[0])}" if full else "data"
    if v is None:
        return "policy none" if full else "none"
    if isinstance(v, Data):
        return f"data {_json_type(v.value)}" if full else "data"
    kind = "slist" if isinstance(v, list) else "string"
    ctx = getattr(env, "ctx", None)  # the declared type: int, real, ilist, rlist
    var = ctx.lookup_var(strip_ref(ref)) if ctx is not None and isinstance(ref, str) else None
    if var is not None and var.vtype in ("int", "real", "ilist", "rlist"):
        kind = var.vtype
    return f"policy {kind}" if full else kind


@function("string_mustache", "string", 1, 2)
def string_mustache(env: FnEnv, template: str, data: Any = None) -> str:
    """string_mustache(template, data): the Mustache template rendered with ``data``
    (default: the agent's datastate, when the environment offers it)."""
    from engine.eval.mustache import MustacheError, render

    if data is None:
        ds = getattr(env, "datastate", None)
        view = ds() if ds is not None else {}
    else:
        view = _data_arg(env, "string_mustache", data)
    try:
        return render(template, view)
    except MustacheError as e:  # cf-agent logs the renderer's own lines, nothing more
        e.report(env.log)
        raise FunctionError(f"Function 'string_mustache' could not render its template: {e}",
                            quiet=True) from None
