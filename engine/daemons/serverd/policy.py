"""serverd's policy, read in a child process.

Parsing leaves its garbage behind in the process that parsed: CPython hands little
freed memory back to the system, so serverd kept the parse's peak (3 MB for
CFEngine's masterfiles, 13,000 lines) and the parser's modules for its whole life.
So serverd runs this module as a child at start and at each reload
(:func:`read_server_policy`); the child parses, builds the
:class:`~engine.daemons.serverd.config.ServerConfig` and prints it as JSON, which
serverd turns back into the same frozen dataclasses. The child runs the same
interpreter with the same ``sys.path``.

A policy error is reported by the child and raised here as :class:`PolicyError`,
with the message an in-process read gives. If the child cannot run at all (no
interpreter, a crash, output that does not parse), serverd reads the policy
itself, as it always did: the result is the same, only the memory differs.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.daemons.serverd.config import (
    AccessRule,
    RoleRule,
    ServerConfig,
    server_config_from_policy,
)
from engine.workdir import Workdir

CHILD_TIMEOUT = 300.0  # seconds for one policy read
_CHILD = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from engine.daemons.serverd.policy import child_main; sys.exit(child_main())"
)


class PolicyError(Exception):
    """The policy could not be read."""


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyResult:
    config: ServerConfig
    files: tuple[Path, ...]  # every policy file read (empty: there is no policy)
    warnings: tuple[str, ...]  # the loader's and the server configuration's


def load_policy_files(
    workdir: Workdir, entry: Path, classes: set[str], warnings: list[str]
) -> tuple[Any, list[Path]]:
    """Parse ``entry``, following ``inputs``. The loader is imported here, not at
    the top, so that serverd, which reads its policy in a child, never loads it."""
    from engine.eval.loading import load as load_policy
    from engine.policy.ast import Policy

    if not entry.exists():
        return Policy(), []
    try:
        # classes given so that loading never pays for full hard-class discovery
        result = load_policy(entry, workdir.root, classes=sorted(classes))
        policy = result.policy
        warnings.extend(d.message for d in result.diagnostics)
    except Exception as e:  # the parser's own error types carry the position
        raise PolicyError(f"{entry}: {e}") from None
    return policy, [Path(f.path) for f in policy.files]


def read_here(
    workdir: Workdir, entry: Path, sys_vars: dict[str, object], classes: set[str],
    defines: Iterable[str] = (), negates: Iterable[str] = (),
) -> PolicyResult:
    """Read the policy in this process (``defines``/``negates``: serverd's -D and -N)."""
    warnings: list[str] = []
    policy, files = load_policy_files(workdir, entry, classes, warnings)
    scope = None
    if files:
        scope, policy = _evaluated(workdir, entry, policy, set(defines), set(negates),
                                   warnings)
        files = [Path(f.path) for f in policy.files]
    config = server_config_from_policy(policy, sys_vars, classes, scope)
    return PolicyResult(config, tuple(files), (*warnings, *config.warnings))


def _evaluated(workdir: Workdir, entry: Path, policy: Any, defines: set[str],
               negates: set[str], warnings: list[str]) -> tuple[Any, Any]:
    """(the evaluated scope, the policy with the inputs its common bundles named); the
    policy as parsed and no scope (literal values only) when the evaluator fails."""
    from engine.log import Level, LineLogger

    log = LineLogger(Level.ERROR, sink=lambda line: warnings.append(line.strip()))
    try:
        from engine.daemons.serverd.policy_eval import evaluated_scope

        scope = evaluated_scope(policy, workdir, entry, defines, negates, log)
    except Exception as e:  # the evaluator's own failure: literal values, said once
        warnings.append(f"{entry}: cannot evaluate the policy ({type(e).__name__}: {e}); "
                        "only literal values are used")
        return None, policy
    return scope, scope.agent.policy


def read_server_policy(
    workdir: Workdir,
    entry: Path,
    sys_vars: dict[str, object],
    classes: set[str],
    on_fallback: Callable[[str], object] | None = None,
    defines: Iterable[str] = (),
    negates: Iterable[str] = (),
) -> PolicyResult:
    """Read the policy in a child process (in this one when there is no policy, or
    when the child cannot run; ``on_fallback(reason)`` is told why)."""
    if not entry.exists():
        return read_here(workdir, entry, sys_vars, classes)
    defines, negates = sorted(defines), sorted(negates)
    request = {
        "workdir": str(workdir.root),
        "cfengine": workdir.cfengine,
        "entry": str(entry),
        "sys_vars": sys_vars,
        "classes": sorted(classes),
        "defines": defines,
        "negates": negates,
    }
    try:
        reply = _run_child(request)
        if reply.get("ok") is True:
            return PolicyResult(
                config_from_json(reply["config"]),
                tuple(Path(p) for p in reply["files"]),
                tuple(str(w) for w in reply["warnings"]),
            )
        error = str(reply["error"])
    except subprocess.TimeoutExpired:
        raise PolicyError(f"{entry}: reading the policy took more than {CHILD_TIMEOUT:g} s") from None
    except (OSError, ValueError, TypeError, KeyError) as e:
        if on_fallback is not None:
            on_fallback(f"reading the policy in a child process failed ({e}); reading it here")
        return read_here(workdir, entry, sys_vars, classes, defines, negates)
    raise PolicyError(error)


def _run_child(request: dict[str, Any]) -> dict[str, Any]:
    if not sys.executable:
        raise OSError("no Python interpreter to run")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(sys.path)],
        input=json.dumps(request).encode("utf-8"),
        capture_output=True,
        timeout=CHILD_TIMEOUT,
    )
    if out.returncode != 0:
        tail = out.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise OSError(f"exit {out.returncode}: {tail[0]}")
    reply = json.loads(out.stdout)
    if not isinstance(reply, dict):
        raise ValueError("not a JSON object")
    return reply


def child_main() -> int:
    """The child: a request on stdin, the configuration (or the error) on stdout."""
    req = json.load(sys.stdin)
    out, sys.stdout = sys.stdout, sys.stderr  # nothing but the reply goes to stdout
    workdir = Workdir(Path(req["workdir"]), cfengine=bool(req.get("cfengine")))
    try:
        res = read_here(workdir, Path(req["entry"]), dict(req["sys_vars"]), set(req["classes"]),
                        req.get("defines", ()), req.get("negates", ()))
    except PolicyError as e:
        reply: dict[str, Any] = {"ok": False, "error": str(e)}
    else:
        reply = {
            "ok": True,
            "config": config_to_json(res.config),
            "files": [str(p) for p in res.files],
            "warnings": list(res.warnings),
        }
    json.dump(reply, out)
    out.flush()
    return 0


def config_to_json(config: ServerConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def config_from_json(data: dict[str, Any]) -> ServerConfig:
    """The inverse of :func:`config_to_json` (lists back to tuples, rules to dataclasses)."""
    fields = {k: _tuples(v) for k, v in data.items() if k not in ("access", "roles", "bundles")}
    return ServerConfig(
        **fields,
        access=tuple(AccessRule(**{k: _tuples(v) for k, v in r.items()}) for r in data["access"]),
        bundles=tuple(AccessRule(**{k: _tuples(v) for k, v in r.items()})
                      for r in data.get("bundles", ())),
        roles=tuple(RoleRule(**{k: _tuples(v) for k, v in r.items()}) for r in data["roles"]),
    )
