"""Checks on a loaded policy beyond syntax, with cf-promises' positions where it has them.

``validate(policy, bundlesequence=None) -> list[Diagnostic]`` reports:

* duplicate bundles (same namespace, type and name) and bodies (namespace, type, name),
  at each definition;
* unknown bundle and body types, unknown attributes of bodies;
* promise types unknown or not allowed in their bundle type (at the ``type:`` line);
  an undeclared promise type in an agent bundle is a warning (cf-agent skips it with
  an error at run time), a known one that vigil does not act on is ``unsupported``;
* attributes unknown for their promise type (error) or not acted on (``unsupported``);
* body references: the body must exist with the right number of arguments, and be
  written unquoted (``perms => m("644")``, not ``"m"``);
* bundle references (``usebundle``, ``edit_line``...): the right number of arguments;
  a bundle that does not exist is a warning (cf-agent fails at run time);
* literal values: lists where a scalar is expected and the other way round, integers,
  reals and option values out of their range; unknown functions and wrong argument
  counts;
* the bundlesequence (given, or from ``body common control``) names defined bundles;
  entries that are variables or function calls are not checked.

References that contain ``$(...)``/``@(...)`` are decided at run time and are skipped.
"""

from __future__ import annotations

import re
from functools import cache

from engine.policy import syntax
from engine.policy.ast import (
    Body,
    Bundle,
    Constraint,
    FnCall,
    Policy,
    Pos,
    Promise,
    RList,
    Rval,
    Scalar,
)
from engine.policy.diagnostics import Diagnostic, error, unsupported, warning

_LIST_TYPES = frozenset({"slist", "ilist", "rlist", "clist", "olist"})
_SCALAR_TYPES = frozenset({"string", "int", "real", "option", "context"})
# Body types a bundle-valued attribute needs; None: any bundle type.
_BUNDLE_REF_TYPES = {
    "edit_line": "edit_line",
    "edit_xml": "edit_xml",
    "usebundle": None,
    "home_bundle": None,
    "service_bundle": None,
}

# The function return types each attribute type takes (cf-promises 3.21, found by
# trying every pair): the type itself, and scalars into lists of their kind. A
# class function (context) into a clist passes here and fails when the agent runs.
_RETURN_TYPES_ACCEPTED: dict[str, frozenset[str]] = {
    "string": frozenset({"string", "context", "int", "real"}),
    "int": frozenset({"int"}),
    "real": frozenset({"real"}),
    "context": frozenset({"context", "string"}),
    "option": frozenset(),
    "slist": frozenset({"slist", "string"}),
    "ilist": frozenset({"ilist", "int"}),
    "rlist": frozenset({"rlist", "real"}),
    "clist": frozenset({"context"}),
    "olist": frozenset(),
    "data": frozenset({"data"}),
    "irange": frozenset({"irange"}),
}

# (body type, attribute) that CFEngine removed: still accepted, with a warning
_REMOVED_ATTRS = frozenset({("common", "host_licenses_paid")})


@cache
def _int() -> re.Pattern[str]:
    return re.compile(r"^[+-]?(?:\d+[kKmMgG%]?|inf)$")


@cache
def _real() -> re.Pattern[str]:
    return re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[kKmMgG%]?$")


# what a ``promise agent NAME`` block may hold
_PROMISE_BLOCK_ATTRS = frozenset({"path", "interpreter"})


def validate(policy: Policy, bundlesequence: list[str] | None = None, *,
             inputs_pending: bool = False) -> list[Diagnostic]:
    """Every finding, sorted by file and line. ``inputs_pending``: an input is named
    only by evaluation (engine.policy.loader.LoadResult.inputs_pending), so a bundle
    the bundlesequence names may be in it: the agent checks once it is loaded."""
    v = _Validator(policy, inputs_pending)
    v.run(bundlesequence)
    return sorted(v.out, key=lambda d: (d.pos.file, d.pos.line, d.pos.col))


def _dynamic(s: str) -> bool:
    return "$(" in s or "${" in s or "@(" in s or "@{" in s


