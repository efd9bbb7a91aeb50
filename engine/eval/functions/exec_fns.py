"""Running commands (execresult, returnszero) and the environment (getenv).

``noshell`` commands are split into words the way cf-agent does (double and
single quotes group, no other shell syntax) and must start with an absolute
path; ``useshell`` runs ``/bin/sh -c`` (named ``sh``, as its messages then say), and
fails, as in cf-agent, when the command starts with an absolute path that does not
exist. A command never runs longer than :data:`EXEC_TIMEOUT` seconds; past that it is
killed and the call fails.
"""

from __future__ import annotations

import os

from engine.eval.functions._util import need_int
from engine.eval.functions.registry import FnEnv, FunctionError, function
from engine.eval.values import Data

EXEC_TIMEOUT = 300.0
SHELL = "/bin/sh"


def split_command(cmd: str) -> list[str]:
    """Split a ``noshell`` command line: whitespace separates, quotes group."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    have = False
    for ch in cmd:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
        elif ch in "\"'`":
            quote = ch
            have = True
        elif ch in " \t\n":
            if cur or have:
                words.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(ch)
    if cur or have:
        words.append("".join(cur))
    return words


def _argv(fn: str, cmd: str, shell: str) -> list[str]:
    if shell == "useshell":
        first = cmd.split(None, 1)[0] if cmd.strip() else ""
        if first.startswith("/") and not os.path.exists(first):
            raise FunctionError(f"Proposed executable file '{first}' doesn't exist")
        return ["sh", "-c", cmd]
    if shell == "noshell":
        argv = split_command(cmd)
        if not argv or not argv[0].startswith("/"):
            raise FunctionError(f"{fn} '{cmd}' does not have an absolute path")
        if not os.path.isfile(argv[0]):
            raise FunctionError(f"Proposed executable file '{argv[0]}' doesn't exist")
        if not os.access(argv[0], os.X_OK):
            raise FunctionError(f"{fn} '{cmd}' is assumed to be executable but isn't")
        return argv
    if shell == "powershell":
        raise FunctionError(f"{fn}: powershell is only supported on Windows")
    raise FunctionError(f"{fn}: shell type must be 'noshell', 'useshell' or 'powershell', not '{shell}'")


def cached_run(env: FnEnv, fn: str, cmd: str, shell: str,
               output: str = "both") -> tuple[int, str]:
    """:func:`run_command`, once per run for the same command: cf-agent caches the
    results of execresult and returnszero for the rest of the run (a policy that asks
    ``lsb_release -a`` in five bundles runs it once), except for a promise whose action
    says ``ifelapsed => "0"``, which runs the command every time."""
    cache = getattr(env, "fn_cache", None)
    fresh = getattr(env, "wants_fresh_results", None)
    if cache is None or (fresh is not None and fresh()):
        return run_command(fn, cmd, shell, output)
    key = ("exec", cmd, shell, output)
    hit = cache.get(key)
    if hit is None:
        hit = cache[key] = run_command(fn, cmd, shell, output)
    return hit


#: What ``output`` (execresult's third argument) keeps of a command's streams.
OUTPUTS = ("both", "stdout", "stderr")
#: An ``output`` of our own: the command writes to the agent's stdout and stderr, as
#: cf-agent lets a ``useshell`` returnszero do.
INHERIT = "inherit"


def run_command(fn: str, cmd: str, shell: str, output: str = "both") -> tuple[int, str]:
    """Run ``cmd``; return (exit code, output with trailing newlines removed).
    ``output`` keeps stdout and stderr interleaved (``both``) or one of them only."""
    import subprocess  # only policies that run commands pay for it

    if output not in OUTPUTS and output != INHERIT:
        raise FunctionError(f"{fn}: output must be one of {', '.join(OUTPUTS)}, not '{output}'")
    argv = _argv(fn, cmd, shell)
    pipe, null = subprocess.PIPE, subprocess.DEVNULL
    if output == INHERIT:  # what the agent printed so far comes first
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
    try:
        proc = subprocess.run(
            argv,
            executable=SHELL if shell == "useshell" else None,
            stdin=subprocess.DEVNULL,
            stdout=None if output == INHERIT else null if output == "stderr" else pipe,
            stderr={"both": subprocess.STDOUT, "stdout": null, "stderr": pipe,
                    INHERIT: None}[output],
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise FunctionError(f"{fn} '{cmd}' timed out after {EXEC_TIMEOUT:g} seconds") from None
    except OSError as e:
        raise FunctionError(f"{fn} '{cmd}' could not be run ({e.strerror})") from None
    # cf-agent drops all trailing white space, not only newlines
    raw = (proc.stderr if output == "stderr" else proc.stdout) or b""
    out = raw.decode("utf-8", "surrogateescape").rstrip(" \t\n\r\f\v")
    return proc.returncode, out


@function("execresult", "string", 1, 3)
def execresult(env: FnEnv, cmd: str, shell: str = "noshell", output: str = "both") -> str:
    """execresult(command, shell, output): the command's output (stdout and stderr),
    trailing white space removed; the exit code does not matter."""
    return cached_run(env, "execresult", cmd, shell, output)[1]


@function("execresult_as_data", "data", 1, 3)
def execresult_as_data(env: FnEnv, cmd: str, shell: str = "noshell", output: str = "both") -> Data:
    """execresult_as_data(command, shell, output): ``{"exit_code": n, "output": text}``."""
    code, out = cached_run(env, "execresult_as_data", cmd, shell, output)
    return Data({"exit_code": code, "output": out})


@function("returnszero", "class", 2, 2)
def returnszero(env: FnEnv, cmd: str, shell: str) -> bool:
    """returnszero(command, shell): true when the command exits with status 0. A
    ``useshell`` command writes to the agent's own output, as in cf-agent; a ``noshell``
    one's output is dropped."""
    return cached_run(env, "returnszero", cmd, shell,
                      INHERIT if shell == "useshell" else "both")[0] == 0


@function("getenv", "string", 2, 2)
def getenv(env: FnEnv, name: str, maxlen: str) -> str:
    """getenv(variable, maxlength): the environment variable's value, cut to
    ``maxlength`` bytes; empty when unset."""
    n = need_int("getenv", maxlen)
    return os.environ.get(name, "")[: max(n, 0)]
