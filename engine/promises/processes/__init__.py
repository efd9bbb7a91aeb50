"""``processes`` promises: find processes by command line, count them, signal them.

The promiser is a regular expression searched (unanchored) in each process's
command line (ps's ``args`` column), as cf-agent does; the agent itself is a match
(it counts) unless the promise has ``signals``, which also leave out pids 0-3 (init
may get a lone ``hup``). ``process_select`` narrows the matches: ``command`` (anchored regex on
the command line), ``process_owner`` (anchored regexes on the user name),
``pid``/``ppid``/``pgid``/``rsize``/``vsize``/``ttime_range``/``stime_range``/
``priority``/``threads`` ranges, ``status``/``tty`` regexes, combined by
``process_result`` (default: all given). ``process_count``: ``match_range`` with
``in_range_define`` / ``out_of_range_define``. ``restart_class`` is defined when
nothing matched (or the matches were terminated by ``signals``). ``signals`` go
to the matches only — never to the agent or its ancestors.

The process table comes from :mod:`.proctable` (read once per run), which reads
``/proc`` through :mod:`.procfs` on Linux.
"""

from __future__ import annotations

import os
import re
import signal

from engine.promises._acc import action_warn
from engine.promises._boolexpr import ExprError, evaluate, parse_range
from engine.promises.base import Outcome, PromiseResult, ResolvedPromise, RunContext
from engine.promises.processes.proctable import Proc, forget, ps_line, table

SIGNALS = {
    "hup": signal.SIGHUP, "int": signal.SIGINT, "trap": signal.SIGTRAP,
    "kill": signal.SIGKILL, "pipe": signal.SIGPIPE, "cont": signal.SIGCONT,
    "abrt": signal.SIGABRT, "stop": signal.SIGSTOP, "quit": signal.SIGQUIT,
    "term": signal.SIGTERM, "child": signal.SIGCHLD, "usr1": signal.SIGUSR1,
    "usr2": signal.SIGUSR2, "bus": signal.SIGBUS, "segv": signal.SIGSEGV,
}
_RANGES = {
    "pid": "pid", "ppid": "ppid", "pgid": "pgid", "rsize": "rsize", "vsize": "vsize",
    "ttime_range": "ttime", "stime_range": "stime", "priority": "priority",
    "threads": "threads",
}
_SELECT = ("command", "process_owner", "status", "tty", *_RANGES)
_RESULT_NAMES = {"ttime": "ttime_range", "stime": "stime_range"}


def _protected() -> set[int]:
    """The agent and its ancestors: never matched, never signalled."""
    out = {os.getpid()}
    try:
        import psutil

        out.update(p.pid for p in psutil.Process().parents())
    except Exception:
        out.add(os.getppid())
    return out


def matches(promise: ResolvedPromise, procs: list[Proc],
            signals: list[str] | None = None) -> list[Proc]:
    """The processes the promise is about. With ``signals``, as in cf-agent, the
    agent itself and pids 0-3 are left out (pid 1 stays for a lone ``hup``)."""
    try:
        rx = re.compile(promise.promiser)
    except re.error:
        rx = re.compile(re.escape(promise.promiser))
    sel = promise.body("process_select")
    found = [p for p in procs if rx.search(p.args) and _selected(p, sel)]
    if signals:
        me = os.getpid()
        init_ok = signals == ["hup"]
        found = [p for p in found if p.pid != me and (p.pid >= 4 or (p.pid == 1 and init_ok))]
    return found


def _selected(p: Proc, sel: dict[str, object]) -> bool:
    if not sel:
        return True
    given = [k for k in _SELECT if sel.get(k) not in (None, "", [])]
    expr = sel.get("process_result")
    if not given and not expr:
        return True

    def truth(name: str) -> bool:
        # process_result names the time ranges "ttime" and "stime"; an attribute
        # the body does not give (or that did not resolve) is false, as in cf-agent
        key = _RESULT_NAMES.get(name, name)
        return key in given and _criterion(key, p, sel[key])

    if not expr:
        return all(truth(k) for k in given)
    try:
        return evaluate(str(expr), truth)
    except ExprError:
        return False


def _full_any(v: object, text: str) -> bool:
    items = v if isinstance(v, list) else [v]
    for pat in items:
        try:
            if re.fullmatch(str(pat), text):
                return True
        except re.error:
            if str(pat) == text:
                return True
    return False


