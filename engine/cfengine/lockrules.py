"""Which promise a CFEngine lock belongs to, and the ``ifelapsed``/``expireafter`` it ran with.

cf-agent writes no promise attributes into its lock database, only the lock name
(see :mod:`engine.state.lockname`): bundle, promise type, the first lvals, host and the
canonified promiser. The policy the agent ran (``inputs/promises.cf`` and its inputs)
is parsed with vigil's own parser and each lock name is matched against its promises.
A promise's times come from its ``action`` body (parameters substituted), else from
``body agent control``, else CFEngine's defaults (1 and 120 minutes). Where no promise
matches, or matching promises disagree, or a value is a variable that cannot be known
without evaluating the policy, the answer is None: the caller says "unknown" rather than
guess.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.eval.loading import load as load_policy
from engine.policy.ast import Body, Constraint, FnCall, Policy, Promise, Scalar
from engine.state.lockname import MAX_PART, LockKeyParts
from engine.state.locks import DEFAULT_EXPIREAFTER, DEFAULT_IFELAPSED
from engine.text import canonify

_VAR = re.compile(r"[$@][({][^)}]*[)}]")
# locks cf-agent and the daemons take for their own work (package caches, the
# monitor's and server's main loops), named like promise locks
_INTERNAL = frozenset({"package_global", "history_db_bundle"})
_INT = re.compile(r"\s*(\d+)\s*\Z")


@dataclass(frozen=True, slots=True)
class LockRule:
    """One promise that can own a lock: how its lock name's promiser part looks, its times."""

    bundle: str
    promise_type: str
    pattern: re.Pattern[str]
    literal_prefix: str
    lvals: frozenset[str]
    ifelapsed: int | None  # None: cannot be known without evaluating the policy
    expireafter: int | None
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Match:
    """The answer for one lock: its times (None: unknown) and where its promise is."""

    ifelapsed: int | None
    expireafter: int | None
    file: str | None
    line: int | None
    note: str  # why a value is unknown; "" when it is known


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: list[LockRule]
    default_ifelapsed: int | None
    default_expireafter: int | None
    error: str | None  # the policy could not be read: every lock is unknown


def _scalar(rval: object, params: dict[str, str]) -> str | None:
    """A scalar's text with body parameters substituted; None when a variable remains."""
    if not isinstance(rval, Scalar):
        return None
    text = rval.value
    for name, value in params.items():
        text = text.replace(f"$({name})", value).replace(f"${{{name}}}", value)
    return None if _VAR.search(text) else text


def _minutes(rval: object, params: dict[str, str]) -> int | None:
    text = _scalar(rval, params)
    m = _INT.match(text) if text is not None else None
    return int(m.group(1)) if m else None


def _unguarded(constraints: tuple[Constraint, ...], lval: str) -> tuple[bool, Constraint | None]:
    """(present, the constraint to use); a value under a class guard is not knowable."""
    found = [c for c in constraints if c.lval == lval]
    if not found:
        return False, None
    plain = [c for c in found if c.guard in ("any", "")]
    return True, (plain[-1] if plain and len(plain) == len(found) else None)


def _control_default(policy: Policy, lval: str, fallback: int) -> int | None:
    value: int | None = fallback
    for body in policy.control_bodies("agent"):
        present, c = _unguarded(body.constraints, lval)
        if present:
            value = _minutes(c.rval, {}) if c is not None else None
    return value


def _action_times(policy: Policy, p: Promise, namespace: str) -> tuple[bool, int | None, bool, int | None]:
    """(ifelapsed set by the body?, its value, expireafter set?, value)."""
    rval = p.get("action")
    if rval is None:
        return False, None, False, None
    if isinstance(rval, FnCall):
        name, args = rval.name, rval.args
    elif isinstance(rval, Scalar) and not _VAR.search(rval.value):
        name, args = rval.value, ()
    else:  # a body chosen through a variable
        return True, None, True, None
    body = policy.find_body("action", name, namespace)
    if body is None:
        return True, None, True, None
    return _body_times(policy, body, args, 0)


def _body_times(policy: Policy, body: Body, args: tuple[object, ...], depth: int
                ) -> tuple[bool, int | None, bool, int | None]:
    params: dict[str, str] = {}
    for i, name in enumerate(body.args):
        text = _scalar(args[i], {}) if i < len(args) else None
        if text is not None:
            params[name] = text
    have_if, ifel, have_exp, expa = False, None, False, None
    present, c = _unguarded(body.constraints, "inherit_from")
    if present and c is not None and depth < 5:
        parent = c.rval
        pname = parent.name if isinstance(parent, FnCall) else _scalar(parent, params)
        pargs = parent.args if isinstance(parent, FnCall) else ()
        pbody = policy.find_body("action", pname, body.namespace) if pname else None
        if pbody is not None:
            have_if, ifel, have_exp, expa = _body_times(policy, pbody, pargs, depth + 1)
    present, c = _unguarded(body.constraints, "ifelapsed")
    if present:
        have_if, ifel = True, (_minutes(c.rval, params) if c is not None else None)
    present, c = _unguarded(body.constraints, "expireafter")
    if present:
        have_exp, expa = True, (_minutes(c.rval, params) if c is not None else None)
    return have_if, ifel, have_exp, expa


