"""``methods:`` — call another bundle (``usebundle => name(args)``).

The evaluator runs the bundle (``RunContext.run_bundle``); this module decides
whether the call is sound and what the method's outcome is.

The method's outcome aggregates the called bundle's promises: not kept if any
failed, repaired if any repaired, else kept. A missing bundle is an error.
"""

from __future__ import annotations

from engine.promises._acc import action_warn
from engine.promises.base import BundleCall, Outcome, PromiseResult, ResolvedPromise

# roughly how deep methods can nest before the interpreter's stack runs out; a deeper
# chain (usually a loop) fails the method that started it, and the run goes on
MAX_BUNDLE_DEPTH = 1000

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises.base import RunContext


def actuate_method(run: RunContext, rp: ResolvedPromise) -> PromiseResult:
    call = rp.attrs.get("usebundle")
    if not isinstance(call, BundleCall):
        call = BundleCall(rp.promiser, ())
    bundle = run.find_bundle(call.name, rp.namespace)
    if bundle is None:
        run.log.error(f"A method attempted to use a bundle '{call.name}' that was "
                      "apparently not defined")
        if not run.ignore_missing_bundles:
            run.fatal(f"Aborting due to missing bundle '{call.name}'")
        return PromiseResult(Outcome.NOTKEPT, message=f"unknown bundle '{call.name}'")
    if bundle.bundle_type not in ("agent", "common"):
        run.log.error(f"Method '{rp.promiser}' refers to an unknown bundle '{call.name}'")
        return PromiseResult(Outcome.NOTKEPT, message=f"unknown bundle '{call.name}'")
    if len(call.args) != len(bundle.args):
        run.log.error(
            f"Method '{rp.promiser}' calls bundle '{call.name}' with {len(call.args)} "
            f"arguments, it takes {len(bundle.args)}"
        )
        return PromiseResult(Outcome.NOTKEPT, message="wrong number of arguments")
    if action_warn(rp):
        run.log.warning(f"Bundle '{call.name}' should be invoked, but only a warning "
                        "was promised!")
        return PromiseResult(Outcome.NOTKEPT, message="only a warning was promised")
    inherit = str(rp.attrs.get("inherit", "false")).lower() in ("true", "yes", "on")
    try:
        outcome = run.run_bundle(bundle, call.args, inherit=inherit)
    except RecursionError:
        if run.bundle_depth() > MAX_BUNDLE_DEPTH // 2:
            raise  # unwind to the outermost method of the chain, which reports it
        run.log.error(f"Method '{rp.promiser}': bundles call each other deeper than "
                      f"{MAX_BUNDLE_DEPTH} levels (a loop of methods?)")
        return PromiseResult(Outcome.NOTKEPT, message="bundle calls nested too deep")
    return PromiseResult(outcome)
