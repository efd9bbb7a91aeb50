"""``packages`` promises with a ``package_method`` body (CFEngine's older package
promises), as cf-agent 3.21 keeps them.

A promise names a package (``package_version``, ``package_architectures`` and
``package_select`` narrow it, or the method's name/version/arch regexes pick them
out of the promiser) and a ``package_policy``: ``add`` (default), ``delete``,
``reinstall``, ``update``, ``addupdate``, ``verify`` or ``patch``. The agent
compares it with the method's list of installed packages and, when something must
change, schedules the method's command: the promise is repaired at once, and the
commands of the whole pass run after the bundle's last ``packages`` promise of the
pass — deletions, then additions, updates and verifications, one command per
package (``package_changes => "individual"``) or one for all (``bulk``). A command
that fails makes its promises not kept as well. With ``package_file_repositories``
the newest file there that fits ``package_name_convention`` and the version is what
gets installed. ``action_policy => "warn"`` schedules nothing and reports what it
would do; ``--dry-run`` schedules, announces and runs nothing.
"""

from __future__ import annotations

import os
import re
import subprocess

from engine.promises.base import Outcome, PromiseResult, ResolvedPromise
from engine.promises.packages import inventory
from engine.promises.packages.inventory import ListingError, Package
from engine.promises.packages.method import (
    Method,
    command_arg0,
    first_reference,
    full_match,
    is_executable,
    run,
)
from engine.promises.packages.versions import Comparator, CompareError

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:

    from engine.promises.base import RunContext

STATE_KEY = "legacy_packages"
_IN_RANGE = frozenset({"==", ">=", "<="})
_ACTION_WORDS = {"add": "installing", "delete": "uninstalling", "reinstall": "reinstalling",
                 "update": "updating", "addupdate": "installing/updating",
                 "patch": "patching", "verify": "verifying"}
_WORSE = {Outcome.KEPT: 0, Outcome.REPAIRED: 1, Outcome.NOTKEPT: 2}


class Scheduled:
    """One package operation waiting for the end of the pass."""

    __slots__ = ("action", "command", "bulk", "item", "promise", "method")

    def __init__(self, action: str, command: str, bulk: bool, item: str,
                 promise: ResolvedPromise, method: Method) -> None:
        self.action = action
        self.command = command
        self.bulk = bulk
        self.item = item
        self.promise = promise
        self.method = method


class PassState:
    """Installed lists read in this pass (by listing command) and the schedule."""

    def __init__(self) -> None:
        self.installed: dict[str, list[Package]] = {}
        self.schedule: list[Scheduled] = []


def _state(run_ctx: RunContext) -> PassState:
    state = run_ctx.run_state.get(STATE_KEY)
    if state is None:
        state = run_ctx.run_state[STATE_KEY] = PassState()
    return state


def _worst(a: Outcome, b: Outcome) -> Outcome:
    return a if _WORSE.get(a, 0) >= _WORSE.get(b, 0) else b


def _fail(run_ctx: RunContext, promise: ResolvedPromise, msg: str) -> PromiseResult:
    run_ctx.log.error(f"{msg} (package promise '{promise.promiser}' at "
                      f"{promise.pos.file}:{promise.pos.line})")
    return PromiseResult(Outcome.NOTKEPT, message=msg)


def actuate(promise: ResolvedPromise, run_ctx: RunContext) -> PromiseResult:
    method = Method(promise.body("package_method"))
    problem = method.problem(promise.attrs)
    if problem is not None:
        return _fail(run_ctx, promise, problem)
    try:
        arch = inventory.default_arch(method)
    except ListingError as e:
        return _fail(run_ctx, promise, str(e))
    state = _state(run_ctx)
    key = method.get("list_command") or ""
    packages = state.installed.get(key)
    if packages is None:
        try:
            packages = inventory.installed(method, arch)
        except ListingError as e:
            return _fail(run_ctx, promise, f"Unable to obtain a list of installed packages: {e}")
        state.installed[key] = packages
        for p in packages:
            run_ctx.log.verbose(f"Package ({p.name},{p.version},{p.arch}) [name,version,arch] "
                                "found")
    decider = _Decider(run_ctx, promise, method, packages)
    try:
        outcome = decider.verify()
    except CompareError as e:
        return _fail(run_ctx, promise, str(e))
    return PromiseResult(outcome)