def _operand_pattern(p: Promise) -> tuple[re.Pattern[str], str]:
    """A regex over the lock name's promiser part, and its literal head (for long names)."""
    pieces = _VAR.split(p.promiser)
    literal = [re.escape(canonify(x)) for x in pieces]
    body = ".*".join(literal)
    head = canonify(pieces[0])
    if p.promise_type == "methods":
        body, head = f"method_{body}_.*", f"method_{head}_"
    elif p.promise_type == "processes":
        body, head = f"proc_{body}_.*", f"proc_{head}_"
    elif p.promise_type == "commands":
        body = f"{body}(?:_.*)?"
    return re.compile(body, re.DOTALL), head


def build(policy: Policy) -> RuleSet:
    d_if = _control_default(policy, "ifelapsed", DEFAULT_IFELAPSED)
    d_exp = _control_default(policy, "expireafter", DEFAULT_EXPIREAFTER)
    rules = []
    for (namespace, _name), bundle in policy.bundles.items():
        if bundle.bundle_type not in ("agent", "common", "edit_line", "edit_xml"):
            continue
        for p in bundle.promises:
            have_if, ifel, have_exp, expa = _action_times(policy, p, namespace)
            pattern, head = _operand_pattern(p)
            pos = p.pos
            rules.append(LockRule(
                bundle.name[:MAX_PART], p.promise_type, pattern, head,
                frozenset(c.lval for c in p.constraints),
                ifel if have_if else d_if, expa if have_exp else d_exp, pos.file, pos.line,
            ))
    return RuleSet(rules, d_if, d_exp, None)


def match(rules: RuleSet, parts: LockKeyParts) -> Match:
    """The promise behind one lock id's parts."""
    if rules.error:
        return Match(None, None, None, None, rules.error)
    if parts.bundle in _INTERNAL or parts.bundle.endswith("_cfengine_bundle"):
        return Match(None, None, None, None, "a lock CFEngine takes for itself, not a promise's")
    operand = parts.promiser
    cands = []
    for r in rules.rules:
        if r.bundle != parts.bundle or r.promise_type != parts.promise_type:
            continue
        if len(operand) >= MAX_PART:
            ok = operand.startswith(r.literal_prefix[:MAX_PART]) and bool(r.literal_prefix)
        else:
            ok = r.pattern.fullmatch(operand) is not None
        if ok:
            cands.append(r)
    if len(cands) > 1:  # prefer promises whose own lvals all show in the lock name
        named = set(parts.lvals)
        narrowed = [r for r in cands if all(lv in named for lv in r.lvals if lv not in ("args", "arglist"))]
        cands = narrowed or cands
    if not cands:
        return Match(None, None, None, None, "no promise in the policy matches this lock")
    first = cands[0]
    times = {(r.ifelapsed, r.expireafter) for r in cands}
    if len(times) > 1:
        return Match(None, None, first.file, first.line,
                     f"{len(cands)} promises match with different times")
    ifel, expa = next(iter(times))
    note = "" if ifel is not None and expa is not None else "a time is set through a variable"
    return Match(ifel, expa, first.file, first.line, note)


_CACHE: dict[str, tuple[tuple[tuple[str, int, int], ...], RuleSet]] = {}
_LOCK = threading.Lock()


def _stamp(paths: list[str]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = Path(p).stat()
            out.append((p, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((p, 0, -1))
    return tuple(out)


def rules_for(root: Path) -> RuleSet:
    """The lock rules of the policy in ``root/inputs/promises.cf``, cached until a file changes."""
    entry = root / "inputs" / "promises.cf"
    key = str(entry)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and _stamp([p for p, _m, _s in hit[0]]) == hit[0]:
        return hit[1]
    if not entry.exists():
        rs = RuleSet([], None, None, f"no policy at {entry}")
        return rs
    try:
        loaded = load_policy(entry, root, strict=False)
    except Exception as exc:  # noqa: BLE001 - a policy vigil cannot read: every lock unknown
        return RuleSet([], None, None, f"cannot read {entry}: {exc}")
    rs = build(loaded.policy)
    files = [f.path for f in loaded.policy.files] or [key]
    with _LOCK:
        _CACHE[key] = (_stamp(files), rs)
    return rs
