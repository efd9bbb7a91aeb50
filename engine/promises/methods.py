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
    # the called bundle's return values (reports with bundle_return_value_index)
    returns = open_returns(run)
    try:
        outcome = run.run_bundle(bundle, call.args, inherit=inherit)
    except RecursionError:
        if run.bundle_depth() > MAX_BUNDLE_DEPTH // 2:
            raise  # unwind to the outermost method of the chain, which reports it
        run.log.error(f"Method '{rp.promiser}': bundles call each other deeper than "
                      f"{MAX_BUNDLE_DEPTH} levels (a loop of methods?)")
        return PromiseResult(Outcome.NOTKEPT, message="bundle calls nested too deep")
    finally:
        close_returns(run)
    target = rp.str_attr("useresult")
    if target and returns:
        # useresult names an array of the caller's: name[index] for each value returned
        return PromiseResult(outcome, variables={f"{target}[{k}]": v for k, v in returns.items()},
                             variables_context=f"{rp.namespace}:{rp.bundle}")
    return PromiseResult(outcome)


_RETURNS = "bundle_returns"


def open_returns(run: RunContext) -> dict[str, str]:
    """A place for the return values of the bundle about to be called (one bundle
    deeper than now): what ``reports`` with ``bundle_return_value_index`` put."""
    returns: dict[str, str] = {}
    run.run_state.setdefault(_RETURNS, []).append((run.bundle_depth() + 1, returns))
    return returns


def close_returns(run: RunContext) -> None:
    run.run_state[_RETURNS].pop()


def put_return(run: RunContext, index: str, value: str) -> None:
    """A bundle returns ``value`` under ``index`` to the method that called it; a
    bundle no method called (the bundlesequence's) returns to no one."""
    stack = run.run_state.get(_RETURNS)
    if stack and stack[-1][0] == run.bundle_depth():
        stack[-1][1][index] = value
