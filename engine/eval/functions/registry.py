"""The function table: ``@function`` registers, ``call`` checks arity and dispatches.

Every family module (strings, lists, ...) registers its functions at import time.
A look-up imports only the family that defines the name (``_index.MODULES``, a
generated table checked by a test); :func:`all_specs` imports them all. So importing
this module stays cheap and there is no import cycle.

Calling convention. The evaluator expands every argument except those listed in
``FnSpec.lazy_args`` and calls :func:`call`. A function receives the ``FnEnv``
and the expanded arguments, and returns ``str`` (string, int and real functions),
``list[str]`` (slist, ilist, rlist), ``bool`` (class functions) or
:class:`~engine.eval.values.Data` (data functions). A failure raises
:class:`FunctionError`; the evaluator reports it at the call's position and the
promise using the result is not kept (cf-agent leaves the variable undefined).

``FnEnv.define_array`` is optional: functions that define variables as a side
effect (``regextract``, ``readstringarray`` ...) use it when the environment has it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable

from engine._records import Frozen, set_field
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any, Protocol

    from engine.promises.base import Logger
else:
    Protocol = object  # a plain base at run time; mypy takes the branch above and checks them

RETURN_TYPES = ("string", "int", "real", "slist", "ilist", "rlist", "data", "class", "irange", "rrange")

FAMILIES = (
    "strings",
    "lists",
    "listsets",
    "classes_fns",
    "files_fns",
    "readers",
    "format_fn",
    "arrays",
    "exec_fns",
    "time_fns",
    "data_fns",
    "math_fns",
    "users_fns",
    "state_fns",
    "array_readers",
    "regex_fns",
    "map_fns",
    "list_gen",
    "net_fns",
    "files_more",
    "classfilter",
    "module_fns",
    "yaml_fns",
    "callstack_fns",
    "process_fns",
    "packages_fns",
    "version_fns",
    "data_more",
    "files_extra",
    "net_conns",
    "net_tcp",
    "lastseen_fns",
)


class FnEnv(Protocol):
    """What a function may ask of the evaluation context.

    Optional, looked up with ``getattr``: ``define_array(name, values)`` defines
    ``name[key]`` variables in the calling bundle (``regextract``, ``readstringarray``),
    ``define_var(name, value)`` defines one variable, and ``refuses_unsafe(name)`` says
    (and warns) that an :data:`UNSAFE` function may not run now (``--simulate``).
    """

    workdir: str

    @property
    def log(self) -> Logger: ...  # read-only, so that a LineLogger attribute satisfies it
    def class_defined(self, expr: str) -> bool: ...
    def classes(self) -> Iterable[str]: ...
    def get_var(self, ref: str) -> Any | None: ...
    def var_names(self) -> Iterable[str]: ...
    def bundle_names(self) -> Iterable[str]: ...
    def bundle_tags(self, qualified: str) -> list[str]: ...


class FunctionError(Exception):
    """The function failed; the message becomes an error line at the call, or a
    verbose line when ``quiet`` (cf-agent fails some functions without a word at
    the default level, e.g. ``filestat`` on a missing file)."""

    def __init__(self, message: str, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet


class FnSpec(Frozen):
    """One registered function."""

    __match_args__ = ("name", "func", "returns", "min_args", "max_args", "lazy_args", "doc",
                      "text_args")
    __slots__ = __match_args__
    name: str
    func: Callable[..., Any]
    returns: str
    min_args: int
    max_args: int | None
    lazy_args: frozenset[int]
    doc: str
    # positions of plain-text parameters (annotated ``str``): an argument written "@(x)"
    # there is the text "@(x)", as cf-agent passes it (canonify("@(l)") is "__l_"); the
    # others (annotated Any) take the list x names
    text_args: frozenset[int]

    def __init__(self, name: str, func: Callable[..., Any], returns: str, min_args: int,
                 max_args: int | None, lazy_args: frozenset[int], doc: str) -> None:
        set_field(self, "name", name)
        set_field(self, "func", func)
        set_field(self, "returns", returns)
        set_field(self, "min_args", min_args)
        set_field(self, "max_args", max_args)
        set_field(self, "lazy_args", lazy_args)
        set_field(self, "doc", doc)
        set_field(self, "text_args", _text_params(func))


def _text_params(func: Callable[..., Any]) -> frozenset[int]:
    """Argument positions (after ``env``) of the positional parameters annotated ``str``."""
    code = getattr(func, "__code__", None)
    if code is None:
        return frozenset()
    notes = getattr(func, "__annotations__", {})
    names = code.co_varnames[1:code.co_argcount]  # without env
    return frozenset(i for i, n in enumerate(names) if notes.get(n) in ("str", str))


#: Functions that run a program: ``--simulate`` calls them only in promises tagged
#: ``simulate_safe`` (cf-agent 3.21's list).
UNSAFE = frozenset({"execresult", "execresult_as_data", "returnszero", "usemodule"})

TABLE: dict[str, FnSpec] = {}
#: the module whose import registered each name (checked against ``_index.MODULES``)
ORIGIN: dict[str, str] = {}
_loaded = False


def function(
    name: str,
    returns: str,
    min_args: int = 0,
    max_args: int | None = None,
    lazy_args: Iterable[int] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func(env, *args)`` as the policy function ``name``."""
    if returns not in RETURN_TYPES:
        raise ValueError(f"unknown return type {returns!r}")
    # a name is defined in one module only: a look-up imports just that one
    module = sys._getframe(1).f_globals.get("__name__", "")
    if ORIGIN.setdefault(name, module) != module:
        raise ValueError(f"function {name!r} registered in {ORIGIN[name]} and {module}")

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        TABLE[name] = FnSpec(
            name=name,
            func=func,
            returns=returns,
            min_args=min_args,
            max_args=max_args,
            lazy_args=frozenset(lazy_args),
            doc=(func.__doc__ or "").strip(),
        )
        return func

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for fam in FAMILIES:
        importlib.import_module(f"engine.eval.functions.{fam}")


