"""``packages`` promises.

vigil carries out the ``package_method`` form (:mod:`.legacy`): a body of commands
and regexes that list, add, delete, update, verify and patch packages. The
package-module form of CFEngine 3.21 (``package_module`` bodies, ``policy =>
"present"``/``"absent"``) is not implemented: such a promise is an error naming its
file and line, never a silent skip.
"""

from __future__ import annotations

from engine.promises.base import Outcome, PromiseResult, ResolvedPromise

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises.base import RunContext


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    if promise.body("package_method"):
        from engine.promises.packages import legacy

        return legacy.actuate(promise, run)
    run.log.error(f"Package promise '{promise.promiser}' at {promise.pos.file}:"
                  f"{promise.pos.line} has no package_method body; package modules "
                  "(package_module, policy) are not supported by vigil")
    return PromiseResult(Outcome.NOTKEPT, message="no package_method")


def after_pass(run: RunContext) -> None:
    """Run the package commands scheduled during this pass of the bundle."""
    from engine.promises.packages import legacy

    legacy.execute_schedule(run)
