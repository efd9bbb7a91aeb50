"""More file functions: filesexist, makerule, basename, sysctlvalue, data_sysctlvalues."""

from __future__ import annotations

import os

from engine.eval.functions.arrays import collect
from engine.eval.functions.registry import FnEnv, FunctionError, data_as_list, function
from engine.eval.values import Data

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any


def _paths(env: FnEnv, fn: str, arg: Any, scalar_ok: bool) -> list[str]:
    """A collecting argument as a list of paths; a plain string is one path when
    ``scalar_ok``."""
    v = collect(env, arg)
    if v is not None:
        return data_as_list(v)
    if scalar_ok and isinstance(arg, str):
        return [arg]
    raise FunctionError(f"Function '{fn}': '{arg}' is not a list", quiet=True)


def _exists(path: str) -> bool:
    try:
        os.lstat(path)
        return True
    except (OSError, ValueError):
        return False


@function("filesexist", "class", 1, 1)
def filesexist(env: FnEnv, arg: Any) -> bool:
    """filesexist(list): true when every file in the list (or container) exists (an
    empty list is false)."""
    paths = _paths(env, "filesexist", arg, False)
    return bool(paths) and all(_exists(p) for p in paths)


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except (OSError, ValueError):
        return None


@function("makerule", "class", 2, 2)
def makerule(env: FnEnv, target: str, sources: Any) -> bool:
    """makerule(target, sources): true when ``target`` must be (re)built as ``make``
    decides: it does not exist, or a source is newer. A missing source makes it false."""
    srcs = _paths(env, "makerule", sources, True)
    times = [_mtime(s) for s in srcs]
    if any(t is None for t in times):
        return False
    built = _mtime(target)
    if built is None:
        return True
    return any(t is not None and t > built for t in times)


@function("basename", "string", 1, 2)
def basename(env: FnEnv, path: str, suffix: str | None = None) -> str:
    """basename(filename, optional suffix): the last part of the path (trailing
    slashes ignored), less ``suffix`` when it ends with it."""
    p = path.rstrip("/")
    if not p:
        return "/" if path else ""
    base = p.rsplit("/", 1)[-1]
    if suffix and base.endswith(suffix) and base != suffix:
        base = base[: -len(suffix)]
    return base


def _sysctl_root() -> str:
    """/proc/sys, or under ``$CFENGINE_TEST_OVERRIDE_PROCDIR`` as cf-agent allows."""
    return os.environ.get("CFENGINE_TEST_OVERRIDE_PROCDIR", "") + "/proc/sys"


@function("sysctlvalue", "string", 1, 1)
def sysctlvalue(env: FnEnv, key: str) -> str:
    """sysctlvalue(key): the kernel parameter ``key`` (``net.ipv4.ip_forward``), read
    from /proc/sys, without its trailing newline."""
    if not key or ".." in key or key.startswith((".", "/")):
        raise FunctionError(f"Function 'sysctlvalue': invalid key '{key}'", quiet=True)
    path = os.path.join(_sysctl_root(), *key.split("."))
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read(64 * 1024).rstrip("\n")
    except OSError:
        raise FunctionError(f"Function 'sysctlvalue': cannot read '{key}'", quiet=True) from None


@function("data_sysctlvalues", "data", 0, 0)
def data_sysctlvalues(env: FnEnv) -> Data:
    """data_sysctlvalues(): every readable kernel parameter under /proc/sys, keyed by
    its dotted name."""
    out: dict[str, str] = {}
    top = _sysctl_root()
    for root, _dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, encoding="utf-8", errors="surrogateescape") as f:
                    value = f.read(64 * 1024).rstrip("\n")
            except OSError:
                continue
            out[os.path.relpath(path, top).replace("/", ".")] = value
    return Data(dict(sorted(out.items())))