class _Decider:
    """What one promise needs: cf-agent's VerifyPromisedPackage, step by step."""

    def __init__(self, run_ctx: RunContext, promise: ResolvedPromise, method: Method,
                 packages: list[Package]) -> None:
        self.run = run_ctx
        self.log = run_ctx.log
        self.promise = promise
        self.method = method
        self.packages = packages
        self.cmp: Comparator = method.comparator()
        self.policy = promise.str_attr("package_policy", "add") or "add"
        self.select = promise.str_attr("package_select", "==") or "=="
        action = promise.body("action")
        self.warn = str(action.get("action_policy", "fix")) in ("warn", "nop")

    def verify(self) -> Outcome:
        p, m = self.promise, self.method
        version = p.str_attr("package_version")
        archs = p.list_attr("package_architectures")
        if version:
            targets = [(p.promiser, version, a, False) for a in archs or ["*"]]
        elif m.get("version_regex"):
            name = first_reference(m.get("name_regex"), p.promiser)
            ver = first_reference(m.get("version_regex"), p.promiser)
            arch = first_reference(m.get("arch_regex"), p.promiser) if m.get("arch_regex") else ""
            if not arch or arch == "CF_NOMATCH":
                arch = "*"
            targets = [(name, ver, arch, False)]
        else:
            targets = [(p.promiser, "*", a, True) for a in archs or ["*"]]
        outcome = Outcome.KEPT
        for name, ver, arch, no_version in targets:
            outcome = _worst(outcome, self.check(name, ver, arch, no_version))
        return outcome

    # ----- matching ---------------------------------------------------------------
    def _match(self, name: str, version: str, arch: str) -> bool:
        for pkg in self.packages:
            if pkg.name != name or (arch != "*" and arch != pkg.arch):
                continue
            if version == "*" or self.cmp.compare(pkg.version, version, "=="):
                return True
        return False

    def check(self, name: str, version: str, arch: str, no_version: bool) -> Outcome:
        installed = self._match(name, "*", arch)
        matched = self._match(name, version, arch)
        self.log.verbose(f"Package ({name},{version},{arch}) [name,version,arch]: "
                         f"installed={int(installed)}, matched={int(matched)}")
        if self.policy in ("delete", "reinstall"):
            if not (matched and installed):
                return Outcome.KEPT
        elif installed and matched:
            self.log.verbose(f"Package '{self.promise.promiser}' already installed and matches "
                             "criteria")
            return Outcome.KEPT
        return self.schedule(name, version, arch, installed, matched, no_version)

    # ----- deciding ----------------------------------------------------------------
    def _convention(self, template: str | None, name: str, version: str, arch: str) -> str:
        if not template:
            return name
        out = template
        for key, value in (("name", name), ("version", version), ("arch", arch)):
            out = out.replace(f"$({key})", value).replace(f"${{{key}}}", value)
        return out

    def _largest_in_repositories(self, name: str, version: str, arch: str) -> str | None:
        """The file in the repositories whose version (from the name convention)
        satisfies the promise's selection, the highest for ``>``/``>=``."""
        regex = self._repo_regex(name, arch)
        best_version = "" if version in ("", "*") else version
        best_file: str | None = None
        for repo in self.method.repositories():
            try:
                entries = sorted(os.listdir(repo))
            except OSError as e:
                self.log.error(f"Can't open local directory '{repo}' ({e.strerror})")
                continue
            for entry in entries:
                if not full_match(regex, entry):
                    continue
                found = first_reference(regex, entry)
                if self.cmp.compare(found, best_version, self.select):
                    best_version, best_file = found, entry
        return best_file

    def schedule(self, name: str, version: str, arch: str, installed: bool, matched: bool,
                 no_version: bool) -> Outcome:
        m = self.method
        if m.get("delete_convention") and self.policy == "delete":
            ident = self._convention(m.get("delete_convention"), name, version, arch)
        else:
            ident = self._convention(m.get("name_convention"), name, version, arch)
        in_range = self.select in _IN_RANGE
        policy = self.policy
        if policy == "addupdate":
            policy = "update" if installed else "add"
        if policy == "add":
            if installed:
                return Outcome.KEPT
            if m.repositories():
                found = self._largest_in_repositories(name, version, arch)
                if found is None:
                    self.log.verbose("No package in file repositories satisfy version constraint")
                    return Outcome.KEPT
                ident = found
            return self._add("add", ident)
        if policy == "delete":
            if not ((matched and in_range) or (installed and no_version)):
                return Outcome.KEPT
            if ident.startswith("$(firstrepo)"):
                path = _in_repository(m.repositories(), ident[len("$(firstrepo)"):])
                if path is not None:
                    ident = path
            return self._add("delete", ident)
        if policy == "reinstall":
            if m.get("delete_command") is None:
                return self._fail("Package delete command undefined")
            if no_version:
                return self._fail("Package reinstallation cannot be promised -- insufficient "
                                  "version info or no match")
            outcome = Outcome.KEPT
            if matched and in_range:
                outcome = _worst(outcome, self._add("delete", ident))
            return _worst(outcome, self._add("add", ident))
        if policy == "update":
            return self._update(name, version, arch, ident, installed, matched, no_version,
                                in_range)
        if policy == "verify":
            if not ((matched and in_range) or (installed and no_version)):
                return self._fail(f"Package '{self.promise.promiser}' cannot be verified -- "
                                  "no match")
            return self._add("verify", ident)
        if policy == "patch":
            if matched and not installed:
                return self._add("patch", ident)
            return Outcome.KEPT
        return Outcome.KEPT

    def _update(self, name: str, version: str, arch: str, ident: str, installed: bool,
                matched: bool, no_version: bool, in_range: bool) -> Outcome:
        m = self.method
        available = version
        if m.repositories():
            found = self._largest_in_repositories(name, version, arch)
            if found is None:
                self.log.verbose("No package in file repositories satisfy version constraint")
                return Outcome.KEPT
            ident = found
            available = first_reference(self._repo_regex(name, arch), found)
        old: Package | None = None
        if installed:
            old = next((p for p in self.packages
                        if p.name == name and (arch == "*" or p.arch == arch)), None)
            if old is None or not self.cmp.compare(old.version, available, "<"):
                self.log.verbose("Installed package is up to date, not updating")
                return Outcome.KEPT
        if not (installed or (matched and in_range and not no_version)):
            return self._fail(f"Package '{self.promise.promiser}' cannot be updated -- no match "
                              "or not installed")
        if m.get("update_command") is None:
            if m.get("add_command") is None:
                return self._fail("Package add command undefined")
            if m.get("delete_command") is None:
                return self._fail("Package delete command undefined")
            ident_del = ident
            if m.get("delete_convention"):
                ident_del = self._convention(m.get("delete_convention"), name,
                                             old.version if old else "*",
                                             old.arch if old else "*")
            return _worst(self._add("delete", ident_del), self._add("add", ident))
        return self._add("update", ident)

    def _repo_regex(self, name: str, arch: str) -> str:
        """The name convention as a regex of the file names, the version captured."""
        marker = "\x00VERSION\x00"
        pattern = self._convention(self.method.get("name_convention") or "$(name)", name,
                                   marker, arch)
        return re.escape(pattern).replace(re.escape(marker), "(.*)")

    def _fail(self, msg: str) -> Outcome:
        _fail(self.run, self.promise, msg)
        return Outcome.NOTKEPT

    def _add(self, action: str, ident: str) -> Outcome:
        command = self.method.get(f"{action}_command")
        if command is None:
            return self._fail(f"Package {action} command undefined")
        if self.warn:
            word = _ACTION_WORDS.get(action, action)
            self.log.warning(f"Need to repair promise '{self.promise.promiser}' by '{word}' "
                           f"package '{ident}'")
            return Outcome.NOTKEPT
        _state(self.run).schedule.append(
            Scheduled(action, command, self.method.bulk, ident, self.promise, self.method))
        return Outcome.REPAIRED