class _Validator:
    def __init__(self, policy: Policy, inputs_pending: bool = False) -> None:
        self.policy = policy
        self.out: list[Diagnostic] = []
        self.table = syntax.table()
        self.clean_literals: set[tuple[str, str, str]] = set()
        self.inputs_pending = inputs_pending
        self.custom_types = {
            b.name for f in policy.files for b in f.bodies if b.body_type == "promise"
        }

    def run(self, bundlesequence: list[str] | None) -> None:
        self.duplicates()
        for f in self.policy.files:
            for body in f.bodies:
                self.check_body(body)
            for bundle in f.bundles:
                self.check_bundle(bundle)
        self.check_bundlesequence(bundlesequence)

    # -- definitions ----------------------------------------------------------------

    def duplicates(self) -> None:
        seen_b: dict[tuple[str, str, str], Bundle] = {}
        seen_body: dict[tuple[str, str, str], Body] = {}
        for f in self.policy.files:
            for b in f.bundles:
                key = (b.namespace, b.bundle_type, b.name)
                first = seen_b.setdefault(key, b)
                if first is not b:
                    self._dup("bundle", b.name, b.bundle_type, first.pos, b.pos)
            for body in f.bodies:
                if body.name == "control":
                    continue
                key = (body.namespace, body.body_type, body.name)
                first_body = seen_body.setdefault(key, body)
                if first_body is not body:
                    self._dup("body", body.name, body.body_type, first_body.pos, body.pos)

    def _dup(self, what: str, name: str, typ: str, first: Pos, again: Pos) -> None:
        self.out.append(
            error(
                first, f"duplicate definition of {what} '{name}' of type {typ} (again at {again})"
            )
        )
        self.out.append(
            error(
                again, f"duplicate definition of {what} '{name}' of type {typ} (first at {first})"
            )
        )

    # -- bodies -----------------------------------------------------------------------

    def check_body(self, body: Body) -> None:
        if body.body_type == "promise":
            for c in body.constraints:
                if c.lval not in _PROMISE_BLOCK_ATTRS:
                    self.out.append(
                        error(c.pos, f"Unknown attribute '{c.lval}' for 'promise agent {body.name}'")
                    )
            return
        attrs = self.table.body_types.get(body.body_type)
        if attrs is None:
            self.out.append(error(body.pos, f"unknown body type '{body.body_type}'"))
            return
        for c in body.constraints:
            attr = attrs.get(c.lval)
            if attr is None and (body.body_type, c.lval) in _REMOVED_ATTRS:
                # attributes CFEngine removed are accepted with a warning, as cf-promises does
                self.out.append(warning(c.pos, f"Removed constraint '{c.lval}' in promise type "
                                               f"'{body.body_type}' [-Wremoved]"))
                continue
            if attr is None:
                self.out.append(
                    error(
                        c.pos,
                        f"unknown attribute '{c.lval}' for 'body {body.body_type} {body.name}'",
                    )
                )
                continue
            if c.lval == "inherit_from":
                self.check_inherit_from(c, body)
                continue
            self.check_value(c, attr, attr.body_type, body.namespace)

    def check_inherit_from(self, c: Constraint, body: Body) -> None:
        """A parent that exists must take the arguments given; cf-promises accepts a
        parent that does not exist (cf-agent then ignores the body)."""
        rv = c.rval
        name = rv.name if isinstance(rv, FnCall) else rv.value if isinstance(rv, Scalar) else ""
        if not name or _dynamic(name):
            return
        if self.policy.find_body(body.body_type, name, body.namespace) is not None:
            self.check_body_ref(c, rv, body.body_type, body.namespace)

    # -- bundles ----------------------------------------------------------------------

    def check_bundle(self, bundle: Bundle) -> None:
        allowed = self.table.bundle_types.get(bundle.bundle_type)
        if allowed is None:
            self.out.append(error(bundle.pos, f"Unknown bundle type '{bundle.bundle_type}'"))
            return
        bad_sections: set[str] = set()
        for ptype, pos in bundle.sections:
            msg = self._section_problem(bundle, ptype, allowed)
            if msg is not None:
                severity, text = msg
                if severity != "unsupported":  # what vigil does not act on is still checked
                    bad_sections.add(ptype)
                self.out.append(Diagnostic(pos, severity, text))  # type: ignore[arg-type]
        promise_types = self.table.promise_types
        custom = self.custom_types
        clean = self.clean_literals
        for p in bundle.promises:
            ptype = p.promise_type
            if ptype in custom and ptype not in bad_sections:
                self.check_custom_promise(p)
            if ptype in bad_sections or ptype in custom:
                continue
            attrs = promise_types.get(ptype)
            if attrs is None:
                continue
            # Most promises of big policies have only constraints found clean before
            # (see check_promise); those are not checked again.
            for c in p.constraints:
                rv = c.rval
                if type(rv) is not Scalar or not rv.quoted or (ptype, c.lval, rv.value) not in clean:
                    self.check_promise(bundle, p, attrs)
                    break

    def check_custom_promise(self, p: Promise) -> None:
        """Custom promises take any attribute (their module validates them), but the
        agent keeps ``if`` for itself and refuses the older ``ifvarclass``."""
        for c in p.constraints:
            if c.lval == "ifvarclass":
                self.out.append(
                    error(
                        c.pos,
                        "Common attribute 'ifvarclass' not supported for custom promises, "
                        f"use 'if' instead ({p.promise_type} promises)",
                    )
                )

    def _section_problem(
        self, bundle: Bundle, ptype: str, allowed: frozenset[str]
    ) -> tuple[str, str] | None:
        known = ptype in self.table.promise_types
        if ptype in allowed:
            if not syntax.is_supported(ptype):
                return "unsupported", f"unsupported promise type '{ptype}'"
            return None
        if known:
            return (
                "error",
                f"promise type '{ptype}' is not allowed in a '{bundle.bundle_type}' bundle",
            )
        if ptype in self.custom_types:
            return None  # reported once, at the promise block
        if bundle.bundle_type == "agent":
            return "warning", f"undefined promise type '{ptype}' (no 'promise agent {ptype}' block)"
        return "error", f"unknown promise type '{ptype}' in a '{bundle.bundle_type}' bundle"

    def check_promise(self, bundle: Bundle, p: Promise, attrs: dict[str, syntax.Attribute]) -> None:
        clean = self.clean_literals
        for c in p.constraints:
            rv = c.rval
            # Generated and repetitive policy repeats the same `lval => "literal"`; a
            # combination found clean once is clean everywhere.
            key = (p.promise_type, c.lval, rv.value) if type(rv) is Scalar and rv.quoted else None
            if key is not None and key in clean:
                continue
            found = len(self.out)
            attr = attrs.get(c.lval)
            if attr is None:
                self.out.append(
                    error(
                        c.pos,
                        f"unknown attribute '{c.lval}' for promise type '{p.promise_type}' "
                        f"in a '{bundle.bundle_type}' bundle",
                    )
                )
                continue
            if not syntax.attribute_supported(p.promise_type, c.lval):
                self.out.append(
                    unsupported(c.pos, f"unsupported attribute '{c.lval}' for '{p.promise_type}'")
                )
            self.check_value(c, attr, attr.body_type, bundle.namespace)
            if key is not None and len(self.out) == found:
                clean.add(key)

    # -- values -----------------------------------------------------------------------

    def check_value(
        self, c: Constraint, attr: syntax.Attribute, body_type: str | None, namespace: str
    ) -> None:
        rv = c.rval
        if attr.type == "body":
            if body_type is not None:
                self.check_body_ref(c, rv, body_type, namespace)
            return
        if attr.type == "bundle":
            self.check_bundle_ref(c, rv, namespace)
            return
        self.check_calls(rv)
        if isinstance(rv, FnCall):
            self.check_return_type(rv, attr.type)
        elif isinstance(rv, RList) and attr.type in _LIST_TYPES:
            # a call among a list's items returns the list's type or its item's type
            # (``{ "a", getindices(x) }``), not another (``{ length(x) }``, ``{ irange(1, 2) }``)
            for item in rv.items:
                if isinstance(item, FnCall):
                    self.check_return_type(item, attr.type)
        if attr.type in _LIST_TYPES and isinstance(rv, Scalar):
            # "$(x)", "@(x)" and a bare @(x) too: a scalar, whatever it expands to
            self.out.append(error(rv.pos, f"'{c.lval}' needs a list, found a string"))
        elif attr.type in _SCALAR_TYPES and isinstance(rv, RList):
            self.out.append(error(rv.pos, f"'{c.lval}' needs a single value, found a list"))
        elif isinstance(rv, Scalar) and not _dynamic(rv.value):
            self.check_literal(c.lval, attr, rv)
        elif attr.type in ("ilist", "rlist") and isinstance(rv, RList):
            item_type = "int" if attr.type == "ilist" else "real"
            for item in rv.items:
                if isinstance(item, Scalar) and not _dynamic(item.value):
                    self.check_literal(c.lval, syntax.Attribute(c.lval, item_type), item)
        elif attr.type == "slist" and attr.range and isinstance(rv, RList):
            # each literal item must match the range, as cf-promises checks it
            item_attr = syntax.Attribute(c.lval, "string", attr.range)
            for item in rv.items:
                if isinstance(item, Scalar) and not _dynamic(item.value):
                    self.check_literal(c.lval, item_attr, item)

    def check_return_type(self, call: FnCall, attr_type: str) -> None:
        """A built-in function whose return type the attribute cannot take, as
        cf-promises rejects it (``or => getindices(...)``, ``data => splitstring(...)``)."""
        accepts = _RETURN_TYPES_ACCEPTED.get(attr_type)
        fn = self.table.functions.get(call.name)
        if accepts is None or fn is None or _dynamic(call.name):
            return
        if fn.return_type not in accepts:
            self.out.append(error(call.pos, "Function does not return the required type"))

    def check_literal(self, lval: str, attr: syntax.Attribute, rv: Scalar) -> None:
        value = rv.value
        if attr.range:
            from engine.policy.ranges import range_error

            why = range_error(lval, attr.type, attr.range, value)
            if why is not None:
                self.out.append(error(rv.pos, why))
                return
        if attr.type == "int" and not _int().match(value.strip()):
            self.out.append(error(rv.pos, f"'{lval}' needs an integer, found '{value}'"))
        elif attr.type == "real" and not _real().match(value.strip()):
            self.out.append(error(rv.pos, f"'{lval}' needs a real number, found '{value}'"))
        elif attr.type == "option" and attr.range and "," in attr.range:
            choices = attr.range.split(",")
            if value not in choices:
                self.out.append(
                    error(rv.pos, f"'{lval}' must be one of {', '.join(choices)}; found '{value}'")
                )

    def check_calls(self, rv: Rval) -> None:
        if isinstance(rv, RList):
            for item in rv.items:
                self.check_calls(item)
        elif isinstance(rv, FnCall):
            self.check_call(rv)

    def check_call(self, call: FnCall) -> None:
        if _dynamic(call.name):
            return
        fn = self.table.functions.get(call.name)
        if fn is None:
            # A bundlesequence entry may call a bundle with arguments: g("x").
            if self.policy.find_bundle(call.name) is None:
                self.out.append(error(call.pos, f"unknown function '{call.name}'"))
            return
        # Variadic functions have optional parameters; only fixed arities are checked.
        n, want = len(call.args), len(fn.parameters)
        if not fn.variadic and n != want:
            self.out.append(
                error(call.pos, f"function '{call.name}' takes {want} argument(s), {n} given")
            )
        for i, a in enumerate(call.args):
            if i < len(fn.ranges) and fn.ranges[i] and isinstance(a, Scalar):
                self.check_argument(call, fn.parameters[i], fn.ranges[i], a)
            self.check_calls(a)

    def check_argument(self, call: FnCall, type_: str, range_: str, arg: Scalar) -> None:
        """A literal int, real or option argument outside its declared range, as
        cf-promises rejects it (``accumulated(0,1001,...)``: months go to 1000)."""
        value = arg.value
        # an unquoted name may be a call without parentheses: ``irange(..., now)``
        if _dynamic(value) or (not arg.quoted and value.isidentifier()):
            return
        from engine.policy.ranges import range_error

        if type_ == "option":
            if value in range_.split(","):
                return
            why = "Selection is out of bounds"
        elif type_ == "int" and not _int().match(value.strip()):
            why = "Cannot parse value as integer"
        elif type_ == "real" and not _real().match(value.strip()):
            why = "Cannot parse value as real"
        elif range_error(call.name, type_, range_, value) is not None:
            why = "Integer is out of range" if type_ == "int" else "Real value is out of range"
        else:
            return
        self.out.append(
            error(arg.pos, f"In function '{call.name}', error in variable '{value}', '{why}'")
        )

    def check_body_ref(self, c: Constraint, rv: Rval, body_type: str, namespace: str) -> None:
        if isinstance(rv, Scalar):
            if _dynamic(rv.value):
                return
            if rv.quoted:
                self.out.append(
                    error(
                        rv.pos,
                        f"'{c.lval}' needs an unquoted body name, found the string \"{rv.value}\"",
                    )
                )
                return
            name, nargs = rv.value, 0
        elif isinstance(rv, FnCall):
            if _dynamic(rv.name):
                return
            name, nargs = rv.name, len(rv.args)
        else:
            self.out.append(error(rv.pos, f"'{c.lval}' needs a body name, found a list"))
            return
        body = self.policy.find_body(body_type, name, namespace)
        if body is None:
            # cf-promises' wording
            self.out.append(error(c.pos, f"Undefined body {name} with type {body_type}"))
        elif len(body.args) != nargs:
            self.out.append(
                error(
                    c.pos,
                    f"body '{name}' of type {body_type} takes {len(body.args)} argument(s), "
                    f"{nargs} given",
                )
            )

    def check_bundle_ref(self, c: Constraint, rv: Rval, namespace: str) -> None:
        if isinstance(rv, Scalar):
            if _dynamic(rv.value):
                return
            name, nargs = rv.value, 0
        elif isinstance(rv, FnCall):
            if _dynamic(rv.name):
                return
            name, nargs = rv.name, len(rv.args)
        else:
            return
        bundle = self.policy.find_bundle(name, namespace)
        if bundle is None:
            self.out.append(warning(c.pos, f"bundle '{name}' is not defined"))
            return
        need = _BUNDLE_REF_TYPES.get(c.lval)
        if need is not None and bundle.bundle_type != need:
            self.out.append(
                error(
                    c.pos,
                    f"'{c.lval}' needs an {need} bundle; '{name}' is a {bundle.bundle_type} bundle",
                )
            )
        elif len(bundle.args) != nargs:
            self.out.append(
                error(
                    c.pos,
                    f"bundle '{name}' takes {len(bundle.args)} argument(s), {nargs} given",
                )
            )

    # -- bundlesequence ---------------------------------------------------------------

    def check_bundlesequence(self, given: list[str] | None) -> None:
        if self.inputs_pending:
            return
        if given is not None:
            for name in given:
                bare = name.partition("(")[0].strip()
                if bare and not _dynamic(bare) and self.policy.find_bundle(bare) is None:
                    self.out.append(
                        error(
                            Pos("<bundlesequence>", 1, 1),
                            f"bundle '{bare}' listed in the bundlesequence is not defined",
                        )
                    )
            return
        if self.policy.common_flag("ignore_missing_bundles"):
            return
        for body in self.policy.control_bodies("common"):
            for c in body.constraints:
                if c.lval != "bundlesequence":
                    continue
                items = c.rval.items if isinstance(c.rval, RList) else (c.rval,)
                for item in items:
                    self._check_seq_item(item)

    def _check_seq_item(self, item: Rval) -> None:
        if isinstance(item, Scalar):
            if _dynamic(item.value):
                return
            name = item.value
        elif isinstance(item, FnCall):
            if _dynamic(item.name) or item.name in self.table.functions:
                return
            name = item.name
        else:
            return
        if self.policy.find_bundle(name) is None:
            self.out.append(
                error(item.pos, f"bundle '{name}' listed in the bundlesequence is not defined")
            )
