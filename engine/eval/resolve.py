"""Turning rvals into values: strings expanded, lists spliced, functions called,
body references resolved to plain dicts, bundle references to :class:`BundleCall`.

A value that still holds an unresolved reference is marked by raising
:class:`Unresolved` from the strict helpers, or by the ``ok`` flag of
:class:`Resolution` for the lenient ones; the evaluator decides what that means
for the promise (defer to a later pass, print as written, or skip).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.eval import expand as ex
from engine.eval.values import Data
from engine.policy.ast import Body, FnCall, RList, Rval, Scalar
from engine.promises.base import BundleCall

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.base import AgentCore

    Lookup = Callable[[str], Any]


# lvals whose value names a bundle rather than a body
BUNDLE_LVALS = frozenset({"usebundle", "edit_line", "edit_xml", "home_bundle", "service_bundle"})
# lvals that are never body references even when a body of that name exists
PLAIN_LVALS = frozenset({"if", "ifvarclass", "unless", "comment", "handle", "depends_on", "meta",
                         "string", "int", "real", "slist", "ilist", "rlist", "data", "expression",
                         "and", "or", "not", "xor", "select_class", "dist", "args", "arglist"})


UNSEEN: Any = object()  # not looked up yet (a body that does not exist is None)


_registry: Any = None


def _load_registry() -> Any:
    """The function registry, imported at the first call (a policy that calls no
    function does not load it), then held in a global, not imported on every call."""
    global _registry
    from engine.eval.functions import registry

    _registry = registry
    return registry


class Unresolved(Exception):
    """A value still holds a reference that could not be expanded (yet)."""


# bodies an inherit_from chain may pass through (cf-agent gives up past 30)
MAX_BODY_INHERITANCE = 30


class FunctionFailed(Exception):
    """A function call raised FunctionError; the message says why."""

    def __init__(self, message: str, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet


def _check_option(body_type: str, lval: str, value: Any) -> None:
    """A menu attribute whose value came from a variable must still be one of its
    choices: cf-agent stops the run otherwise (cf-promises checks literal ones)."""
    from engine.policy import syntax

    attr = (syntax.body_attributes(body_type) or {}).get(lval)
    if attr is None or attr.type != "option" or "," not in attr.range:
        return
    if isinstance(value, str) and value not in attr.range.split(","):
        from engine.eval.fatal import FatalPolicyError

        raise FatalPolicyError(f"In attribute '{lval}', Selection is out of bounds. Given "
                               f"attribute value '{value}'")


class Resolver:
    """Resolves rvals against the agent's context through a ``lookup``."""

    def __init__(self, agent: AgentCore) -> None:
        self.agent = agent
        # (body type, name, namespace) -> body; the policy does not change during a run
        self.known_bodies: dict[tuple[str, str, str], Body | None] = {}
        self.warned_splices: set[str] = set()  # '@(d)' of a data object, said once

    def find_body(self, body_type: str, name: str) -> Body | None:
        """``policy.find_body`` in the current namespace, remembered for the run."""
        frames = self.agent.ctx.frames  # ctx.namespace, without the property call
        key = (body_type, name, frames[-1].namespace if frames else "default")
        body = self.known_bodies.get(key, UNSEEN)
        if body is UNSEEN:
            body = self.known_bodies[key] = self.agent.policy.find_body(*key)
        return body

    # ----- scalars and lists ----------------------------------------------
    def scalar(self, s: str, lookup: Lookup, strict: bool = False) -> str:
        text, ok = ex.expand(s, lookup)
        if not ok and strict:
            raise Unresolved(text)
        if not ok:
            self.agent.note_unresolved()
        return text

    def value(self, rval: Rval, lookup: Lookup, lval: str = "") -> Any:
        """The value of ``rval``: str, list[str], bool (class functions), Data,
        a body dict or a BundleCall."""
        if isinstance(rval, Scalar):
            if lval in BUNDLE_LVALS:
                return self.bundle_call(rval, lookup)
            if not rval.quoted or lval not in PLAIN_LVALS:
                body = self.body_ref(lval, rval, lookup) if lval and lval not in PLAIN_LVALS else None
                if body is not None:
                    return body
            whole = ex.whole_list_ref(rval.value)
            if whole is not None:
                name = self.scalar(whole, lookup)
                v = lookup(name)
                lst = ex.list_value(v)
                if lst is not None:
                    return lst
                if isinstance(v, Data):
                    return v
                self.agent.note_unresolved()
                return rval.value
            return self.scalar(rval.value, lookup)
        if isinstance(rval, RList):
            return self.list_items(rval, lookup)
        # FnCall
        if lval in BUNDLE_LVALS:
            return self.bundle_call(rval, lookup)
        if lval and lval not in PLAIN_LVALS:
            body = self.body_ref(lval, rval, lookup)
            if body is not None:
                return body
        return self.call(rval, lookup)

    def _whole_list_scalar(self, text: str, lookup: Lookup) -> list[str] | None:
        """The items of ``x`` when ``text`` is exactly ``$(x)``/``${x}`` and ``x`` a list."""
        if len(text) < 4 or text[0] != "$" or text[1] not in "({":
            return None
        close = ")" if text[1] == "(" else "}"
        inner = text[2:-1]
        if text[-1] != close or close in inner or "$" in inner:
            return None
        return ex.list_value(lookup(inner))

    def list_items(self, rval: RList, lookup: Lookup) -> list[str]:
        out: list[str] = []
        for item in rval.items:
            if isinstance(item, Scalar):
                whole = ex.whole_list_ref(item.value)
                if whole is not None:
                    v = lookup(self.scalar(whole, lookup))
                    lst = ex.list_value(v)
                    if lst is None and isinstance(v, Data):
                        # a data object spliced into a list adds nothing, as in cf-agent
                        if item.value not in self.warned_splices:
                            self.warned_splices.add(item.value)
                            self.agent.log.warning(
                                f"'{item.value}' failed - variable is not list but data")
                        continue
                    if lst is None:
                        # an undefined list stays as written, as cf-agent keeps it
                        # (slist => { "a", @(x) } is { "a", "@(x)" }); the promise
                        # counts as unresolved
                        self.agent.note_unresolved()
                        out.append(item.value)
                    else:
                        out.extend(lst)
                    continue
                text, ok = ex.expand(item.value, lookup)
                spliced = None if ok else self._whole_list_scalar(item.value, lookup)
                if spliced is not None:
                    # "$(x)" alone where x is a list (a body parameter given @(list)):
                    # its items, as cf-agent splices them (servers => { "$(server)" })
                    out.extend(spliced)
                    continue
                if not ok:
                    # a list variable inside a list element expands to nothing
                    # only when unresolved; keep the text as cf-agent does
                    self.agent.note_unresolved()
                out.append(text)
            elif isinstance(item, RList):
                out.extend(self.list_items(item, lookup))
            else:
                v = self.call(item, lookup)
                if isinstance(v, list):
                    out.extend(v)
                elif isinstance(v, Data):
                    lst = ex.list_value(v)
                    out.extend(lst or [])
                elif isinstance(v, bool):
                    out.append("any" if v else "!any")
                elif v is not None:
                    out.append(str(v))
        return out

    # ----- function calls ---------------------------------------------------
    def call(self, fn: FnCall, lookup: Lookup) -> Any:
        registry = _registry or _load_registry()
        spec = registry.lookup(fn.name)
        if spec is None:
            from engine.eval.functions.unsupported import unknown_function_message

            raise FunctionFailed(unknown_function_message(fn.name))
        args: list[Any] = []
        for i, a in enumerate(fn.args):
            if i in spec.lazy_args:
                # delayed evaluation: the text as written, or the call itself, for the
                # function to evaluate per element with $(this...) bound (Agent.eval_lazy);
                # $(this.x) waits for that even where the bundle has an x
                args.append(ex.expand(a.value, _outer(lookup))[0] if isinstance(a, Scalar)
                            else a if isinstance(a, FnCall) else self.value(a, lookup))
                continue
            if isinstance(a, Scalar):
                whole = ex.whole_list_ref(a.value) if i not in spec.text_args else None
                if whole is not None:
                    v = lookup(self.scalar(whole, lookup))
                    if v is None:
                        raise Unresolved(a.value)
                    lst = ex.list_value(v)
                    args.append(lst if lst is not None else v)
                    continue
                text, ok = ex.expand(a.value, lookup)
                if not ok:
                    raise Unresolved(text)
                args.append(text)
            elif isinstance(a, RList):
                args.append(self.list_items(a, lookup))
            else:
                v = self.call(a, lookup)
                # a class function as an argument gives a class expression, as in cf-agent
                args.append(("any" if v else "!any") if isinstance(v, bool) else v)
        outer = self.agent.fn_lookup  # a call made while another function runs (eval_lazy)
        try:
            self.agent.fn_lookup = lookup
            return registry.call(fn.name, self.agent, args)
        except registry.FunctionError as e:
            raise FunctionFailed(str(e), quiet=e.quiet) from e
        finally:
            self.agent.fn_lookup = outer

    # ----- bodies -----------------------------------------------------------
    def body_ref(self, lval: str, rval: Rval, lookup: Lookup) -> dict[str, Any] | None:
        if isinstance(rval, Scalar):
            name = self.scalar(rval.value, lookup) if "$" in rval.value else rval.value
            args: tuple[Rval, ...] = ()
        elif isinstance(rval, FnCall):
            name, args = rval.name, rval.args
        else:
            return None
        body = self.find_body(lval, name)
        if body is None:
            return None
        arg_values = [self.value(a, lookup) for a in args]
        return self.resolve_body(body, arg_values)

    def resolve_body(self, body: Body, arg_values: list[Any], depth: int = 0) -> dict[str, Any]:
        params = dict(zip(body.args, arg_values, strict=False))
        base_lookup = self.agent.lookup
        # file_select's commands name each file judged as $(this.promiser), put in then
        per_file = body.body_type == "file_select"

        def lookup(name: str) -> Any:
            if name in params:
                return params[name]
            if per_file and name == "this.promiser":
                return "$(this.promiser)"
            return base_lookup(name)

        result: dict[str, Any] = {}
        order: list[str] = []
        for c in body.constraints:
            if c.lval != "inherit_from":
                continue
            if depth >= MAX_BODY_INHERITANCE:
                raise FunctionFailed(f"body inheritance chain depth {depth + 1} in body "
                                     f"'{body.name}' is too much (a loop of inherit_from?)")
            parent_name = c.rval.name if isinstance(c.rval, FnCall) else (
                self.scalar(c.rval.value, lookup) if isinstance(c.rval, Scalar) else "")
            if parent_name == body.name:
                from engine.eval.fatal import FatalPolicyError

                raise FatalPolicyError(f"self body inheritance in {body.name}->{body.name}, "
                                       "aborting")
            parent = self.body_ref_named(body.body_type, c.rval, lookup, depth + 1)
            if parent is not None:  # a parent that does not exist adds nothing
                result.update({k: v for k, v in parent.items() if not k.startswith("__")})
                order.extend(parent.get("__lvals__", []))
        for c in body.constraints:
            if c.lval == "inherit_from":
                continue
            if c.guard != "any":
                guard = self.scalar(c.guard, lookup) if "$" in c.guard else c.guard
                if not self.agent.ctx.class_defined(guard):
                    continue
            try:
                result[c.lval] = self.value(c.rval, lookup, c.lval)
            except (Unresolved, FunctionFailed):
                continue
            if isinstance(c.rval, Scalar) and "$" in c.rval.value:
                _check_option(body.body_type, c.lval, result[c.lval])
            if c.lval not in order:
                order.append(c.lval)
        result["__name__"] = body.name
        result["__type__"] = body.body_type
        result["__lvals__"] = order
        return result

    def body_ref_named(self, body_type: str, rval: Rval, lookup: Lookup,
                       depth: int = 1) -> dict[str, Any] | None:
        args: tuple[Rval, ...]
        if isinstance(rval, Scalar):
            name, args = self.scalar(rval.value, lookup), ()
        elif isinstance(rval, FnCall):
            name, args = rval.name, rval.args
        else:
            return None
        body = self.find_body(body_type, name)
        if body is None:
            return None
        return self.resolve_body(body, [self.value(a, lookup) for a in args], depth=depth)

    # ----- bundles ----------------------------------------------------------
    def _bundle_arg(self, a: Rval, lookup: Lookup) -> Any:
        """A bundle argument: ``@(d)`` naming a data container, or a container inside
        one (``@(d[k])``), passes the container, as cf-agent does (not its items)."""
        if isinstance(a, Scalar):
            whole = ex.whole_list_ref(a.value)
            if whole is not None:
                name = self.scalar(whole, lookup)
                v = lookup(name)
                if isinstance(v, Data):
                    return v
                if isinstance(v, (dict, list)) and "[" in name and isinstance(
                        lookup(name.partition("[")[0]), Data):
                    return Data(v)
        return self.value(a, lookup)

    def bundle_call(self, rval: Rval, lookup: Lookup) -> BundleCall:
        if isinstance(rval, FnCall):
            args = tuple(self._bundle_arg(a, lookup) for a in rval.args)
            return BundleCall(self.scalar(rval.name, lookup), args)
        if isinstance(rval, Scalar):
            return BundleCall(self.scalar(rval.value, lookup), ())
        raise Unresolved("bundle reference must be a name or a call")


def _outer(lookup: Lookup) -> Lookup:
    """``lookup`` without the ``this`` scope: what a delayed argument may take from
    outside before the function binds ``this`` per element."""
    def outer(name: str) -> Any:
        return None if name == "this" or name.startswith("this.") else lookup(name)
    return outer
