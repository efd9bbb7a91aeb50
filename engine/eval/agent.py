"""The context of one agent run (:class:`Agent`) and how it was asked to run.

The run follows cf-agent's shape. Common bundles are pre-evaluated (vars and
classes) so their definitions are visible everywhere; then each bundle of the
bundlesequence is evaluated in three passes, each pass walking the promise types
in normal order. ``vars`` and ``classes`` promises are re-evaluated on every
pass; every other promise runs at most once per iteration binding, in the first
pass where its guard holds and its variables resolve. Reports still holding an
unresolved reference are printed as written in the last pass. The passes are
:class:`engine.eval.bundles.BundleRunner`'s.
"""

from __future__ import annotations

import os
import time

from engine import promisetypes
from engine._records import Record
from engine.eval import expand as ex
from engine.eval.base import Tally
from engine.eval.context import EvalContext
from engine.eval.outcomes import apply_result
from engine.eval.resolve import FunctionFailed, Resolver, Unresolved
from engine.eval.values import Data
from engine.policy.ast import FnCall, RList, Scalar
from engine.promises.base import Outcome, SkipReason

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, NoReturn

    from engine.eval.base import Runner
    from engine.log import LineLogger
    from engine.policy.ast import Bundle, Policy, Promise, Rval
    from engine.promises.base import BundleCall, PromiseResult, ResolvedPromise
    from engine.promises.shadow.tree import Shadow
    from engine.workdir import Workdir

PASSES = 3
# the passes' order and rules, from the one promise-type table (engine.promisetypes)
AGENT_ORDER = promisetypes.AGENT_ORDER
COMMON_ORDER = promisetypes.COMMON_ORDER
EDIT_ORDER = promisetypes.EDIT_ORDER
UNLOCKED_TYPES = promisetypes.UNLOCKED
# evaluated again on every pass (every other type runs once per binding)
RECURRING_TYPES = promisetypes.RECURRING
# enum member -> its text, without the enum's ``value`` property on every promise
OUTCOME_TEXT: dict[Outcome, str] = {o: o.value for o in Outcome}
SKIP_TEXT: dict[SkipReason, str] = {r: r.value for r in SkipReason}
_SKIP_COUNT: dict[SkipReason, str] = {r: f"skipped_{r.value}" for r in SkipReason}
DEFAULT_IFELAPSED = 1
DEFAULT_EXPIREAFTER = 120


class AgentOptions(Record):
    """How ``vigil agent`` was asked to run (its command line, mostly)."""

    __match_args__ = ("policy_file", "workdir", "no_lock", "dry_run", "defines", "negates",
                      "bundlesequence", "started_by", "output_file", "flags", "show_classes",
                      "show_vars", "ignore_preferred_augments", "simulate")
    __slots__ = __match_args__

    def __init__(self, policy_file: str, workdir: Workdir, no_lock: bool = False,
                 dry_run: bool = False, defines: list[str] | None = None,
                 negates: list[str] | None = None, bundlesequence: list[str] | None = None,
                 started_by: str = "manual", output_file: str | None = None,
                 flags: list[str] | None = None, show_classes: str | None = None,
                 show_vars: str | None = None, ignore_preferred_augments: bool = False,
                 simulate: str | None = None) -> None:
        self.policy_file = policy_file
        self.workdir = workdir
        self.no_lock = no_lock
        self.dry_run = dry_run
        self.defines: list[str] = [] if defines is None else defines
        self.negates: list[str] = [] if negates is None else negates
        self.bundlesequence = bundlesequence
        self.started_by = started_by
        self.output_file = output_file
        self.flags: list[str] = [] if flags is None else flags
        self.show_classes = show_classes
        self.show_vars = show_vars
        self.ignore_preferred_augments = ignore_preferred_augments
        # --simulate: diff, manifest or manifest-full (engine.promises.shadow); also dry_run
        self.simulate = simulate


# this.promiser_pid and friends: the agent process that keeps the promise
_PROMISER_IDS = {"promiser_pid": os.getpid, "promiser_ppid": os.getppid,
                 "promiser_uid": os.getuid, "promiser_gid": os.getgid}


