"""A files promise kept in the shadow tree (``--simulate``).

The promise is handed to the files actuator as it is, but for the paths it names: its
promiser is the shadow's copy (mirrored first), a local ``copy_from`` source and an
``edit_template`` are read where :meth:`Shadow.view` says, a ``link_from`` source is
mirrored and linked to inside the shadow, and the promiser's path in a
``transformer`` command is its copy's (cf-agent's rule; a command without that path is
an error). The actuator then acts for real — on the copies — and its messages name
the real paths again (:class:`ShadowRun`'s logger). Nothing the actuator does leaves
the shadow: the transformer is confined (:mod:`.confine`), backups kept in a repository
go to the shadow's copy of it (``files.repository``).

What the promise did is recorded for the report: the path it changed (the promiser,
without a trailing ``/.`` unless it searched a tree), each entry of a depth search it
changed (``<promiser>/<entry>``, as cf-agent names them), renames; a path it evaluated
without changing it, for ``manifest-full``.
"""

from __future__ import annotations

import os

from engine.promises._acc import action_warn
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from engine.policy.ast import Bundle, Promise
    from engine.promises.base import BundleCall, Logger, RunContext
    from engine.promises.shadow.tree import Shadow

    Actuator = Callable[[ResolvedPromise, RunContext], PromiseResult]


def act(promise: ResolvedPromise, run: RunContext, shadow: Shadow,
        actuate: Actuator) -> PromiseResult:
    """Keep ``promise`` in ``shadow`` with ``actuate`` (the files actuator)."""
    promiser = promise.promiser
    dot = promiser.endswith("/.")
    path = promiser[:-2] if dot else promiser
    a = promise.attrs
    command = a.get("transformer")
    if isinstance(command, str) and command and path not in command:
        pattern = a.get("__pattern__")
        run.log.error(f"Failed to replace path '{path}' in transformer command '{command}' "
                      "for changes chroot")
        run.log.error("Errors encountered when actuating files promise "
                      f"'{pattern if isinstance(pattern, str) else promiser}'")
        return PromiseResult(Outcome.NOTKEPT)
    watching = "changes" in a
    if watching and not shadow.covered(path or "/"):
        # cf-agent records no changes (digests, stats) in simulate mode: it says what it
        # should record, as in a dry run. A file this run has not touched is looked at
        # where it is, so that the records of its real path are what it is compared with.
        shadow.acting = True
        try:
            result = actuate(promise, run)  # the agent's own context: a dry run
        finally:
            shadow.acting = False
        _record(promise, path, dot, result, shadow)
        return result
    shadow.prepare(path or "/")
    mapped = _mapped(promise, shadow.path(promiser), path, shadow)
    inside = ShadowRun(run, shadow, promise, dry=watching)
    shadow.acting = True
    try:
        result = actuate(mapped, inside)
    finally:
        shadow.acting = False
    _record(promise, path, dot, result, shadow)
    return result


def _mapped(promise: ResolvedPromise, promiser: str, real: str,
            shadow: Shadow) -> ResolvedPromise:
    """``promise`` with ``promiser`` and the paths its attributes read or link to in
    the shadow; ``real`` is the path being kept (a depth search's entry, or the
    promiser's path)."""
    attrs = dict(promise.attrs)
    copy = attrs.get("copy_from")
    if isinstance(copy, dict) and _local(copy):
        source = copy.get("source")
        if isinstance(source, str) and source.startswith("/"):
            attrs["copy_from"] = {**copy, "source": shadow.view(source)}
    link = attrs.get("link_from")
    if isinstance(link, dict):
        source = link.get("source")
        if isinstance(source, str) and source:
            if source.startswith("/"):
                attrs["link_from"] = {**link, "source": shadow.prepare(source, whole=False)}
            else:  # found from the link's directory: its copy must be there too
                shadow.prepare(os.path.join(os.path.dirname(real), source), whole=False)
    template = attrs.get("edit_template")
    if isinstance(template, str) and template.startswith("/"):
        attrs["edit_template"] = shadow.view(template)
    command = attrs.get("transformer")
    if isinstance(command, str) and real and real != "/":
        attrs["transformer"] = command.replace(real, shadow.path(real))
    return promise.__class__(promise.promise_type, promiser, attrs, promise.bundle,
                             promise.namespace, promise.pos, promise.handle, promise.lvals)


def _local(copy: dict[str, Any]) -> bool:
    from engine.promises.files.copy_from import LOCAL_NAMES

    servers = copy.get("servers")
    names = servers if isinstance(servers, list) else [servers] if servers else []
    return all(str(s) in LOCAL_NAMES for s in names)


def _changed(result: PromiseResult) -> bool:
    return result.outcome is Outcome.REPAIRED or Outcome.REPAIRED in result.also


def _record(promise: ResolvedPromise, path: str, dot: bool, result: PromiseResult,
            shadow: Shadow) -> None:
    if result.outcome is Outcome.SKIPPED:
        return
    if "rename" in promise.attrs:
        if _changed(result):
            _record_rename(promise, path, shadow)
        return
    # cf-agent names a directory promise by its path, unless it searched the tree
    name = promise.promiser if dot and "depth_search" in promise.attrs else path
    if _changed(result):
        shadow.record_changed(name)
    else:
        shadow.record_evaluated(name)


