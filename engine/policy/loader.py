"""Load a policy: the entry file and every file its ``inputs`` pull in.

``inputs`` come from ``body common control`` and ``body file control``; a relative path
is relative to the directory of the file that names it. Paths may use ``$(sys.workdir)``,
``$(sys.inputdir)``, ``$(sys.masterdir)``, ``$(sys.libdir)`` (``inputdir/lib``),
``$(sys.local_libdir)`` (``lib``), ``$(this.promise_dirname)`` and variables of
``common`` bundles whose values are literal (see :mod:`engine.policy.staticvars`).
Newly loaded files can define the variables that earlier ``inputs`` need, so loading
repeats until nothing new appears. What still cannot be resolved is skipped with a
warning.

Each file is loaded once (by real path). A ``bundle agent __main__`` outside the entry
file is dropped, as cf-agent does.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.policy.ast import Policy, PolicyFile, RList, Rval, Scalar
from engine.policy.diagnostics import Diagnostic, PolicySyntaxError, error, warning
from engine.policy.parser import parse_text
from engine.policy.source import read_source
from engine.policy.staticvars import StaticVars, Unknown
from engine.workdir import Workdir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from engine.policy.astcache import ParseCache


class LoadResult:
    """The loaded policy and what was found on the way (missing or unresolved inputs,
    and syntax errors of input files when not strict)."""

    __slots__ = ("policy", "diagnostics", "inputs_pending")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, policy: Policy, diagnostics: list[Diagnostic] | None = None,
                 inputs_pending: bool = False) -> None:
        self.policy = policy
        self.diagnostics: list[Diagnostic] = [] if diagnostics is None else diagnostics
        # some input could not be named before evaluation: bundles it defines may be
        # missing from ``policy`` until the agent has evaluated the common bundles
        self.inputs_pending = inputs_pending

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, LoadResult)
            return (self.policy, self.diagnostics) == (other.policy, other.diagnostics)
        return NotImplemented

    def __repr__(self) -> str:
        return f"LoadResult(policy={self.policy!r}, diagnostics={self.diagnostics!r})"

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def absolute_entry(entry: str) -> str:
    """``entry`` made absolute as cf-agent does it: joined to the working directory
    but not normalised, so ``./t.cf`` stays visible in ``this.promise_filename``."""
    if os.path.isabs(entry):
        return entry
    return os.path.join(os.getcwd(), entry)


def resolve_entry(given: str, inputdir: str) -> str:
    """The policy file ``-f given`` names: a bare name (no ``/``, ``./`` or ``../``
    prefix) is looked up in the inputs directory, as cf-agent does."""
    if os.path.isabs(given) or given.startswith(("./", "../")) or given in (".", ".."):
        return absolute_entry(given)
    return os.path.join(inputdir, given)


def sys_vars(entry: str, workdir: Path) -> dict[str, str]:
    """The ``sys.*`` directory variables as cf-promises 3.21 sets them."""
    return {
        **Workdir(workdir).sys_paths(),
        "policy_entry_filename": os.path.abspath(entry),
        "policy_entry_dirname": os.path.dirname(os.path.abspath(entry)),
        "policy_entry_basename": os.path.basename(entry),
    }


Evaluate = Callable[[str, Callable[[str], bool]], bool]


def _plain_names(expr: str, is_defined: Callable[[str], bool]) -> bool:
    """The evaluator used when the caller gives none: ``any`` and single class names."""
    return expr == "any" or (expr.replace("_", "").replace(":", "").isalnum()
                             and is_defined(expr))


def load_policy(
    entry: Path | str,
    workdir: Path | str,
    *,
    strict: bool = True,
    classes: Iterable[str] | Callable[[], Iterable[str]] | None = None,
    evaluate: Evaluate | None = None,
    parse_cache: ParseCache | None = None,
) -> LoadResult:
    """Parse ``entry`` and its inputs.

    With ``strict`` a syntax error anywhere raises :class:`PolicySyntaxError`; without
    it, an input file that fails to parse is reported in the diagnostics and skipped.
    ``classes`` are the hard classes for the guards of common ``vars`` and ``classes``
    promises and of ``inputs``, or a callable giving them (asked only when a guard
    needs them); ``evaluate(expr, is_defined)`` evaluates a class expression. Both come
    from the caller (the evaluator's discovery and class expressions): the front end
    looks nothing up above itself. Without them only ``any`` and plain names hold.
    ``parse_cache`` keeps parsed files between runs. Each file is read once; its content
    digest is kept in ``Policy.digests``.
    """
    loader = _Loader(str(entry), Path(workdir), strict, classes)
    loader.parse_cache = parse_cache
    loader.evaluate = evaluate or _plain_names
    # What a load makes (ASTs, the static variables) holds no reference cycles: the
    # cyclic collector waits until the whole policy is built rather than walking the
    # files already built again after each one (see parser.parse_source).
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return loader.run()
    finally:
        if paused:
            gc.enable()


class _Loader:
    def __init__(
        self, entry: str, workdir: Path, strict: bool,
        classes: Iterable[str] | Callable[[], Iterable[str]] | None,
    ) -> None:
        self.entry = absolute_entry(entry)
        self.entry_dir = os.path.dirname(self.entry)
        self.workdir = workdir
        self.strict = strict
        self._classes = classes
        self.policy = Policy()
        self.diags: list[Diagnostic] = []
        self.loaded: set[str] = set()
        self.failed: set[str] = set()
        self.vars: StaticVars | None = None
        self.parse_cache: ParseCache | None = None
        self.evaluate: Evaluate = _plain_names
        self._keys: dict[str, str] = {}  # input path as written -> its realpath

    def run(self) -> LoadResult:
        pf, digest = parse_input(self.entry, self.parse_cache)  # its syntax errors always raise
        self.loaded.add(os.path.realpath(self.entry))
        self.policy.add(_rename_main(pf), digest)
        given = self._classes
        if given is None:
            hard: Callable[[], set[str]] = set
        elif callable(given):
            hard = lambda: set(given())  # noqa: E731 - asked for at most once, lazily
        else:
            fixed = set(given)
            hard = lambda: fixed  # noqa: E731
        self.vars = StaticVars(sys_vars(self.entry, self.workdir), self.evaluate, hard)
        unresolved: list[tuple[Rval, str]] = []
        changed = True
        while changed:
            changed = False
            unresolved = []
            for f in list(self.policy.files):
                self.vars.add_file(f)
            for f in list(self.policy.files):
                for item, path in self._inputs_of(f, unresolved):
                    changed |= self._load(path, item, f)
        for item, why in unresolved:
            self.diags.append(
                warning(
                    item.pos,
                    f"input {_show(item)} cannot be resolved before evaluation ({why}); skipped",
                )
            )
        return LoadResult(self.policy, self.diags, inputs_pending=bool(unresolved))

    def _inputs_of(
        self, f: PolicyFile, unresolved: list[tuple[Rval, str]]
    ) -> list[tuple[Rval, str]]:
        """(item, path) for every input of ``f`` that resolves now."""
        assert self.vars is not None
        out: list[tuple[Rval, str]] = []
        this = {"promise_dirname": os.path.dirname(f.path), "promise_filename": f.path}
        for body in f.bodies:
            if body.name != "control" or body.body_type not in ("common", "file"):
                continue
            for c in body.constraints:
                if c.lval != "inputs" or not self._guard_ok(c.guard):
                    continue
                items = c.rval.items if isinstance(c.rval, RList) else (c.rval,)
                for item in items:
                    try:
                        value = self.vars.rval(item, body.namespace, None, this)
                    except Unknown as e:
                        unresolved.append((item, f"'{e}' is not known"))
                        continue
                    for path in value if isinstance(value, list) else [value]:
                        out.append((item, path))
        return out

    def _guard_ok(self, guard: str) -> bool:
        assert self.vars is not None
        return "$" not in guard and self.vars.defined(guard)

    def _load(self, path: str, item: Rval, includer: PolicyFile) -> bool:
        # cf-agent resolves a relative input against the entry file's directory (not
        # the includer's) and keeps the path as written: `/cwd/./a/../b.cf`
        full = path if os.path.isabs(path) else os.path.join(self.entry_dir, path)
        key = self._keys.get(full)
        if key is None:
            # each pass of run() meets every input again: resolve a path once per load
            key = self._keys[full] = os.path.realpath(full)
        if key in self.loaded or key in self.failed:
            return False
        if not os.path.isfile(full):
            self.failed.add(key)
            report = warning if self._ignore_missing() else error
            self.diags.append(report(item.pos, f"input file '{full}' does not exist"))
            return False
        try:
            pf, digest = parse_input(full, self.parse_cache)
        except PolicySyntaxError as e:
            if self.strict:
                raise
            self.failed.add(key)
            self.diags.append(e.diagnostic)
            return False
        except OSError as e:
            self.failed.add(key)
            self.diags.append(error(item.pos, f"cannot read input file '{full}': {e.strerror}"))
            return False
        self.loaded.add(key)
        self.policy.add(_drop_main(pf), digest)
        return True

    def _ignore_missing(self) -> bool:
        for body in self.policy.control_bodies("common"):
            for c in body.constraints:
                if c.lval == "ignore_missing_inputs" and isinstance(c.rval, Scalar):
                    return c.rval.value.lower() in ("true", "yes", "on")
        return False


def load_more_inputs(policy: Policy, entry: str, paths: Iterable[str],
                     cache: ParseCache | None = None
                     ) -> tuple[list[PolicyFile], list[Diagnostic]]:
    """Parse the input files in ``paths`` that ``policy`` does not hold yet and add
    them to it: for inputs the evaluator could only name once common bundles ran
    (their paths came from function calls or classes). A relative path is relative
    to the entry file's directory; missing files are not errors here (the agent
    reports inputs it cannot find once nothing new can be loaded). ``cache``: the
    run's parse cache, as for the inputs loaded before evaluation."""
    entry_dir = os.path.dirname(absolute_entry(entry))
    # a path written as a loaded file's is that file: no realpath (a stat per part)
    as_loaded = {f.path for f in policy.files}
    have: set[str] | None = None
    added: list[PolicyFile] = []
    diags: list[Diagnostic] = []
    for path in paths:
        full = path if os.path.isabs(path) else os.path.join(entry_dir, path)
        if full in as_loaded:
            continue
        if have is None:
            have = {os.path.realpath(f) for f in as_loaded}
        key = os.path.realpath(full)
        if key in have or not os.path.isfile(full):
            continue
        have.add(key)
        try:
            pf, digest = parse_input(full, cache)
        except PolicySyntaxError as e:
            diags.append(e.diagnostic)
            continue
        except OSError:
            continue
        pf = _drop_main(pf)
        policy.add(pf, digest)
        added.append(pf)
    return added, diags


