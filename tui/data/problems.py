"""What is wrong, in words, with a fix: the overview's banner.

engine's ``health()`` is the authority when it is there; the console adds what it can
see itself (a stopped scheduler, an invalid policy, a failed or interrupted last run)
so the banner works on a CFEngine workdir and before the health checks exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui import format as fmt
from tui.data.source import Common


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    fix: str

    def line(self) -> str:
        return f"⚠ {self.message} — {self.fix}" if self.fix else f"⚠ {self.message}"


CONSOLE_HINTS = {
    "scheduler_down": "here: select it and press s",
    "stale_pidfile": "here: select the daemon and press s",
    "daemon_down": "here: select it and press s",
}


def problems(common: Common, root: str = "", label: str = "") -> list[Problem]:
    """Health issues plus what the console sees itself, without repeats.

    ``root`` is replaced by ``label`` in the words, so the banner names the workdir
    the way the status line does.
    """
    found: list[Problem] = []
    if common.health.ok:
        for issue in common.health.value or []:
            code, fix = issue.code, issue.fix
            if code in CONSOLE_HINTS:
                fix = f"{fix} ({CONSOLE_HINTS[code]})" if fix else CONSOLE_HINTS[code]
            found.append(Problem(code, issue.message, fix))
    codes = {p.code for p in found}

    if not common.health.ok and common.daemons.ok:
        execd = next((d for d in common.daemons.value or [] if d.name == "execd"), None)
        if execd is not None and execd.state != "running":
            found.append(Problem("scheduler_down", "scheduler (execd) stopped", "select execd and press s"))

    execd_status = common.execd.value if common.execd.ok else None
    if execd_status and execd_status.policy_ok is False and "policy_invalid" not in codes:
        err = execd_status.policy_error or "see vigil promises"
        found.append(
            Problem("policy_invalid", f"policy invalid ({err})", "the last valid policy keeps running")
        )

    run = common.last_run.value if common.last_run.ok else None
    if run is not None:
        when = fmt.clock_time(run.start, common.at)
        if run.interrupted:
            found.append(
                Problem(
                    "run_interrupted",
                    f"last run ({when}) was interrupted",
                    "see Runs (4); agent_expireafter may be too short",
                )
            )
        elif run.exit_code not in (0, None):
            found.append(
                Problem(
                    "run_failed",
                    f"last run ({when}) failed with exit {run.exit_code}",
                    "open it in Runs (4), or press K to run again",
                )
            )
    if root and label and root != label:
        found = [Problem(p.code, p.message.replace(root, label), p.fix.replace(root, label)) for p in found]
    return found