def lookup(name: str) -> FnSpec | None:
    """The spec of ``name``, or None for an unknown function."""
    spec = TABLE.get(name)
    if spec is None and not _loaded:
        from engine.eval.functions._index import MODULES

        family = MODULES.get(name)
        if family is not None:
            importlib.import_module(f"engine.eval.functions.{family}")
            spec = TABLE.get(name)
        if spec is None:  # an unknown name: certain only once every family is in
            _ensure_loaded()
            spec = TABLE.get(name)
    return spec


def all_specs() -> list[FnSpec]:
    """Every registered function, sorted by name (for docs and ``--help``)."""
    _ensure_loaded()
    return sorted(TABLE.values(), key=lambda s: s.name)


def call(name: str, env: FnEnv, args: list[Any], pos: object | None = None) -> Any:
    """Check arity and run ``name``; ``pos`` is accepted for the evaluator's convenience."""
    spec = lookup(name)
    if spec is None:
        from engine.eval.functions.unsupported import unknown_function_message

        raise FunctionError(unknown_function_message(name))
    n = len(args)
    if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
        if spec.max_args == spec.min_args:
            want = str(spec.min_args)
        elif spec.max_args is None:
            want = f"at least {spec.min_args}"
        else:
            want = f"{spec.min_args} to {spec.max_args}"
        raise FunctionError(
            f"Function '{name}' expects {want} arguments but was given {n}"
        )
    if name in UNSAFE:
        refuses = getattr(env, "refuses_unsafe", None)
        if refuses is not None and refuses(name):
            raise FunctionError(f"Function '{name}' not called in simulate mode", quiet=True)
    for i in spec.text_args:
        if i < n and not isinstance(args[i], str):
            # a list or a container where text is wanted (canonify(reverse(l))): cf-agent
            # refuses to go on with the policy
            from engine.eval.fatal import FatalPolicyError

            kind = "a list" if isinstance(args[i], list) else "a data container"
            env.log.error(f"Argument template mismatch handling function {name}(): it "
                          f"takes text as argument {i + 1}, and was given {kind}")
            raise FatalPolicyError("Bad arguments")
    try:
        result = spec.func(env, *args)
    except FunctionError:
        raise
    except RecursionError:
        raise FunctionError(f"Function '{name}': data nested deeper than supported") from None
    except MemoryError:
        raise FunctionError(f"Function '{name}': result too large") from None
    except Exception as e:  # policy data must never end the run with a traceback
        raise FunctionError(f"Function '{name}' failed: {e}") from None
    if spec.returns == "data" and not isinstance(result, Data):
        result = Data(result)
    return result