def _criterion(name: str, p: Proc, v: object) -> bool:
    if name == "command":
        return _full_any(v, p.args)
    if name == "process_owner":
        return _full_any(v, p.user) or _full_any(v, str(p.uid))
    if name == "status":
        return _full_any(v, p.status) or _full_any(v, p.status[:1].upper())
    if name == "tty":
        return _full_any(v, p.tty)
    r = parse_range(v)
    if r is None:
        return False
    x = getattr(p, _RANGES[name])
    return r[0] <= x <= r[1]


def actuate(promise: ResolvedPromise, run: RunContext) -> PromiseResult:
    """Keep one processes promise; a process table that cannot be read is not kept."""
    try:
        procs = table(run)
    except Exception as e:  # psutil's errors are not OSError subclasses
        run.log.error(f"Unable to read the process table ({e})")
        return PromiseResult(Outcome.NOTKEPT)
    signals = [s.lower() for s in promise.list_attr("signals")]
    found = matches(promise, procs, signals)
    result = PromiseResult(Outcome.KEPT)
    run.log.verbose(f"Found {len(found)} processes matching '{promise.promiser}'")
    count = promise.body("process_count")
    if found and not (signals or count) and action_warn(promise):
        # a warn-only promise shows what it matched, the last row first, as cf-agent does
        for p in reversed(found):
            run.log.warning(f"Matched '{ps_line(p)}'")

    if count:
        r = parse_range(count.get("match_range"))
        if r is not None:
            inside = r[0] <= len(found) <= r[1]
            key = "in_range_define" if inside else "out_of_range_define"
            result.classes.extend(_names(count.get(key)))

    restart = promise.str_attr("restart_class")
    stop = promise.str_attr("process_stop")
    if stop and found:
        result.outcome = _process_stop(promise, run, stop)
        return result
    terminated = False
    if signals and found:
        protected = _protected()
        warn = run.warn_only(promise)
        failed = sent = False
        for p in found:
            if p.pid in protected:
                continue
            for name in signals:
                sig = SIGNALS.get(name)
                if sig is None:
                    run.log.error(f"Unknown signal '{name}' in promise '{promise.promiser}'")
                    failed = True
                    continue
                if warn:
                    run.log.warning(f"Need to keep signal promise '{name}' in process entry "
                                    f"'{ps_line(p)}', but only a warning was promised")
                    failed = True
                    continue
                try:
                    os.kill(p.pid, sig)
                except ProcessLookupError:
                    continue
                except OSError as e:
                    run.log.error(f"Couldn't send promised signal '{name}' ({int(sig)}) to pid "
                                  f"{p.pid} ({e.strerror})")
                    failed = True
                    continue
                run.log.info(f"Signalled '{name}' ({int(sig)}) to process {p.pid} "
                             f"({ps_line(p)})")
                sent = True
                if sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGQUIT):
                    terminated = True
        if sent:
            forget(run)
            result.outcome = Outcome.REPAIRED
        if failed:
            result.outcome = Outcome.NOTKEPT
    if restart and (not found or terminated):
        if action_warn(promise):  # a dry run alone still defines the class, as cf-agent
            run.log.warning(f"Need to keep restart promise for '{promise.promiser}', but "
                            "only a warning is promised")
            result.outcome = Outcome.NOTKEPT
        else:
            result.classes.append(restart)
    return result


def _process_stop(promise: ResolvedPromise, run: RunContext, command: str) -> Outcome:
    """``process_stop``: a command (run without a shell) that stops what matched,
    instead of signals; exit status 0 is repaired, anything else not kept."""
    import shlex
    import subprocess

    if run.warn_only(promise):
        run.log.warning(f"Need to keep process-stop promise for '{promise.promiser}', but only "
                        "a warning was promised")
        return Outcome.NOTKEPT
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    arg0 = argv[0] if argv else ""
    if not (os.path.isfile(arg0) and os.access(arg0, os.X_OK)):
        run.log.error(f"Process promise to stop '{promise.promiser}' could not be kept because "
                      f"'{command}' is not an executable command")
        return Outcome.NOTKEPT
    try:
        status = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=3600).returncode
    except (OSError, subprocess.SubprocessError) as e:
        run.log.error(f"Process promise to stop '{promise.promiser}' could not be kept: "
                      f"'{command}' failed ({e})")
        return Outcome.NOTKEPT
    if status != 0:
        run.log.error(f"Process promise to stop '{promise.promiser}' could not be kept: "
                      f"'{command}' returned {status}")
        return Outcome.NOTKEPT
    run.log.info(f"Stopped '{promise.promiser}' with '{command}'")
    forget(run)
    return Outcome.REPAIRED


def _names(v: object) -> list[str]:
    if v is None:
        return []
    items = v if isinstance(v, list) else [v]
    return [str(x) for x in items if str(x) not in ("", "cf_null")]
