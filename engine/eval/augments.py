"""Augments: ``def.json`` and ``host_specific.json``, read before any policy runs.

As in cf-agent 3.21:

* ``$(sys.workdir)/data/host_specific.json`` (CMDB data) is read first. Its ``vars``
  and ``variables`` default to the ``data:variables`` bundle and are tagged
  ``source=cmdb``; its classes (namespace ``data`` unless named) are defined
  unconditionally, so their rules may only say ``any``. Variable references are
  refused. No augments file can change a variable it defines.
* ``def_preferred.json`` (unless ``--ignore-preferred-augments``) or ``def.json`` next
  to the policy entry is read next, then every file its ``augments`` key names, in
  order, each overriding the ones before. Their ``vars`` and ``variables`` default to
  ``default:def`` and are tagged ``source=augments_file``; ``variables`` (with
  ``value``, ``tags``, ``comment``) win over ``vars`` of the same file. ``classes``
  are regular expressions matched against the classes defined so far, or class
  expressions when they end in ``::``. ``inputs`` becomes ``def.augments_inputs``.
  ``$(sys.x)`` references in strings are expanded; others stay as written.

A JSON value becomes a string (a primitive), an slist (an array of primitives) or a
data container (anything else). Policy that defines the same variable later wins.
"""

from __future__ import annotations

import json
import os
import re

from engine.eval.values import Data
from engine.text import canonify

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from engine.eval.agent import Agent

AUGMENTS_TAG = "source=augments_file"
CMDB_TAG = "source=cmdb"
MAX_FILE_SIZE = 5 * 1024 * 1024
# cf-agent's own variable in the def bundle
JQ_COMMAND = "jq --compact-output --monochrome-output --ascii-output --unbuffered --sort-keys"

_SYS_REF = re.compile(r"\$\(sys\.([A-Za-z0-9_]+)\)|\$\{sys\.([A-Za-z0-9_]+)\}")
_ANY_REF = re.compile(r"\$\([^)]*\)|\$\{[^}]*\}")


def _primitive_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _typed(value: Any) -> tuple[Any, str]:
    """A JSON value as (value, vtype): string, slist or data."""
    if not isinstance(value, (dict, list)):
        return _primitive_text(value), "string"
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return [_primitive_text(v) for v in value], "slist"
    return Data(value), "data"


def _split_ref(key: str, default_ns: str, default_bundle: str) -> tuple[str, str, str] | None:
    """``ns:bundle.var`` / ``bundle.var`` / ``var`` -> (ns, bundle, var)."""
    ns, sep, rest = key.partition(":")
    if not sep:
        ns, rest = default_ns, key
    bundle, dot, name = rest.partition(".")
    if not dot:
        if sep:  # a namespace needs a bundle
            return None
        return ns, default_bundle, rest
    return ns, bundle, name


