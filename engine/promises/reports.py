"""``reports:`` — print ``R: text``, or append it to ``report_to_file``; then, with a
``printfile`` body, print lines of ``file_to_print`` (``number_of_lines``, 5 by
default, from the top; a negative number counts from the bottom), each as ``R: line``.

A report file is opened as cf-agent opens it: created 0600 when missing, and
never through a symlink planted by another user (the directories on the way
included; see :mod:`engine.promises.safefs`).
"""

from __future__ import annotations

import os

from engine.promises.base import Outcome, PromiseResult, ResolvedPromise

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from engine.promises.base import RunContext

_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def actuate_report(agent: RunContext, rp: ResolvedPromise) -> PromiseResult:
    index = rp.str_attr("bundle_return_value_index")
    if index:  # a return value for the calling method, not printed
        from engine.promises.methods import put_return

        put_return(agent, index, rp.promiser)
        return PromiseResult(Outcome.KEPT)
    if agent.warn_only(rp):  # a dry run, or action_policy => "warn"
        agent.log.warning(f"Need to repair reports promise: {rp.promiser}")
        return PromiseResult(Outcome.NOTKEPT, message="only a warning was promised")
    target = rp.str_attr("report_to_file")
    if target:
        from engine.promises import safefs

        try:
            fd = safefs.safe_open(target, _APPEND, 0o600)
            try:
                data = (rp.promiser + "\n").encode("utf-8", "surrogateescape")
                while data:
                    data = data[os.write(fd, data):]
            finally:
                os.close(fd)
        except OSError as e:
            safefs.note(agent.log, e)
            agent.log.error(f"Could not open log file '{target}', message '{rp.promiser}'. "
                            f"(fopen: {e.strerror})")
            _print_file(agent, rp)
            return PromiseResult(Outcome.NOTKEPT, message=str(e))
        _print_file(agent, rp)
        return PromiseResult(Outcome.REPAIRED)
    agent.log.report(rp.promiser)
    _print_file(agent, rp)
    return PromiseResult(Outcome.KEPT)


def _print_file(agent: RunContext, rp: ResolvedPromise) -> None:
    body = rp.body("printfile")
    if not body:
        return
    path = str(body.get("file_to_print", ""))
    if not path:
        return
    try:
        count = int(str(body.get("number_of_lines", "5")))
    except ValueError:
        count = 5
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError as e:
        agent.log.error(f"Printing of file '{path}' was not possible. (fopen: {e.strerror})")
        return
    chosen = lines[:count] if count >= 0 else lines[count:]
    for line in chosen:
        agent.log.report(line)
