"""``services`` promises: a service brought into a state by a bundle.

``"name" service_policy => "start"`` calls the ``service_bundle`` of the promise's
``service_method`` body, like a ``methods`` promise: its outcome is the bundle's
(not kept if any of its promises failed, repaired if any repaired, else kept).
The body can pass ``$(this.promiser)`` and ``$(this.service_policy)`` (the policy as
written: ``start``, ``stop``, ``restart``, ``reload``, ``enable``, ``disable`` or any
word the bundle understands). Without a ``service_method``, or with one that names no
``service_bundle``, the agent calls ``standard_services(<service>, <policy>)``,
looked up in the promise's namespace and then in ``default``; when the policy has
no such bundle the promise is not kept.

A service that names itself in ``service_dependencies`` is an error and the promise
is skipped. ``service_type => "windows"`` is refused: vigil runs on Unix-like
systems only. Under ``--dry-run`` the bundle is not called. (cf-agent 3.21 ends the
whole run when ``standard_services`` is missing; vigil fails only that promise, as it
does for a ``methods`` promise naming a missing bundle.)
"""

from __future__ import annotations

from engine.promises.base import BundleCall, Outcome, PromiseResult, ResolvedPromise

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises.base import RunContext

DEFAULT_BUNDLE = "standard_services"


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    from engine.promises.methods import actuate_method

    log = run.log
    where = f"{promise.pos.file}:{promise.pos.line}"
    policy = promise.str_attr("service_policy")
    method = promise.body("service_method")
    if promise.promiser in promise.list_attr("service_dependencies"):
        log.error(f"Service promiser '{promise.promiser}' has itself as dependency ({where})")
        return PromiseResult(Outcome.SKIPPED, message="depends on itself")
    service_type = str(method.get("service_type", "generic"))
    if service_type == "windows":
        log.error(f"Service '{promise.promiser}': service_type 'windows' is not available on "
                  f"this system ({where})")
        return PromiseResult(Outcome.NOTKEPT, message="windows service")
    call = method.get("service_bundle")
    if not isinstance(call, BundleCall):
        call = BundleCall(DEFAULT_BUNDLE, (promise.promiser, policy))
        if run.find_bundle(DEFAULT_BUNDLE, promise.namespace) is None:
            log.error(f"Service '{promise.promiser}' could not be invoked successfully: the "
                      f"policy has no bundle '{DEFAULT_BUNDLE}' ({where})")
            return PromiseResult(Outcome.NOTKEPT, message=f"no bundle {DEFAULT_BUNDLE}")
    if run.dry_run:
        log.verbose(f"Not calling '{call.name}' for service '{promise.promiser}' in a dry run")
        return PromiseResult(Outcome.KEPT, message="dry run")
    method_promise = ResolvedPromise("methods", promise.promiser, {"usebundle": call},
                                     promise.bundle, promise.namespace, promise.pos,
                                     promise.handle, promise.lvals)
    return actuate_method(run, method_promise)
