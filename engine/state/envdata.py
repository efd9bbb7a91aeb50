"""``state/env_data``: what the monitor daemon tells the agent, in cf-monitord's format.

Bare lines are classes; ``name=value`` lines are string variables (array entries keep
their key: ``tcp4_port_addr[22]``); lines starting with ``@`` are lists written as
``{'a','b'}`` (or with double quotes). The agent reads it at the start of a run; the
monitor daemon (vigil's or CFEngine's) writes it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

_SLIST = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def read_env_data(path: Path) -> tuple[set[str], dict[str, str | list[str]]]:
    """Classes and ``mon.*`` variables from ``env_data`` (empty when absent);
    ``env_time`` is the file's time."""
    classes: set[str] = set()
    variables: dict[str, str | list[str]] = {}
    try:
        text = path.read_text(errors="replace")
        variables["env_time"] = time.ctime(path.stat().st_mtime)
    except OSError:
        return classes, variables
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@"):
            name, _, value = line[1:].partition("=")
            variables[name] = [a or b for a, b in _SLIST.findall(value)]
        elif "=" in line:
            name, _, value = line.partition("=")
            variables[name] = value
        else:
            classes.add(line)
    return classes, variables