def parse_input(path: str, cache: ParseCache | None = None) -> tuple[PolicyFile, str]:
    """The file at ``path`` parsed (through ``cache`` if given) and its content digest,
    from one read; raises OSError or PolicySyntaxError."""
    text, digest = read_source(path)
    if cache is None:
        return parse_text(text, path), digest
    return cache.parse(text, path, digest), digest


def _rename_main(pf: PolicyFile) -> PolicyFile:
    """The entry file's ``bundle agent __main__`` is ``main``, as in cf-agent 3.21: the
    bundlesequence can name it, and another ``main`` is a duplicate."""
    if not any(b.name == "__main__" for b in pf.bundles):
        return pf
    import copy

    bundles = []
    for b in pf.bundles:
        if b.name == "__main__":
            b = copy.copy(b)  # the parsed file may be shared: never edited
            object.__setattr__(b, "name", "main")
        bundles.append(b)
    return PolicyFile(pf.path, tuple(bundles), pf.bodies)


def _drop_main(pf: PolicyFile) -> PolicyFile:
    if not any(b.name == "__main__" for b in pf.bundles):
        return pf
    return PolicyFile(pf.path, tuple(b for b in pf.bundles if b.name != "__main__"), pf.bodies)


def _show(item: Rval) -> str:
    if isinstance(item, Scalar):
        return f"'{item.value}'"
    return f"'{getattr(item, 'name', '?')}(...)'"
