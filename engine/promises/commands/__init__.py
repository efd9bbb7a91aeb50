"""``commands`` promises: run a program, quote its output, judge its return code.

Attributes: ``args`` and ``arglist`` (both appended to the command line, which is
then split again as a whole, quotes grouping: like cf-agent, an ``arglist``
element ``"one two"`` gives two arguments), ``module`` (parse the output with the module protocol, see
:mod:`engine.promises.commands.module_protocol`), ``contain`` body (``useshell``: ``useshell``/
``true`` runs ``/bin/sh -c``, ``noshell``/``false`` execs directly; ``exec_owner``,
``exec_group``, ``chdir``, ``umask`` (default 077), ``no_output``,
``exec_timeout`` in seconds), and the return codes of the ``classes`` body
(``kept_returncodes``, ``repaired_returncodes``, ``failed_returncodes``).

Without return-code lists, 0 is repaired and anything else not kept. Each
command runs in its own session; on timeout the whole process group is killed
and, as in cf-agent, the promise is not kept (``message="timeout"``).
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
import subprocess

from engine.promises.base import Outcome, PromiseResult, ResolvedPromise, RunContext

_TRUE = ("true", "yes", "on")
_SHELL = ("useshell", "true", "yes", "on", "powershell")


def split_command(cmd: str) -> list[str]:
    """Split like cf-agent: whitespace separates, quotes (' " `) group, no escapes."""
    out: list[str] = []
    i, n = 0, len(cmd)
    while i < n:
        while i < n and cmd[i].isspace():
            i += 1
        if i >= n:
            break
        if cmd[i] in "\"'`":
            q = cmd[i]
            j = cmd.find(q, i + 1)
            if j < 0:
                j = n
            out.append(cmd[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and not cmd[j].isspace():
                j += 1
            out.append(cmd[i:j])
            i = j
    return out


def quote_prefix(cmd: str) -> str:
    """The 15 characters cf-agent shows in ``Q: "...XXX": output``: they end 5
    characters past the executable's name, so the name's tail is visible."""
    end = 0
    while end < len(cmd) and cmd[end] != " ":
        end += 1
    start = max(0, end - 10)
    return cmd[start:start + 15]


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    a = promise.attrs
    contain = promise.body("contain")
    cmd = promise.promiser
    args = promise.str_attr("args")
    arglist = [str(x) for x in promise.list_attr("arglist") if str(x) != "cf_null"]
    full = cmd
    if args:
        full += " " + args
    if arglist:
        full += " " + " ".join(arglist)
    shell = str(contain.get("useshell", "noshell")).lower() in _SHELL
    if shell:
        argv = ["/bin/sh", "-c", full]
    else:
        argv = split_command(full)
        exe = argv[0] if argv else cmd
        if not argv or not os.path.isabs(exe) or not os.path.exists(exe):
            run.log.error(f"Proposed executable file '{exe}' doesn't exist")
            run.log.error(f"'{cmd}' promises to be executable but isn't")
            return PromiseResult(Outcome.NOTKEPT)
        if not os.access(exe, os.X_OK):
            run.log.error(f"'{cmd}' promises to be executable but isn't")
            return PromiseResult(Outcome.NOTKEPT)

    timeout = _int(contain.get("exec_timeout"))
    desc = f"timeout={timeout}s" if timeout else "no timeout"
    user = contain.get("exec_owner")
    group = contain.get("exec_group")
    uid = gid = None
    try:
        if user:
            pw = pwd.getpwnam(str(user)) if not str(user).isdigit() else pwd.getpwuid(int(str(user)))
            uid = pw.pw_uid
            desc += f",uid={uid}"
            gid = pw.pw_gid
        if group:
            gid = grp.getgrnam(str(group)).gr_gid if not str(group).isdigit() else int(str(group))
            desc += f",gid={gid}"
    except KeyError:
        run.log.error(f"Unknown user or group in contain body of '{cmd}'")
        return PromiseResult(Outcome.NOTKEPT)

    run.log.info(f"Executing '{desc}' ... '{full}'")
    if run.dry_run:
        run.log.warning(f"Would execute script '{full}'")
        return PromiseResult(Outcome.NOTKEPT)
    if run.warn_only(promise):
        run.log.warning(f"Command '{full}' needs to be executed, but only warning was promised")
        return PromiseResult(Outcome.NOTKEPT)

    if str(contain.get("useshell", "")).lower() == "powershell":
        # cf-agent refuses it after announcing the command, on every system but Windows
        run.log.error("Powershell is only supported on Windows")
        return PromiseResult(Outcome.NOTKEPT)

    umask = _octal(contain.get("umask"), 0o077)
    kwargs: dict[str, object] = {}
    if uid is not None:
        kwargs["user"] = uid
        kwargs["extra_groups"] = []
    if gid is not None:
        kwargs["group"] = gid
    cwd = contain.get("chdir") or None
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=str(cwd) if cwd else None, umask=umask, start_new_session=True,
            close_fds=True, **kwargs)  # type: ignore[call-overload]
    except (OSError, subprocess.SubprocessError) as e:
        run.log.error(f"Couldn't open pipe to command '{full}'. ({e})")
        return PromiseResult(Outcome.NOTKEPT)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        out, _ = proc.communicate()
    rc = proc.returncode

    result = PromiseResult(Outcome.REPAIRED, returncode=rc)
    lines = _lines(out)
    module = str(a.get("module", "")).lower() in _TRUE
    if module:
        from engine.promises.commands import module_protocol

        ctx = module_protocol.default_context(cmd)
        # module lines keep a carriage return, as cf-agent keeps it on Unix
        raw = out.decode("utf-8", "surrogateescape").split("\n") if out else []
        result.variables_context = ctx
        result.module = module_protocol.parse(raw, ctx, run.log)
    elif lines and str(contain.get("no_output", "")).lower() not in _TRUE:
        prefix = quote_prefix(full)
        run.log.notice("\n".join(f'Q: "...{prefix}": {ln}' for ln in lines))
        run.log.info(f"Last {len(lines)} quoted lines were generated by promiser '{full}'")

    if timed_out or rc < 0:
        run.log.error(f"Finished script '{full}' - failed (abnormal termination)")
        result.outcome = Outcome.NOTKEPT
        result.message = "timeout" if timed_out else f"killed by signal {-rc}"
    else:
        result.outcome = _judge(promise, cmd, rc, run)
    run.log.info(f"Completed execution of '{full}'")
    return result


def _judge(promise: ResolvedPromise, cmd: str, rc: int, run: RunContext) -> Outcome:
    cl = promise.body("classes")
    kept = _codes(cl.get("kept_returncodes"))
    repaired = _codes(cl.get("repaired_returncodes"))
    failed = _codes(cl.get("failed_returncodes"))
    if not (kept or repaired or failed):
        if rc == 0:
            return Outcome.REPAIRED
        run.log.error(f"Finished command related to promiser '{cmd}' -- an error occurred, "
                      f"returned {rc}")
        return Outcome.NOTKEPT
    if rc in kept:
        run.log.info(f"Command related to promiser '{cmd}' returned code '{rc}' defined as "
                     "promise kept")
        return Outcome.KEPT
    if rc in repaired:
        run.log.info(f"Command related to promiser '{cmd}' returned code '{rc}' defined as "
                     "promise repaired")
        return Outcome.REPAIRED
    if rc in failed:
        run.log.error(f"Command related to promiser '{cmd}' returned code '{rc}' defined as "
                      "promise failed")
        return Outcome.NOTKEPT
    run.log.info(f"Command related to promiser '{cmd}' returned code '{rc}' not defined as "
                 "promise kept, not kept or repaired; setting to failed")
    return Outcome.NOTKEPT


def _kill_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            return


def _lines(out: bytes | None) -> list[str]:
    if not out:
        return []
    text = out.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln.rstrip("\r") for ln in lines]


def _codes(v: object) -> set[int]:
    items = v if isinstance(v, list) else ([v] if v not in (None, "") else [])
    out: set[int] = set()
    for x in items:
        try:
            out.add(int(str(x)))
        except ValueError:
            continue
    return out


def _int(v: object) -> int:
    try:
        return max(0, int(str(v))) if v not in (None, "") else 0
    except ValueError:
        return 0


def _octal(v: object, default: int) -> int:
    if v in (None, ""):
        return default
    try:
        return int(str(v), 8)
    except ValueError:
        return default