class _Installer:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.log = agent.log
        self.cmdb_vars: set[tuple[str, str, str]] = set()

    # ----- files --------------------------------------------------------------
    def read(self, path: str, missing_level: str) -> Any | None:
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_FILE_SIZE + 1)
        except FileNotFoundError:
            getattr(self.log, missing_level)(f"Could not open JSON file {path}")
            return None
        except OSError as e:
            self.log.error(f"Could not read JSON file {path}: {e.strerror}")
            return None
        if len(raw) > MAX_FILE_SIZE:
            self.log.error(f"Could not parse JSON file {path}: the file is too large")
            return None
        try:
            doc = json.loads(raw.decode("utf-8", "surrogateescape"))
        except ValueError as e:
            self.log.error(f"Could not parse JSON file {path}: {e}")
            return None
        return doc

    def expand_sys(self, value: Any) -> Any:
        if isinstance(value, str):
            if "$" not in value:
                return value

            def sub(m: re.Match[str]) -> str:
                v = self.agent.ctx.lookup(f"sys.{m.group(1) or m.group(2)}")
                return v if isinstance(v, str) else m.group(0)

            return _SYS_REF.sub(sub, value)
        if isinstance(value, list):
            return [self.expand_sys(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand_sys(v) for k, v in value.items()}
        return value

    # ----- variables ----------------------------------------------------------
    def set_var(self, key: str, value: Any, tags: list[str], comment: str, cmdb: bool,
                where: str) -> None:
        ref = _split_ref(key, "data" if cmdb else "default", "variables" if cmdb else "def")
        if ref is None:
            self.log.error(f"Invalid variable specification in {where}: '{key}' "
                           "(bundle name has to be specified if namespace is specified)")
            return
        ns, bundle, name = ref
        if not cmdb and ref in self.cmdb_vars:
            self.log.verbose(f"Cannot set variable {ns}:{bundle}.{name} from augments, "
                             "already defined from host-specific data")
            return
        typed, vtype = _typed(value)
        self.agent.ctx.set_var(f"{ns}:{bundle}", name, typed, vtype, tuple(tags), comment)
        if cmdb:
            self.cmdb_vars.add(ref)

    def vars_key(self, data: Any, where: str, cmdb: bool) -> None:
        if not isinstance(data, dict):
            self.log.error(f"Invalid 'vars' {where}, must be a JSON object")
            return
        tag = CMDB_TAG if cmdb else AUGMENTS_TAG
        for key, value in data.items():
            self.set_var(key, value, [tag], "", cmdb, where)

    def variables_key(self, data: Any, where: str, cmdb: bool) -> None:
        if not isinstance(data, dict):
            self.log.error(f"Invalid 'variables' {where}, must be a JSON object")
            return
        tag = CMDB_TAG if cmdb else AUGMENTS_TAG
        for key, info in data.items():
            comment = ""
            tags = [tag]
            if isinstance(info, dict):
                if "value" not in info:
                    self.log.error(f"Missing value in '{key}' variable specification in "
                                   f"{where} (value field is required)")
                    continue
                value = info["value"]
                tags = [*self.tags_of("variable", key, info.get("tags"), where), tag]
                comment = self.comment_of("variable", key, info, where)
            else:
                value = info
            self.set_var(key, value, tags, comment, cmdb, where)

    def tags_of(self, what: str, key: str, tags: Any, where: str) -> list[str]:
        if tags is None:
            return []
        if not isinstance(tags, list) or any(isinstance(t, (dict, list)) for t in tags):
            self.log.error(f"Invalid tags information for {what} '{key}' in {where}: "
                           "must be a JSON array of strings")
            return []
        return [_primitive_text(t) for t in tags]

    def comment_of(self, what: str, key: str, info: dict[str, Any], where: str) -> str:
        comment = info.get("comment")
        if comment is None:
            return ""
        if not isinstance(comment, str):
            self.log.error(f"Invalid type of the 'comment' field for the '{key}' {what} in "
                           f"{where}, must be a string")
            return ""
        return comment

    # ----- classes ------------------------------------------------------------
    def define_class(self, key: str, tags: list[str], comment: str, default_ns: str) -> None:
        ctx = self.agent.ctx
        ns, sep, name = key.partition(":")
        if not sep:
            ns, name = default_ns, key
        name = canonify(name)
        qualified = name if ns == "default" else f"{ns}:{name}"
        ctx.define(qualified, "namespace", tags)
        if comment:
            ctx.class_comments[qualified] = comment

    def rule_holds(self, rule: str) -> bool:
        ctx = self.agent.ctx
        if rule.endswith("::"):
            return ctx.class_defined(rule[:-2])
        try:
            rx = re.compile(rule)
        except re.error:
            self.log.error(f"Invalid regular expression '{rule}' in augments classes")
            return False
        return any(rx.fullmatch(c) for c in ctx.all_classes())

    def classes_key(self, data: Any, where: str, path: str) -> None:
        if not isinstance(data, dict):
            self.log.error(f"Invalid 'classes' {where}, must be a JSON object")
            return
        for key, spec in data.items():
            tags = [AUGMENTS_TAG]
            comment = ""
            if isinstance(spec, str):
                rules = [spec]
            elif isinstance(spec, list) and all(not isinstance(r, (dict, list)) for r in spec):
                rules = [_primitive_text(r) for r in spec]
            elif isinstance(spec, dict):
                exprs, regexes = spec.get("class_expressions"), spec.get("regular_expressions")
                if exprs is None and regexes is None:
                    self.log.error(f"Invalid augments class data for class '{key}' in '{path}': "
                                   'either "class_expressions" or "regular_expressions" need '
                                   "to be specified")
                    continue
                rules = []
                for r in exprs or []:
                    text = _primitive_text(r)
                    rules.append(text if text.endswith("::") else text + "::")
                rules += [_primitive_text(r) for r in regexes or []]
                tags = [*self.tags_of("class", key, spec.get("tags"), where), AUGMENTS_TAG]
                comment = self.comment_of("class", key, spec, where)
            else:
                self.log.error(f"Invalid augments class data for class '{key}' in '{path}'")
                continue
            if any(self.rule_holds(r) for r in rules):
                self.define_class(key, tags, comment, "default")

    def cmdb_classes(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            self.log.error(f"Invalid 'classes' {where}, must be a JSON object")
            return
        for key, spec in data.items():
            tags = [CMDB_TAG]
            comment = ""
            if isinstance(spec, str):
                if spec != "any::":
                    self.log.error(f"Invalid class specification '{spec}' in {where}, "
                                   'only "any::" allowed')
                    continue
            elif isinstance(spec, list) and all(not isinstance(r, (dict, list)) for r in spec):
                if spec != ["any::"]:
                    first = _primitive_text(spec[0]) if spec else ""
                    self.log.error(f"Invalid class specification '{first}' in {where}, "
                                   """only '["any::"]' allowed""")
                    continue
            elif isinstance(spec, dict):
                if not _only(spec.get("class_expressions"), "any::"):
                    self.log.error(f"Invalid class expression rules for class '{key}' in "
                                   """CMDB data, only '[]' or '["any::"]' allowed""")
                    continue
                if not _only(spec.get("regular_expressions"), "any"):
                    self.log.error(f"Invalid regular expression rules for class '{key}' in "
                                   """CMDB data, only '[]' or '["any"]' allowed""")
                    continue
                tags = [*self.tags_of("class", key, spec.get("tags"), where), CMDB_TAG]
                comment = self.comment_of("class", key, spec, where)
            else:
                self.log.error(f"Invalid class specification for class '{key}' in {where}")
                continue
            self.define_class(key, tags, comment, "data")

    # ----- the two kinds of file ----------------------------------------------
    def host_specific(self, path: str) -> None:
        doc = self.read(path, "verbose")
        if doc is None:
            return
        where = "CMDB data"
        if not isinstance(doc, dict):
            self.log.error(f"Invalid CMDB data in '{path}', must be a JSON object")
            return
        for key in doc:
            if key not in ("vars", "variables", "classes"):
                self.log.warning(f"Invalid key '{key}' in the CMDB data file '{path}', skipping it")
        for key in ("vars", "variables", "classes"):
            if key not in doc:
                continue
            if _has_ref(doc[key]):
                self.log.error(f"Invalid '{key}' {where}, cannot contain variable references")
                continue
            if key == "vars":
                self.vars_key(doc[key], where, cmdb=True)
            elif key == "variables":
                self.variables_key(doc[key], where, cmdb=True)
            else:
                self.cmdb_classes(doc[key], where)

    def augments_file(self, path: str, depth: int = 0) -> None:
        doc = self.read(path, "verbose" if depth == 0 else "error")
        if doc is None:
            return
        if not isinstance(doc, dict):
            self.log.error(f"Invalid augments file '{path}', must be a JSON object")
            return
        self.log.verbose(f"Loaded augments file '{path}', installing contents")
        doc = self.expand_sys(doc)
        where = f"augments data in '{path}'"
        if "vars" in doc:
            self.vars_key(doc["vars"], where, cmdb=False)
        if "variables" in doc:
            self.variables_key(doc["variables"], where, cmdb=False)
        if "classes" in doc:
            self.classes_key(doc["classes"], where, path)
        if "inputs" in doc:
            inputs = doc["inputs"]
            if isinstance(inputs, list) and all(isinstance(i, str) for i in inputs):
                self.agent.ctx.set_var("default:def", "augments_inputs", list(inputs), "slist",
                                       (AUGMENTS_TAG,))
            else:
                self.log.error(f"Trying to augment inputs in '{path}' but the value was not "
                               "a list of strings")
        more = doc.get("augments")
        if more is None:
            return
        if not isinstance(more, list) or not all(isinstance(m, str) for m in more):
            self.log.error(f"Trying to load augments in '{path}' but the value was not a "
                           "list of strings")
            return
        if depth >= 32:
            self.log.error(f"Augments nested too deep at '{path}'")
            return
        for extra in more:
            self.augments_file(extra, depth + 1)


def _only(rules: Any, allowed: str) -> bool:
    """CMDB class rules: absent, ``[]`` or ``[allowed]``."""
    if rules is None:
        return True
    return isinstance(rules, list) and (rules == [] or rules == [allowed])


def _has_ref(value: Any) -> bool:
    if isinstance(value, str):
        return _ANY_REF.search(value) is not None
    if isinstance(value, list):
        return any(_has_ref(v) for v in value)
    if isinstance(value, dict):
        return any(_ANY_REF.search(k) or _has_ref(v) for k, v in value.items())
    return False


def install(agent: Agent, entry: str, ignore_preferred: bool = False) -> None:
    """Read the host-specific data and the augments of the policy ``entry`` into the
    agent's context (before any bundle is evaluated)."""
    agent.ctx.set_var("default:def", "jq", JQ_COMMAND, "string",
                      ("invocation", "source=agent", "command_name=jq"))
    inst = _Installer(agent)
    inst.host_specific(os.path.join(agent.workdir, "data", "host_specific.json"))
    dirname = os.path.dirname(os.path.abspath(entry))
    preferred = os.path.join(dirname, "def_preferred.json")
    if not ignore_preferred and os.path.isfile(preferred):
        inst.augments_file(preferred)
    else:
        inst.augments_file(os.path.join(dirname, "def.json"))
