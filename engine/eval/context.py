"""The evaluation context: classes and variables, with CFEngine's scoping.

Classes: hard classes are global; soft classes are either namespace-scoped
(global, written ``ns:name`` outside the default namespace) or bundle-scoped
(they live in the frame of the bundle that defined them and vanish with it).
``-N`` names are kept only to be reported: as in cf-agent 3.21, they keep
persistent classes from being loaded and affect nothing else.

Variables live in scopes named ``ns:bundle`` (``default:main``) plus the special
scopes ``sys``, ``const``, ``this``, ``mon``, ``match``, ``edit`` and a body's
parameters. Arrays are stored flat, as ``name[key]`` entries, like CFEngine does.
"""

from __future__ import annotations

import itertools
import re

from engine._records import Record
from engine.eval import classexpr
from engine.eval.values import Data
from engine.text import canonify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

SPECIAL_SCOPES = frozenset({"sys", "const", "this", "mon", "match", "edit", "body"})


class Variable(Record):
    """A variable's value, its type, its meta tags and its promise's comment."""

    __slots__ = ("value", "vtype", "tags", "comment")
    __match_args__ = ("value", "vtype", "tags", "comment")

    def __init__(self, value: Any, vtype: str = "string", tags: tuple[str, ...] = (),
                 comment: str = "") -> None:
        self.value = value
        self.vtype = vtype
        self.tags = tags
        self.comment = comment


class Frame(Record):
    """One bundle invocation: its namespace, name and bundle-scoped classes.

    ``serial`` tells invocations apart for the whole run (``id()`` of a frame that
    has ended is reused by the next one, which would then look already evaluated)."""

    __slots__ = ("namespace", "bundle", "bundle_type", "classes", "serial")
    __match_args__ = ("namespace", "bundle", "bundle_type", "classes")

    def __init__(self, namespace: str, bundle: str, bundle_type: str = "agent",
                 classes: set[str] | None = None) -> None:
        self.namespace = namespace
        self.bundle = bundle
        self.bundle_type = bundle_type
        self.classes: set[str] = set() if classes is None else classes
        self.serial = next(_FRAME_SERIALS)

    @property
    def scope(self) -> str:
        return f"{self.namespace}:{self.bundle}"


_FRAME_SERIALS = itertools.count(1)
_INDEX = re.compile(r"^([^\[]+)((?:\[[^\]]*\])+)$")


