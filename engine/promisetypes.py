"""Every promise type vigil knows, in one table: the validator, the evaluator's passes
and order, the lock rules and the actuator dispatch all read it.

What CFEngine's language allows (which bundle types take which promise types, and the
attributes with their types) is CFEngine's own table, ``engine.policy.syntax``; this one
says what vigil does with each type: the order a bundle's promises are evaluated in
(cf-agent's normal order), whether the evaluator handles a type itself and evaluates it
again on every pass, whether its promises take locks, and which module carries it out.

A leaf module (it imports nothing of the project), so the policy layer, the evaluator,
the actuators and the daemons may all read it.
"""

from __future__ import annotations

# Who carries out a type's promises.
EVALUATOR = "evaluator"  # the agent itself (engine.eval): vars, classes, meta, defaults...
ACTUATOR = "actuator"  # an ``actuate(promise, run)`` in ``module`` (engine.promises.*)
EDIT_LINE = "edit_line"  # edit_line bundles (engine.promises.files.edit_line)
EDIT_XML = "edit_xml"  # edit_xml bundles (engine.promises.files.edit_xml)
SERVER = "server"  # server bundles, read by serverd (access, roles)
MONITOR = "monitor"  # monitor bundles, taken by monitord (measurements)
UNSUPPORTED = ""  # valid CFEngine, reported as unsupported and skipped


class PromiseType:
    """One promise type and what vigil does with it."""

    __slots__ = ("name", "handled_by", "module", "recurring", "locked", "after_pass",
                 "unsupported_attributes")

    def __init__(self, name: str, handled_by: str, module: str = "", *, recurring: bool = False,
                 locked: bool = True, after_pass: bool = False,
                 unsupported_attributes: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.handled_by = handled_by
        self.module = module  # the actuator's module (ACTUATOR types)
        self.recurring = recurring  # evaluated again on every pass, not once per binding
        self.locked = locked  # its promises take ifelapsed/expireafter locks
        self.after_pass = after_pass  # the module's ``after_pass(run)`` ends each pass
        self.unsupported_attributes = unsupported_attributes  # parsed, not acted on

    @property
    def supported(self) -> bool:
        return self.handled_by != UNSUPPORTED

    def __repr__(self) -> str:
        return f"PromiseType({self.name!r}, {self.handled_by!r})"


def _evaluated(name: str) -> PromiseType:
    return PromiseType(name, EVALUATOR, recurring=True, locked=False)


_META, _VARS, _DEFAULTS, _CLASSES = (_evaluated(n) for n in ("meta", "vars", "defaults", "classes"))
_REPORTS = PromiseType("reports", EVALUATOR)

# An agent bundle's types in cf-agent's normal order (types vigil does not carry out
# keep their place, so that the order of the others is CFEngine's).
AGENT_TYPES: tuple[PromiseType, ...] = (
    _META, _VARS, _DEFAULTS, _CLASSES,
    PromiseType("users", UNSUPPORTED),
    PromiseType("files", ACTUATOR, "engine.promises.files",
                unsupported_attributes=frozenset({"acl"})),
    PromiseType("packages", ACTUATOR, "engine.promises.packages", after_pass=True),
    PromiseType("guest_environments", UNSUPPORTED),
    PromiseType("methods", EVALUATOR),
    PromiseType("processes", ACTUATOR, "engine.promises.processes"),
    PromiseType("services", ACTUATOR, "engine.promises.services"),
    PromiseType("commands", ACTUATOR, "engine.promises.commands"),
    PromiseType("storage", UNSUPPORTED),
    PromiseType("databases", UNSUPPORTED),
    _REPORTS,
)
COMMON_TYPES: tuple[PromiseType, ...] = (_META, _VARS, _DEFAULTS, _CLASSES, _REPORTS)
EDIT_LINE_TYPES: tuple[PromiseType, ...] = tuple(
    PromiseType(n, EDIT_LINE, "engine.promises.files.edit_line")
    for n in ("delete_lines", "field_edits", "insert_lines", "replace_patterns"))
EDIT_XML_TYPES: tuple[PromiseType, ...] = tuple(
    PromiseType(n, EDIT_XML, "engine.promises.files.edit_xml")
    for n in ("build_xpath", "delete_tree", "insert_tree", "delete_attribute", "set_attribute",
              "delete_text", "set_text", "insert_text"))
# Edit bundles: the evaluation-level types, then the edits in cf-agent's order.
EDIT_TYPES: tuple[PromiseType, ...] = (
    _META, _VARS, _DEFAULTS, _CLASSES, *EDIT_LINE_TYPES, _REPORTS, *EDIT_XML_TYPES)
OTHER_TYPES: tuple[PromiseType, ...] = (
    PromiseType("access", SERVER, "engine.daemons.serverd.policy"),
    PromiseType("roles", SERVER, "engine.daemons.serverd.policy"),
    PromiseType("measurements", MONITOR, "engine.daemons.monitord.measurements"),
)

BY_NAME: dict[str, PromiseType] = {
    t.name: t for t in (*AGENT_TYPES, *EDIT_TYPES, *OTHER_TYPES)}

AGENT_ORDER: tuple[str, ...] = tuple(t.name for t in AGENT_TYPES)
COMMON_ORDER: tuple[str, ...] = tuple(t.name for t in COMMON_TYPES)
EDIT_ORDER: tuple[str, ...] = tuple(t.name for t in EDIT_TYPES)
EDIT_LINE_ORDER: tuple[str, ...] = tuple(t.name for t in EDIT_LINE_TYPES)
SUPPORTED: frozenset[str] = frozenset(n for n, t in BY_NAME.items() if t.supported)
UNLOCKED: frozenset[str] = frozenset(n for n, t in BY_NAME.items() if not t.locked)
RECURRING: frozenset[str] = frozenset(n for n, t in BY_NAME.items() if t.recurring)
EVALUATION_LEVEL: frozenset[str] = frozenset(
    n for n, t in BY_NAME.items() if t.handled_by == EVALUATOR and t.recurring)
ACTUATOR_MODULES: dict[str, str] = {
    n: t.module for n, t in BY_NAME.items() if t.handled_by == ACTUATOR}
AFTER_PASS: frozenset[str] = frozenset(n for n, t in BY_NAME.items() if t.after_pass)
UNSUPPORTED_ATTRIBUTES: dict[str, frozenset[str]] = {
    n: t.unsupported_attributes for n, t in BY_NAME.items() if t.unsupported_attributes}