def _record_rename(promise: ResolvedPromise, path: str, shadow: Shadow) -> None:
    body = promise.body("rename")
    newname = str(body.get("newname", ""))
    if newname:
        new = newname if newname.startswith("/") else os.path.join(os.path.dirname(path),
                                                                   newname)
    elif str(body.get("disable", "")).lower() in ("true", "yes", "on"):
        new = path + str(body.get("disable_suffix", ".cfdisabled"))
    else:  # rotated in place
        shadow.record_changed(path)
        return
    if not os.path.lexists(shadow.path(path)) and os.path.lexists(shadow.path(new)):
        shadow.record_rename(path, new)


class _Unshadowed:
    """A logger whose lines name real paths where the actuator wrote shadow ones."""

    def __init__(self, log: Logger, shadow: Shadow) -> None:
        self._log = log
        self._fix = shadow.unshadow

    def critical(self, msg: str) -> None:
        self._log.critical(self._fix(msg))

    def error(self, msg: str) -> None:
        self._log.error(self._fix(msg))

    def warning(self, msg: str) -> None:
        self._log.warning(self._fix(msg))

    def notice(self, msg: str) -> None:
        self._log.notice(self._fix(msg))

    def info(self, msg: str) -> None:
        self._log.info(self._fix(msg))

    def verbose(self, msg: str) -> None:
        self._log.verbose(self._fix(msg))

    def debug(self, msg: str) -> None:
        self._log.debug(self._fix(msg))

    def report(self, text: str) -> None:
        self._log.report(self._fix(text))


class ShadowRun:
    """The ``RunContext`` a files promise is kept in under ``--simulate``: the agent's,
    but for a run that is not dry (the changes are made, in the shadow; ``dry``: a
    promise that watches for changes, which only says what it would do), messages that
    name real paths, edit bundles and depth-search entries seen with their real paths,
    and each entry's outcome recorded for the report."""

    def __init__(self, run: RunContext, shadow: Shadow, promise: ResolvedPromise,
                 dry: bool = False) -> None:
        self._run = run
        self.dry_run = dry
        self._promise = promise  # as the evaluator resolved it: real paths
        self._log = _Unshadowed(run.log, shadow)
        self.shadow: Shadow | None = shadow
        self.workdir = run.workdir
        self.host = run.host
        self.run_state = run.run_state
        self.ignore_missing_bundles = run.ignore_missing_bundles
        self._entries: dict[int, tuple[ResolvedPromise, str]] = {}

    @property
    def log(self) -> Logger:
        return self._log

    def warn_only(self, promise: ResolvedPromise) -> bool:
        return self.dry_run or action_warn(promise)

    def promise_block(self, promise_type: str) -> dict[str, Any] | None:
        return self._run.promise_block(promise_type)

    def edit_promises(self, bundle_ref: BundleCall, filename: str,
                      bundle_type: str = "edit_line") -> list[ResolvedPromise]:
        assert self.shadow is not None
        return self._run.edit_promises(bundle_ref, self.shadow.real(filename), bundle_type)

    def class_defined(self, expr: str) -> bool:
        return self._run.class_defined(expr)

    def edit_outcome(self, promise: ResolvedPromise, outcome: Outcome) -> None:
        self._run.edit_outcome(promise, outcome)

    def datastate(self) -> dict[str, Any]:
        return self._run.datastate()

    def resolve_for(self, promise: ResolvedPromise, promiser: str) -> ResolvedPromise:
        """A depth search's entry ``promiser`` (a shadow path): the attributes resolved
        for its real path, then pointed at the shadow as the promise's were."""
        shadow = self.shadow
        assert shadow is not None
        real = shadow.real(promiser)
        leaf = self._run.resolve_for(promise, real)
        if leaf is not promise:
            leaf = _mapped(leaf, promise.promiser, real, shadow)
        top = self._promise.promiser
        top_path = top[:-2] if top.endswith("/.") else top
        name = top + real[len(top_path):] if real.startswith(top_path + "/") else real
        if leaf is promise:  # the same object for every entry: tell them apart by a copy
            leaf = leaf.__class__(leaf.promise_type, leaf.promiser, leaf.attrs, leaf.bundle,
                                  leaf.namespace, leaf.pos, leaf.handle, leaf.lvals)
        self._entries[id(leaf)] = (leaf, name)
        return leaf

    def apply_outcome(self, p: Promise | None, rp: ResolvedPromise,
                      result: PromiseResult) -> None:
        entry = self._entries.pop(id(rp), None)
        if entry is not None and self.shadow is not None:
            if _changed(result):
                self.shadow.record_changed(entry[1])
            else:
                self.shadow.record_evaluated(entry[1])
        real = rp.__class__(rp.promise_type, self._promise.promiser, rp.attrs, rp.bundle,
                            rp.namespace, rp.pos, rp.handle, rp.lvals)
        self._run.apply_outcome(p, real, result)

    def find_bundle(self, name: str, namespace: str = "default") -> Bundle | None:
        return self._run.find_bundle(name, namespace)

    def run_bundle(self, bundle: Bundle, args: tuple[Any, ...], inherit: bool = False) -> Outcome:
        return self._run.run_bundle(bundle, args, inherit)

    def bundle_depth(self) -> int:
        return self._run.bundle_depth()

    def fatal(self, message: str) -> NoReturn:
        self._run.fatal(message)