class EvalContext:
    """Classes, variables and the stack of bundle frames for one agent run."""

    def __init__(self, hard: Iterable[str] = (), negated: Iterable[str] = ()) -> None:
        self.hard: set[str] = set(hard)
        self.soft: set[str] = set()  # namespace-scoped soft classes, "ns:name" unless default
        self.negated: set[str] = set(negated)
        self.class_tags: dict[str, tuple[str, ...]] = {}
        self.class_comments: dict[str, str] = {}
        # bundle classes in the order they were defined (classesmatching lists them
        # newest first, as cf-agent does)
        self.class_order: dict[str, int] = {}
        self.scopes: dict[str, dict[str, Variable]] = {}
        self.frames: list[Frame] = []
        self.bundle_meta: dict[str, list[str]] = {}
        self._defined_cache: dict[str, bool] = {}
        self._special: dict[str, tuple[str, str]] = {}  # ref -> (special scope, name)
        # told each soft class defined, namespace-qualified (abortclasses checks)
        self.on_define: Callable[[str], None] | None = None
        # counts the changes evaluation could see: a variable set to another value, a
        # class defined or undefined (and, from the evaluator, an actuator run or an
        # evaluation that failed); equal counts mean nothing a promise reads has changed
        self.revision = 0

    # ----- frames -----------------------------------------------------------
    @property
    def frame(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    @property
    def namespace(self) -> str:
        return self.frames[-1].namespace if self.frames else "default"

    def push(self, frame: Frame) -> None:
        self.frames.append(frame)
        self._defined_cache.clear()

    def pop(self) -> Frame:
        self._defined_cache.clear()
        return self.frames.pop()

    # ----- classes ----------------------------------------------------------
    def _qualify(self, name: str, namespace: str) -> str:
        return name if namespace == "default" else f"{namespace}:{name}"

    def is_defined(self, name: str) -> bool:
        cached = self._defined_cache.get(name)
        if cached is not None:
            return cached
        result = self._is_defined(name)
        self._defined_cache[name] = result
        return result

    def _is_defined(self, name: str) -> bool:
        if ":" in name:
            ns, _, bare = name.partition(":")
            # cf-agent finds the current bundle's own classes by their bare name,
            # whatever namespace the reference names
            if self.frames and bare in self.frames[-1].classes:
                return True
            if ns == "default":
                return bare in self.soft or bare in self.hard
            return name in self.soft
        frame = self.frames[-1] if self.frames else None
        if frame is not None:
            if name in frame.classes:
                return True
            if frame.namespace != "default":
                return f"{frame.namespace}:{name}" in self.soft or name in self.hard
        return name in self.soft or name in self.hard

    def class_defined(self, expr: str) -> bool:
        """Evaluate a class expression; a malformed one is false."""
        try:
            return classexpr.evaluate(expr, self.is_defined)
        except classexpr.ClassExprError:
            return False

    def define(self, name: str, scope: str = "namespace", tags: Iterable[str] = ()) -> bool:
        """Define a soft class."""
        name = canonify(name) if ":" not in name else name
        frame = self.frames[-1] if self.frames else None
        if scope == "bundle" and frame is not None:
            if name not in frame.classes:
                self.revision += 1
            frame.classes.add(name)
            self.class_order[name] = len(self.class_order)
        else:
            ns = frame.namespace if frame else "default"
            qualified = name if ":" in name else self._qualify(name, ns)
            if qualified not in self.soft:
                self.revision += 1
            self.soft.add(qualified)
        if tags:
            tags = tuple(tags)
            if self.class_tags.get(name) != tags:
                self.revision += 1
            self.class_tags[name] = tags
        self._defined_cache.clear()
        if self.on_define is not None:
            ns = frame.namespace if frame else "default"
            self.on_define(name if ":" in name else self._qualify(name, ns))
        return True

    def undefine(self, name: str) -> None:
        self.revision += 1
        frame = self.frames[-1] if self.frames else None
        if frame is not None:
            frame.classes.discard(name)
            self.soft.discard(self._qualify(name, frame.namespace))
        self.soft.discard(name)
        self._defined_cache.clear()

    def all_classes(self) -> set[str]:
        """Every class defined right now (bundle classes of the current frame included)."""
        out = self.hard | self.soft
        if self.frames:
            out |= self.frames[-1].classes
        return out

    # ----- variables --------------------------------------------------------
    def scope_vars(self, scope: str) -> dict[str, Variable]:
        return self.scopes.setdefault(scope, {})

    def set_var(self, scope: str, name: str, value: Any, vtype: str = "string",
                tags: tuple[str, ...] = (), comment: str = "") -> None:
        table = self.scopes.get(scope)
        if table is None:
            table = self.scopes[scope] = {}
        old = table.get(name)
        if (old is None or (old.value is not value and (
                type(old.value) is not type(value) or old.value != value))
                or old.vtype != vtype or old.tags != tags or old.comment != comment):
            self.revision += 1
        table[name] = Variable(value, vtype, tags, comment)

    def unset_var(self, scope: str, name: str) -> None:
        if self.scopes.get(scope, {}).pop(name, None) is not None:
            self.revision += 1

    def scope_for(self, ref: str) -> tuple[str, str]:
        """The (scope, name) ``ref`` names from the current bundle."""
        return self._scope_for(ref)

    def _scope_for(self, ref: str) -> tuple[str, str]:
        """Split ``ns:bundle.var`` / ``bundle.var`` / ``var`` into (scope, var)."""
        parts = _REF_PARTS.get(ref)
        if parts is None:
            parts = _ref_parts(ref)
        ns, bundle, name, qualified, in_default = parts
        if bundle is not None:
            if qualified is not None:  # a namespace was given, or a special scope
                return qualified, name
            bns = self._bundle_ns(bundle)
            return (in_default if bns == "default" else f"{bns}:{bundle}"), name
        frame = self.frames[-1] if self.frames else None
        scope = frame.scope if frame else "default:main"
        if ns is not None and frame is not None:
            scope = f"{ns}:{frame.bundle}"
        return scope, name

    def _bundle_ns(self, bundle: str) -> str:
        frame = self.frames[-1] if self.frames else None
        if (frame is not None and frame.namespace != "default"
                and f"{frame.namespace}:{bundle}" in self.scopes):
            return frame.namespace
        return "default"

    def lookup(self, ref: str) -> Any | None:
        """The value of ``ref`` or None when it is not defined."""
        split = self._special.get(ref)
        if split is None:
            split = self._scope_for(ref)
            if ":" not in split[0]:  # sys.x, const.x ...: the same in every frame
                self._special[ref] = split
        scope, name = split
        table = self.scopes.get(scope)
        if scope == "this" and self.frames and (table is None or name not in table):
            # $(this.x) is also the current bundle's own variable x
            table = self.scopes.get(self.frames[-1].scope)
        if table is None:
            return None
        var = table.get(name)
        if var is not None:
            return var.value
        m = _INDEX.match(name)
        if m is None:
            return None
        base = table.get(m.group(1))
        if base is None or not isinstance(base.value, Data):
            return None
        value: Any = base.value.value
        for key in re.findall(r"\[([^\]]*)\]", m.group(2)):
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
                value = value[int(key)]
            else:
                return None
        return value if isinstance(value, (dict, list)) and not _is_str_list(value) else value

    def lookup_var(self, ref: str) -> Variable | None:
        scope, name = self._scope_for(ref)
        return self.scopes.get(scope, {}).get(name)

    def array_keys(self, ref: str) -> list[str]:
        """Keys of the flat array ``ref`` (``ref[k]`` entries) in definition order."""
        scope, name = self._scope_for(ref)
        prefix = name + "["
        keys = []
        for k in self.scopes.get(scope, {}):
            if k.startswith(prefix) and k.endswith("]") and "[" not in k[len(prefix) : -1]:
                keys.append(k[len(prefix) : -1])
        return keys

    def var_names(self) -> list[str]:
        out: list[str] = []
        for scope, table in self.scopes.items():
            qualified = scope if ":" in scope else f"default:{scope}"
            out.extend(f"{qualified}.{name}" for name in table)
        return out


#: ref -> (namespace given or None, bundle or None, variable, the scope when it does
#: not depend on the frame: ``ns:bundle`` with a namespace, a special scope's name;
#: ``default:bundle``)
_RefParts = tuple["str | None", "str | None", str, "str | None", str]
_REF_PARTS: dict[str, _RefParts] = {}


def _ref_parts(ref: str) -> _RefParts:
    """How :meth:`EvalContext._scope_for` splits ``ref``, the part that depends only
    on the text (cached: the same references are looked up again and again)."""
    whole = ref
    ns = None
    if ":" in ref.split("[", 1)[0]:
        ns, _, ref = ref.partition(":")
    head = ref.split("[", 1)[0]
    parts: _RefParts
    if "." in head:
        dot = ref.index(".")
        bundle, name = ref[:dot], ref[dot + 1 :]
        if ns is None and bundle in SPECIAL_SCOPES:
            parts = (ns, bundle, name, bundle, "")
        else:
            parts = (ns, bundle, name, f"{ns}:{bundle}" if ns else None, f"default:{bundle}")
    else:
        parts = (ns, None, ref, None, "")
    if len(_REF_PARTS) < 200_000:
        _REF_PARTS[whole] = parts
    return parts


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