class Agent:
    """The context of one run: classes and variables, ``this.*``, bodies, locks, the
    run's records. Also the ``RunContext`` actuators see and the ``FnEnv`` functions
    see. Its bundles are evaluated by the runner it is given (``self.runner``)."""

    def __init__(self, policy: Policy, opts: AgentOptions, log: LineLogger,
                 hard: set[str], sys_vars: dict[str, Any], runner: Runner) -> None:
        from engine.policy.staticvars import CONST_VARS

        # engine.eval.bundles.BundleRunner: runs the bundles and keeps what the passes
        # remember (plans, done-sets, whether a resolution met an unresolved reference)
        self.runner = runner

        self.policy = policy
        self.opts = opts
        self.log = log
        self.workdir = str(opts.workdir.root)
        self.dry_run = opts.dry_run
        self.host = str(sys_vars.get("uqhost", "localhost"))
        self.ctx = EvalContext(hard=hard, negated=opts.negates)
        self.resolver = Resolver(self)
        for k, v in sys_vars.items():
            kind = "data" if isinstance(v, Data) else "slist" if isinstance(v, list) else "string"
            self.ctx.set_var("sys", k, v, kind)
        for k, v in CONST_VARS.items():
            self.ctx.set_var("const", k, v)
        for c in opts.defines:
            self.ctx.define(c)
        self.this_promise: Promise | None = None
        self.this_promiser: str | None = None
        self.overlay: dict[str, Any] = {}
        self._in_with = False
        self.fn_lookup: Any = None
        # results functions keep for the rest of the run (execresult, returnszero);
        # none when body common control says cache_system_functions => "false"
        self.fn_cache: dict[tuple[Any, ...], Any] | None = (
            None if _control_false(policy, "cache_system_functions") else {})
        self.handles: dict[str, Outcome] = {}
        self.tallies: list[Tally] = []
        # one row per promise outcome, in engine.state.runfile.RECORD_FIELDS order
        self.records: list[list[Any]] = []
        self.counts = {"kept": 0, "repaired": 0, "notkept": 0, "skipped": 0}
        self.ifelapsed = DEFAULT_IFELAPSED
        self.expireafter = DEFAULT_EXPIREAFTER
        self.locks: Any = None
        self.persistent: Any = None
        self.aborts: Any = None  # engine.eval.aborts.Aborts once body agent control asks
        # True while the policy is resolved before the bundlesequence (see condition())
        self.resolving = False
        # (bundle, the promise that called it) for each bundle being evaluated
        self.bundle_stack: list[tuple[Bundle, Promise | None]] = []
        # a method calling a bundle that does not exist is skipped, not fatal
        self.ignore_missing_bundles = policy.common_flag("ignore_missing_bundles")
        self.deferred_reports: list[str] = []
        self.pass_no = 1
        self.start = time.time()
        # what actuators keep for the rest of the run (started promise modules, package
        # lists); each value with a close() method is closed when the run ends
        self.run_state: dict[str, Any] = {}
        self.shadow: Shadow | None = None  # --simulate: files promises change its copies
        self._promise_blocks: dict[str, dict[str, Any] | None] = {}

    # ===== lookups ==========================================================
    def lookup(self, name: str) -> Any:
        if name in self.overlay:
            return self.overlay[name]
        if name.startswith("this."):
            value = self.this_value(name[5:])
            if value is not None:
                return value
        elif name == "with":
            value = self._with_value()
            if value is not None:
                return value
        return self.ctx.lookup(name)

    def _with_value(self) -> str | None:
        """``$(with)``: the current promise's ``with`` attribute, evaluated for the
        current iteration; None when the promise has none or its call fails. A text
        whose references do not resolve is what it is as written (``$(nosuch)``), as in
        cf-agent, and leaves the promise unresolved until the last pass."""
        p = self.this_promise
        rval = p.get("with") if p is not None else None
        if rval is None or self._in_with:
            return None
        self._in_with = True
        try:
            if isinstance(rval, Scalar):
                text, ok = ex.expand(rval.value, self.lookup)
                if not ok:
                    self.note_unresolved()
                return text
            v = self.resolver.value(rval, self.lookup, "with")
            if isinstance(v, bool):
                return "any" if v else "!any"
            return v if isinstance(v, str) else None
        except (Unresolved, FunctionFailed):
            return None
        finally:
            self._in_with = False

    def note_unresolved(self) -> None:
        self.runner.note_unresolved()

    # ===== FnEnv ============================================================
    def class_defined(self, expr: str) -> bool:
        return self.ctx.class_defined(expr)

    def classes(self) -> Iterable[str]:
        return self.ctx.all_classes()

    def get_var(self, ref: str) -> Any:
        if self.fn_lookup is not None:
            return self.fn_lookup(ref)
        return self.lookup(ref)

    def var_names(self) -> Iterable[str]:
        return self.ctx.var_names()

    def wants_fresh_results(self) -> bool:
        """True when the promise being evaluated has an action body with
        ``ifelapsed => "0"``: cf-agent then calls execresult and friends again
        instead of reusing the run's cached result."""
        p = self.this_promise
        if p is None:
            return False
        rval = p.get("action")
        if rval is None:
            return False
        try:
            body = self.resolver.body_ref("action", rval, self.lookup)
        except (Unresolved, FunctionFailed):
            return False
        return isinstance(body, dict) and str(body.get("ifelapsed", "")).strip() == "0"

    def refuses_unsafe(self, name: str) -> bool:
        """``--simulate``: a function that runs a program (``execresult``...) is not
        called, with cf-agent's warning, unless the promise evaluated is tagged
        ``simulate_safe``."""
        if self.opts.simulate is None:
            return False
        p = self.this_promise
        meta = None if p is None else p.get("meta")
        if meta is not None:
            try:
                tags = self.resolver.value(meta, self.lookup, "meta")
            except (Unresolved, FunctionFailed):
                tags = []
            if "simulate_safe" in (tags if isinstance(tags, list) else [str(tags)]):
                return False
        self.log.warning(f"Not calling unsafe function '{name}' in simulate mode")
        return True

    def array_keys(self, ref: str) -> list[str] | None:
        """Keys of the classic array ``ref`` (``name[key]`` variables) in the scope
        ``ref`` names, in cf-agent's order (:mod:`engine.eval.varorder`); the first
        level of a two-level array. Scans one bundle's variables, not every variable
        of the run."""
        keys = {path.split("][", 1)[0]: None for path, _ in self.array_entries(ref)}
        return list(keys) or None

    def bundle_names(self) -> Iterable[str]:
        return [f"{ns}:{name}" for (ns, name) in self.policy.bundles]

    def bundle_tags(self, qualified: str) -> list[str]:
        """A bundle's ``meta: "tags"``: as evaluated, or for a bundle not run yet, as
        written (a list or a single string), as cf-agent reads them from the policy."""
        tags = self.ctx.bundle_meta.get(qualified)
        if tags is not None:
            return tags
        bundle = self.policy.find_bundle(qualified)
        if bundle is None:
            return []
        for p in bundle.promises:
            if p.promise_type != "meta" or p.promiser != "tags":
                continue
            rval = p.get("slist") or p.get("string")
            items = rval.items if isinstance(rval, RList) else (rval,)
            return [i.value for i in items if isinstance(i, Scalar)]
        return []

    def eval_lazy(self, arg: Any, bound: dict[str, Any]) -> str:
        """A delayed argument (maplist's, mapdata's pattern) for one element: ``arg``
        is the text as written or a function call; ``bound`` holds ``this``,
        ``this.k``, ``this.v``... References that do not resolve stay as written.
        A failing call raises :class:`FunctionError`."""
        from engine.eval.functions.registry import FunctionError

        base = self.fn_lookup or self.lookup

        def lookup(name: str) -> Any:
            return bound[name] if name in bound else base(name)

        if isinstance(arg, FnCall):
            try:
                v = self.resolver.call(arg, lookup)
            except (Unresolved, FunctionFailed) as e:
                raise FunctionError(str(e), quiet=True) from None
            if isinstance(v, bool):
                return "any" if v else "!any"
            if not isinstance(v, str):
                raise FunctionError(f"function '{arg.name}' does not return a string", quiet=True)
            arg = v  # what the call gives is expanded again with the element bound
        return ex.expand(str(arg), lookup)[0]

    def bundle_class_order(self) -> dict[str, int]:
        """The current bundle's own classes with their definition order."""
        frame = self.ctx.frame
        if frame is None:
            return {}
        order = self.ctx.class_order
        return {c: order.get(c, 0) for c in frame.classes}

    def array_entries(self, ref: str) -> list[tuple[str, Any]]:
        """``(key path, value)`` of the classic array ``ref``: every ``ref[...]``
        variable in its bundle (``a[x][y]`` -> ``("x][y", v)``), in the order cf-agent
        walks them (:mod:`engine.eval.varorder`)."""
        scope, name = self.ctx._scope_for(ref)
        table = self.ctx.scopes.get(scope, {})
        prefix = name + "["
        start = len(prefix)
        found = {k[start:-1]: var.value for k, var in table.items()
                 if k.startswith(prefix) and k.endswith("]")}
        if len(found) < 2:
            return list(found.items())
        from engine.eval.varorder import table_order, variable_count

        order = table_order(scope, name, list(found), variable_count(self.ctx.scopes))
        return [(path, found[path]) for path in order]

    def var_table(self, scope: str) -> dict[str, Any] | None:
        """The variables of ``ns:bundle`` (None when the bundle is unknown and has none)."""
        table = self.ctx.scopes.get(scope)
        if table is None:
            ns, _, name = scope.partition(":")
            return {} if (ns, name) in self.policy.bundles else None
        return table

    def var_tags(self, ref: str) -> list[str] | None:
        var = self.ctx.lookup_var(ref)
        if var is None:
            return None
        return list(var.tags) if var.tags else ["source=agent"] if ref.split(".", 1)[0] in ("sys", "const", "mon") else []

    def class_tags(self, name: str) -> list[str]:
        ctx = self.ctx
        bare = name[8:] if name.startswith("default:") else name
        tags = ctx.class_tags.get(bare)
        if tags is not None:
            return list(tags)
        return ["source=agent", "hardclass"] if bare in ctx.hard else ["source=promise"]

    def callstack_callers(self) -> list[dict[str, Any]]:
        from engine.eval.callstack import callers

        # files under the working directory as relative paths, as cf-agent shows a
        # policy given as -f ./x.cf
        cwd = os.getcwd().rstrip("/") + "/"
        return callers(self.bundle_stack, self.this_promise,
                       lambda path: path[len(cwd):] if path.startswith(cwd) else path)

    def callstack_promisers(self) -> list[str]:
        from engine.eval.callstack import promisers

        return promisers(self.bundle_stack)

    def define_array(self, name: str, values: dict[str, str]) -> None:
        frame = self.ctx.frame
        scope = frame.scope if frame else "default:main"
        for k, v in values.items():
            self.ctx.set_var(scope, f"{name}[{k}]", v)

    def define_var(self, name: str, value: Any) -> None:
        frame = self.ctx.frame
        self.ctx.set_var(frame.scope if frame else "default:main", name, value)

    # ===== RunContext =======================================================
    def warn_only(self, promise: ResolvedPromise) -> bool:
        if self.dry_run:
            return True
        action = promise.attrs.get("action")  # promise.body("action")
        if not isinstance(action, dict):
            return False
        return str(action.get("action_policy", "fix")) in ("warn", "nop")

    def datastate(self) -> dict[str, Any]:
        classes = {c: True for c in self.ctx.all_classes()}
        variables: dict[str, Any] = {}
        for scope, table in self.ctx.scopes.items():
            bundle = scope[8:] if scope.startswith("default:") else scope
            dest = variables.setdefault(bundle, {})
            for name, var in table.items():
                dest[name] = var.value.value if isinstance(var.value, Data) else var.value
        return {"classes": classes, "vars": variables}

    def promise_block(self, promise_type: str) -> dict[str, Any] | None:
        """The attributes of ``promise agent <promise_type>``, expanded once (with
        ``this.promise_filename`` and ``this.promise_dirname`` naming the block's own
        file); None when the policy has no such block."""
        if promise_type in self._promise_blocks:
            return self._promise_blocks[promise_type]
        block = next((b for f in self.policy.files for b in f.bodies
                      if b.body_type == "promise" and b.name == promise_type), None)
        if block is None:
            self._promise_blocks[promise_type] = None
            return None
        here = {"this.promise_filename": block.pos.file,
                "this.promise_dirname": os.path.dirname(block.pos.file)}

        def lookup(name: str) -> Any:
            return here[name] if name in here else self.lookup(name)

        values: dict[str, Any] = {}
        for c in block.constraints:
            if c.guard != "any" and not self.ctx.class_defined(c.guard):
                continue
            try:
                values[c.lval] = self.resolver.value(c.rval, lookup, c.lval)
            except (Unresolved, FunctionFailed):
                continue
        self._promise_blocks[promise_type] = values
        return values

    def edit_outcome(self, promise: ResolvedPromise, outcome: Outcome) -> None:
        from engine.eval.outcomes import apply_result
        from engine.promises.base import PromiseResult

        apply_result(self, None, promise, PromiseResult(outcome))

    def edit_promises(self, bundle_ref: BundleCall, filename: str,
                      bundle_type: str = "edit_line") -> list[ResolvedPromise]:
        return self.runner.edit_bundle_promises(self, bundle_ref, filename, bundle_type)

    def find_bundle(self, name: str, namespace: str = "default") -> Bundle | None:
        return self.policy.find_bundle(name, namespace)

    def run_bundle(self, bundle: Bundle, args: tuple[Any, ...],
                   inherit: bool = False) -> Outcome:
        # the method's own promise is current again once its bundle is done (its row
        # in the run report carries its own handle, not the last inner promise's)
        caller, promiser = self.this_promise, self.this_promiser
        try:
            return self.runner.run_bundle(self, bundle, args, inherit=inherit).outcome()
        finally:
            self.this_promise, self.this_promiser = caller, promiser

    def bundle_depth(self) -> int:
        return len(self.ctx.frames)

    def fatal(self, message: str) -> NoReturn:
        from engine.eval.fatal import FatalPolicyError

        raise FatalPolicyError(message)

    # ===== promise evaluation ===============================================
    def set_this(self, p: Promise, promiser: str | None = None) -> None:
        """Point ``this.*`` at promise ``p``; its values are computed on demand."""
        self.this_promise = p
        self.this_promiser = promiser

    def this_value(self, key: str) -> str | None:
        p = self.this_promise
        if key == "promiser":
            return self.this_promiser
        frame = self.ctx.frame
        if key == "bundle":
            return frame.bundle if frame else ""
        if key == "namespace":
            return frame.namespace if frame else "default"
        if p is None:
            return None
        if key == "promise_filename":
            return p.pos_file
        if key == "promise_dirname":
            return os.path.dirname(p.pos_file)
        if key == "promise_linenumber":
            return str(p.pos.line)
        if key == "handle":
            handle = p.get("handle")
            return handle.value if isinstance(handle, Scalar) else None
        if key in _PROMISER_IDS:
            return str(_PROMISER_IDS[key]())
        if key == "service_policy" and p.promise_type == "services":
            policy = p.get("service_policy")
            if isinstance(policy, Scalar):
                text, ok = ex.expand(policy.value, self.lookup)
                return text if ok else None
        return None

    def guard_holds(self, p: Promise) -> bool:
        guard = p.guard
        if guard == "any":
            return True
        if "$" in guard:
            guard, ok = ex.expand(guard, self.lookup)
            if not ok:
                return False
        return self.ctx.class_defined(guard)

    def class_rval(self, rval: Rval) -> bool | None:
        """Whether a class rval (``if``, ``unless``...) holds in this context; None when
        it does not resolve."""
        try:
            if isinstance(rval, FnCall):
                v = self.resolver.call(rval, self.lookup)
                if isinstance(v, bool):
                    return v
                return self.ctx.class_defined(str(v))
            if isinstance(rval, RList):
                items = self.resolver.list_items(rval, self.lookup)
                return any(self.ctx.class_defined(i) for i in items)
            assert isinstance(rval, Scalar)
            text, ok = ex.expand(rval.value, self.lookup)
            if not ok:
                return None
            return self.ctx.class_defined(text)
        except (Unresolved, FunctionFailed):
            return None

    def record(self, p: Promise, promiser: str, outcome: str, reason: SkipReason | None = None,
               detail: str = "", lock_id: str | None = None, ifelapsed: int | None = None,
               expireafter: int | None = None) -> None:
        frames = self.ctx.frames
        frame = frames[-1] if frames else None
        this = self.this_promise
        pos = p.promiser_pos
        self.records.append([
            frame.bundle if frame else "", p.promise_type, promiser, pos.file, pos.line,
            pos.col, outcome, SKIP_TEXT[reason] if reason else None, detail, lock_id, ifelapsed,
            expireafter, self.runner.handle(this) if this is not None else None,
        ])
        counts = self.counts
        if outcome == "skipped":
            counts["skipped"] += 1
            if reason is not None:
                key = _SKIP_COUNT[reason]
                counts[key] = counts.get(key, 0) + 1
        elif outcome in counts:
            counts[outcome] += 1
        else:
            counts["notkept"] += 1

    def apply_outcome(self, p: Promise | None, rp: ResolvedPromise, result: PromiseResult) -> None:
        apply_result(self, p, rp, result)

    def resolve_for(self, promise: ResolvedPromise, promiser: str) -> ResolvedPromise:
        p = self.this_promise
        attrs = (self.runner.attrs_for(self, p, promiser)
                 if p is not None and p.promise_type == promise.promise_type else None)
        if attrs is None:
            return promise
        attrs.update((k, v) for k, v in promise.attrs.items() if k.startswith("__"))
        return promise.__class__(promise.promise_type, promise.promiser, attrs, promise.bundle,
                                 promise.namespace, promise.pos, promise.handle, promise.lvals)


def bundle_display_name(bundle: Bundle) -> str:
    return "main" if bundle.name == "__main__" else bundle.name


def now() -> float:
    return time.time()


def _control_false(policy: Policy, lval: str) -> bool:
    """Whether ``body common control`` sets the boolean ``lval`` to a false literal."""
    return any(c.lval == lval and isinstance(c.rval, Scalar)
               and c.rval.value.lower() in ("false", "no", "off")
               for body in policy.control_bodies("common") for c in body.constraints)
