"""Turn an agent's raw output into comparable ``R`` and ``log`` lists.

Applied identically to cf-agent and vigil output: the workdir path becomes ``<wd>``
(its canonified form ``<wd_canon>``), the unqualified host name ``<host>``, and
lines that only describe the environment are dropped: cf-agent's pre-validation
fork of cf-promises and the built-in failsafe policy it falls back to when
validation fails (a vigil workdir has neither).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

LEVEL = re.compile(r"^\s*(error|warning|notice|info|verbose|debug): ")
DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: (error|warning|notice|info): ")

# Environment noise: cf-agent's validation fork and its failsafe fallback.
NOISE = [
    re.compile(p)
    for p in (
        r"Policy is already validated",
        r"Policy failed validation with command",
        r"There are syntax errors in policy files",
        r"CFEngine was not able to get confirmation of promises from cf-promises",
        r"Writing built-in failsafe policy",
        r"CFEngine failsafe\.cf",
        r"failsafe_cfe_internal_update",
        r"policy_hub",
        r"No suitable server found",
        r"Unable to establish connection to",
        r"Errors encountered when actuating files promise '<wd>/(inputs|modules)'",
        r"error: Comment is 'If we failed to fetch policy",
        r"^R: Built-in failsafe policy triggered$",
        # cf-agent repeats this once per internal sub-result of a promise (mkdir,
        # create, final outcome...); vigil says it once. Not compared.
        r"Automatically promoting context scope for '.*' to namespace visibility",
    )
]


def canonify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def host_name() -> str:
    return socket.gethostname().split(".")[0]


@dataclass(slots=True)
class Output:
    R: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def substitute(text: str, workdir: str, host: str | None = None) -> str:
    """Replace the workdir (plain and canonified) and the host name by placeholders."""
    host = host_name() if host is None else host
    text = text.replace(workdir, "<wd>").replace(canonify(workdir), "<wd_canon>")
    if len(host) >= 2:
        text = re.sub(rf"(?<![A-Za-z0-9_.-]){re.escape(host)}(?![A-Za-z0-9_-])", "<host>", text)
    return text


def split_output(raw: str, workdir: str, host: str | None = None) -> Output:
    """Split output into report texts (``R``) and other lines (``log``), normalised.

    A line without a level prefix continues the previous one (multi-line reports,
    cf-promises source excerpts, multi-line comments), so it goes where that one went
    and is dropped when that one was dropped.
    """
    out = Output()
    target: list[str] | None = None  # where the previous line went; None = dropped
    started = False
    for line in substitute(raw, workdir, host).splitlines():
        starts_entry = line.startswith("R: ") or LEVEL.match(line) or DIAGNOSTIC.match(line)
        if started and not starts_entry:
            if target is not None:
                target[-1] += "\n" + line
            continue
        started = True
        if any(p.search(line) for p in NOISE):
            target = None
        elif line.startswith("R: "):
            out.R.append(line[3:])
            target = out.R
        else:
            out.log.append(line)
            target = out.log
    out.R = [r.rstrip("\n") for r in out.R]
    out.log = [entry.rstrip("\n") for entry in out.log if entry.strip()]
    return out
