"""Variables the loader can know before evaluation, to resolve ``inputs``.

CFEngine policy names its input files through variables: ``$(sys.libdir)/stdlib.cf``,
``@(cfengine_stdlib.inputs)``, ``$(this.promise_dirname)/paths.cf``, arrays collected with
``getvalues(input)``. The loader does not run the evaluator; it reads the ``vars``
promises of ``common`` bundles whose values are literal strings and lists (or such
references), under class guards that hold for this host, and expands references from
those and from ``sys.*`` / ``this.*``. Anything else is "not known statically".
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache

from engine.policy.ast import Bundle, FnCall, PolicyFile, Promise, RList, Rval, Scalar

Value = str | list[str]

# The ``const`` bundle: special characters policy cannot write literally.
CONST_VARS: dict[str, str] = {
    "at": "@",
    "dollar": "$",
    "dirsep": "/",
    "endl": "\n",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


# The patterns are compiled on first use: a policy without common bundles never needs them.
@cache
def _ref() -> re.Pattern[str]:
    return re.compile(r"\$\(([^()${}]+)\)|\$\{([^()${}]+)\}")


@cache
def _whole_ref() -> re.Pattern[str]:
    return re.compile(r"^[$@](?:\(([^()${}]+)\)|\{([^()${}]+)\})$")


@cache
def _array() -> re.Pattern[str]:
    return re.compile(r"^(\w+)\[([^\[\]]*)\]$")


class Unknown(Exception):
    """A value that cannot be known without evaluating the policy."""


class StaticVars:
    """``sys.*`` values plus the literal variables and classes of common bundles.

    ``evaluate(expr, is_defined)`` evaluates a class expression over the hard classes
    and ``classes``, which gains the classes of common bundles defined by literal
    ``expression``/``and``/``or``/``not``. Promises with ``if``/``unless`` are not
    considered.
    """

    __slots__ = ("sys", "evaluate", "hard_classes", "classes", "table", "arrays", "_seen", "_hard")

    def __init__(
        self,
        sys: dict[str, str],
        evaluate: Callable[[str, Callable[[str], bool]], bool],
        hard_classes: Callable[[], set[str]],
    ) -> None:
        self.sys = sys
        self.evaluate = evaluate
        # The hard classes, asked for only when a guard needs them.
        self.hard_classes = hard_classes
        self.classes: set[str] = {"any"}
        # (namespace, bundle, variable) -> value; arrays as variable "name[key]".
        self.table: dict[tuple[str, str, str], Value] = {}
        # (namespace, bundle, array name) -> keys in definition order
        self.arrays: dict[tuple[str, str, str], list[str]] = {}
        self._seen: set[int] = set()
        self._hard: set[str] | None = None

    def add_file(self, pf: PolicyFile) -> None:
        """Record the literal ``vars`` of every common bundle in ``pf`` (once per file)."""
        if id(pf) in self._seen:
            return
        self._seen.add(id(pf))
        dirname = os.path.dirname(pf.path)
        for b in pf.bundles:
            if b.bundle_type == "common":
                self._add_classes(b)
                self._add_bundle(b, pf.path, dirname)

    def defined(self, expr: str) -> bool:
        """Whether class expression ``expr`` holds with what is known so far."""
        if expr == "any":
            return True
        try:
            return self.evaluate(expr, self._has_class)
        except ValueError:
            return False

    def _has_class(self, name: str) -> bool:
        if self._hard is None:
            self._hard = self.hard_classes()
        bare = name.removeprefix("default:")
        return bare in self.classes or bare in self._hard

    def _add_classes(self, b: Bundle) -> None:
        for p in b.promises:
            if p.promise_type != "classes" or not self._guard_holds(p):
                continue
            exprs: list[str] = []
            for c in p.constraints:
                if c.lval in ("expression", "and", "or", "not"):
                    items = c.rval.items if isinstance(c.rval, RList) else (c.rval,)
                    if not all(isinstance(i, Scalar) and "$" not in i.value for i in items):
                        exprs = []
                        break
                    vals = [f"({i.value})" for i in items if isinstance(i, Scalar)]
                    if not vals:
                        break
                    joined = {"and": ".", "or": "|"}.get(c.lval, ".").join(vals)
                    exprs.append(f"!({joined})" if c.lval == "not" else joined)
                elif c.lval not in ("comment", "meta", "handle", "scope", "persistence"):
                    exprs = []
                    break
            if exprs and all(self.defined(e) for e in exprs):
                self.classes.add(p.promiser)

    def _add_bundle(self, b: Bundle, path: str, dirname: str) -> None:
        this = {"promise_dirname": dirname, "promise_filename": path, "bundle": b.name}
        for p in b.promises:
            if p.promise_type != "vars" or not self._guard_holds(p):
                continue
            for c in p.constraints:
                if c.lval not in ("string", "slist"):
                    continue
                try:
                    value = self.rval(c.rval, b.namespace, b.name, this)
                except Unknown:
                    continue
                if c.lval == "slist" and isinstance(value, str):
                    value = [value]
                self._store(b, p.promiser, value)

    def _guard_holds(self, p: Promise) -> bool:
        if any(c.lval in ("if", "ifvarclass", "unless") for c in p.constraints):
            return False
        return "$" not in p.guard and self.defined(p.guard)

    def _store(self, b: Bundle, promiser: str, value: Value) -> None:
        m = _array().match(promiser)
        if m is not None:
            key = (b.namespace, b.name, m.group(1))
            keys = self.arrays.setdefault(key, [])
            if m.group(2) not in keys:
                keys.append(m.group(2))
        self.table[(b.namespace, b.name, promiser)] = value

    # -- look-ups and expansion ---------------------------------------------------

    def lookup(self, name: str, namespace: str, bundle: str | None, this: dict[str, str]) -> Value:
        """The value of ``name`` (``sys.x``, ``this.x``, ``b.v``, ``ns:b.v`` or a bare ``v``)."""
        ns, sep, rest = name.partition(":")
        if not sep:
            ns, rest = namespace, name
        scope, dot, var = rest.partition(".")
        if not dot:
            if bundle is None:
                raise Unknown(name)
            scope, var = bundle, rest
        if scope == "sys" and var in self.sys:
            return self.sys[var]
        if scope == "this" and var in this:
            return this[var]
        if scope == "const" and var in CONST_VARS:
            return CONST_VARS[var]
        for key in ((ns, scope, var), ("default", scope, var)):
            if key in self.table:
                return self.table[key]
        raise Unknown(name)

    def expand(self, s: str, namespace: str, bundle: str | None, this: dict[str, str]) -> str:
        """``s`` with every ``$(x)`` replaced; lists cannot be joined into a string."""
        if "$" not in s:
            return s

        def sub(m: re.Match[str]) -> str:
            v = self.lookup(m.group(1) or m.group(2), namespace, bundle, this)
            if not isinstance(v, str):
                raise Unknown(m.group(0))
            return v

        out = _ref().sub(sub, s)
        if "$(" in out or "${" in out:
            raise Unknown(s)
        return out

    def rval(self, rval: Rval, namespace: str, bundle: str | None, this: dict[str, str]) -> Value:
        """The static value of an rval: a string, or a list with ``@(x)`` spliced in."""
        if isinstance(rval, Scalar):
            whole = _whole_ref().match(rval.value)
            if whole is not None:
                return self.lookup(whole.group(1) or whole.group(2), namespace, bundle, this)
            if rval.value.startswith("@"):
                raise Unknown(rval.value)
            return self.expand(rval.value, namespace, bundle, this)
        if isinstance(rval, RList):
            out: list[str] = []
            for item in rval.items:
                v = self.rval(item, namespace, bundle, this)
                out.extend(v if isinstance(v, list) else [v])
            return out
        if isinstance(rval, FnCall) and rval.name == "getvalues" and len(rval.args) == 1:
            arg = rval.args[0]
            if isinstance(arg, Scalar) and "$" not in arg.value and "@" not in arg.value:
                return self._array_values(arg.value, namespace, bundle)
        raise Unknown(getattr(rval, "name", "?"))

    def _array_values(self, name: str, namespace: str, bundle: str | None) -> list[str]:
        ns, sep, rest = name.partition(":")
        if not sep:
            ns, rest = namespace, name
        scope, dot, var = rest.partition(".")
        if not dot:
            if bundle is None:
                raise Unknown(name)
            scope, var = bundle, rest
        for key in ((ns, scope, var), ("default", scope, var)):
            if key in self.arrays:
                out: list[str] = []
                for k in self.arrays[key]:
                    v = self.table[(key[0], key[1], f"{var}[{k}]")]
                    out.extend(v if isinstance(v, list) else [v])
                return out
            if key in self.table:
                v = self.table[key]
                return v if isinstance(v, list) else [v]
        raise Unknown(name)