def _in_repository(repositories: list[str], package: str) -> str | None:
    """The first repository holding ``package``, as a quoted path."""
    for repo in repositories:
        path = os.path.join(repo, package)
        if os.path.exists(path):
            return f'"{path}"'
    return None


# ----- the end of a pass -------------------------------------------------------------
_ORDER = ("delete", "add", "update", "patch", "verify")
_ANNOUNCE = {"add": "Installing", "delete": "Deleting", "update": "Updating"}


def execute_schedule(run_ctx: RunContext) -> None:
    """Keep the pass's listings in the inventory, run what the pass scheduled, then
    forget both."""
    state = run_ctx.run_state.pop(STATE_KEY, None)
    if state is None:
        return
    listed = {command: packages for command, packages in state.installed.items() if command}
    if listed:
        try:
            inventory.save(run_ctx.workdir, listed)
        except OSError as e:
            run_ctx.log.error(f"Could not write the package inventory "
                              f"'{os.path.join(run_ctx.workdir, inventory.INVENTORY)}' ({e.strerror})")
    if not state.schedule:
        return
    for action in _ORDER:
        groups: dict[tuple[str, bool], list[Scheduled]] = {}
        for item in reversed(state.schedule):  # cf-agent prepends: newest first
            if item.action == action:
                groups.setdefault((item.command, item.bulk), []).append(item)
        for (command, bulk), items in groups.items():
            first = items[0]
            word = _ANNOUNCE.get(action)
            if word:
                run_ctx.log.info(f"{word} {first.promise.promiser[:39]}...")
            _run_group(run_ctx, action, command, bulk, items)