# ---------------------------------------------------------------- argument helpers


def strip_ref(arg: str) -> str:
    """``@(x)`` / ``@{x}`` / ``$(x)`` -> ``x``; anything else unchanged."""
    if len(arg) > 3 and arg[0] in "@$" and arg[1] in "({" and arg[-1] in ")}":
        return arg[2:-1]
    return arg


def scalar_str(v: Any) -> str | None:
    """A JSON primitive as CFEngine prints it in lists (reals with 4 decimals);
    None for null and containers."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4f}"
    return None


def data_as_list(value: Any) -> list[str]:
    """A container's primitive members as strings (nulls and nested containers dropped)."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    out = []
    for v in items:
        s = scalar_str(v)
        if s is not None:
            out.append(s)
    return out


def as_list(env: FnEnv, arg: Any) -> list[str] | None:
    """Resolve a list argument: a list, ``@(name)``, a variable name, or Data.

    A name that resolves to a plain string is not a list (cf-agent fails the call).
    """
    if isinstance(arg, list):
        return arg
    if isinstance(arg, Data):
        return data_as_list(arg.value)
    if isinstance(arg, str):
        if arg.lstrip()[:1] in ("[", "{"):
            inline = as_data(env, arg)  # inline JSON: '["a", "b"]'
            return data_as_list(inline) if inline is not None else None
        name = strip_ref(arg)
        v = env.get_var(name)
        if isinstance(v, list):
            return v
        if isinstance(v, Data):
            return data_as_list(v.value)
        if v is None:
            array = classic_array(env, name)
            if array is not None:
                return data_as_list(array)
    return None


def classic_array(env: FnEnv, name: str) -> dict[str, Any] | None:
    """The classic array ``name`` (``name[key]`` variables) as the container cf-agent
    makes of one for a function that wants a list or a container; None when there is
    no such variable."""
    from engine.eval.functions._arraytree import tree

    return tree(env, name)


def need_list(env: FnEnv, fn: str, arg: Any) -> list[str]:
    """:func:`as_list` or a :class:`FunctionError` naming the function."""
    v = as_list(env, arg)
    if v is None:
        raise FunctionError(
            f"Function '{fn}', argument '{arg}' did not resolve to a list or data container",
            quiet=True)
    return v


def as_data(env: FnEnv, arg: Any) -> Any | None:
    """Resolve a data argument to its JSON value: a variable name (data or list),
    ``@(name)``, Data, a list, or an inline JSON string (object or array)."""
    if isinstance(arg, Data):
        return arg.value
    if isinstance(arg, list):
        return list(arg)
    if not isinstance(arg, str):
        return None
    s = arg.strip()
    if s[:1] in ("{", "["):
        from engine.eval.functions._jsonref import parse

        try:
            return parse(s, lambda ref: _ref_value(env, ref))
        except ValueError:
            return None
    name = strip_ref(s)
    v = env.get_var(name)
    if isinstance(v, Data):
        return v.value
    if isinstance(v, list):
        return list(v)
    return None


def _ref_value(env: FnEnv, ref: str) -> Any:
    """A variable named in inline JSON; a classic array (``b.arr``) as a container."""
    v = env.get_var(ref)
    if v is None:
        from engine.eval.functions._arraytree import tree

        v = tree(env, strip_ref(ref))
    return v


def need_data(env: FnEnv, fn: str, arg: Any) -> Any:
    v = as_data(env, arg)
    if v is None:
        raise FunctionError(f"{fn}: argument '{arg}' is not a data container or list")
    return v