def _run_group(run_ctx: RunContext, action: str, command: str, bulk: bool,
               items: list[Scheduled]) -> None:
    if command.endswith("$"):
        _exec(run_ctx, command[:-1], action, items)
        return
    with_repo = action in ("add", "update")
    if bulk:
        names = []
        for item in items:
            name = _argument(item, with_repo)
            if name is None:
                break
            names.append(name)
        _exec(run_ctx, f"{command} {' '.join(names)} ", action, items)
        return
    for item in items:
        name = _argument(item, with_repo)
        if name is None:
            continue
        _exec(run_ctx, f"{command} {name}", action, [item])


def _argument(item: Scheduled, with_repo: bool) -> str | None:
    repos = item.method.repositories()
    if with_repo and repos:
        return _in_repository(repos, item.item)
    return item.item


def _exec(run_ctx: RunContext, command: str, action: str, items: list[Scheduled]) -> None:
    method = items[0].method
    log = run_ctx.log
    useshell = method.useshell
    if not useshell and not is_executable(command):
        for item in items:
            _outcome(run_ctx, item, Outcome.NOTKEPT,
                     f"The proposed package schedule command '{command}' was not executable")
        return
    if run_ctx.dry_run:
        return
    log.verbose(f"Executing {command[:60]}...")
    try:
        status, lines = run(command, useshell)
    except (OSError, subprocess.SubprocessError) as e:
        for item in items:
            _outcome(run_ctx, item, Outcome.NOTKEPT, f"Couldn't start command '{command}' ({e})")
        return
    short = os.path.basename(command_arg0(command))[:20]
    verify = action == "verify"
    noverify_rx = method.get("noverify_regex")
    failed = False
    for line in lines:
        log.info(f"Q:{short:>20} ...:{line}")
        if verify and line and noverify_rx and full_match(noverify_rx, line):
            failed = True
    if verify:
        rc = method.noverify_returncode()
        if rc is not None:
            failed = status == rc
        elif noverify_rx is None:
            failed = status != 0
    else:
        failed = status != 0
    for item in items:
        if failed:
            _outcome(run_ctx, item, Outcome.NOTKEPT,
                     f"Package schedule execution failed for '{item.item}'")
        else:
            log.verbose(f"Package schedule execution ok for '{item.item}' (outcome cannot be "
                        "promised by cf-agent)")


def _outcome(run_ctx: RunContext, item: Scheduled, outcome: Outcome, msg: str) -> None:
    run_ctx.log.error(msg)
    run_ctx.apply_outcome(None, item.promise, PromiseResult(outcome, message=msg))

