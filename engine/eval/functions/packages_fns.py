"""packagesmatching and packageupdatesmatching: the package inventory cf-agent's
legacy package promises leave in the workdir, searched by name, version, arch and
method.

The inventory is ``state/software_packages.csv`` (installed) and
``state/software_patches_avail.csv`` (updates), one CSV record per package,
``name,version,arch,method``, records ending at CRLF as everywhere in CFEngine's CSV.
As in cf-agent 3.21, the four patterns are joined into one, ``^name,version,arch,method$``,
matched against each record as written (its line end included, so a pattern for the
last field must allow for the ``\\r``), and a record that does not split into four
fields is an error and left out. Without an inventory the result is empty. (The
package-module inventory a ``default_package_inventory`` names is not read: vigil
does not run package modules.)
"""

from __future__ import annotations

import os

from engine.eval.functions._util import pcre
from engine.eval.functions.data_fns import _parse_csv
from engine.eval.functions.readers import read_text
from engine.eval.functions.registry import FnEnv, function
from engine.eval.values import Data

INSTALLED = "software_packages.csv"
UPDATES = "software_patches_avail.csv"
FIELDS = ("name", "version", "arch", "method")


def _records(text: str) -> list[str]:
    """``text`` cut after each CRLF, every record keeping its line end."""
    out: list[str] = []
    start = 0
    while start < len(text):
        end = text.find("\r\n", start)
        end = len(text) if end < 0 else end + 2
        out.append(text[start:end])
        start = end
    return out


def _matching(env: FnEnv, fn: str, file: str, patterns: tuple[str, str, str, str]) -> Data:
    rx = pcre("^" + ",".join(patterns) + "$")
    path = os.path.join(env.workdir, "state", file)
    if not os.path.exists(path):
        return Data([])
    out: list[dict[str, str]] = []
    for record in _records(read_text(path, 0, fn)):
        rows = _parse_csv(record)
        if len(rows) != 1 or len(rows[0]) != len(FIELDS):
            env.log.error(f"Line from package inventory '{record}' did not yield correct "
                          "number of elements.")
            continue
        if rx.search(record):
            out.append(dict(zip(FIELDS, rows[0], strict=True)))
    return Data(out)


@function("packagesmatching", "data", 4, 4)
def packagesmatching(env: FnEnv, name: str, version: str, arch: str, method: str) -> Data:
    """packagesmatching(name, version, arch, method): the installed packages (from the
    legacy inventory) that match all four regexes."""
    return _matching(env, "packagesmatching", INSTALLED, (name, version, arch, method))


@function("packageupdatesmatching", "data", 4, 4)
def packageupdatesmatching(env: FnEnv, name: str, version: str, arch: str, method: str) -> Data:
    """packageupdatesmatching(name, version, arch, method): the available updates (from
    the legacy inventory) that match all four regexes."""
    return _matching(env, "packageupdatesmatching", UPDATES, (name, version, arch, method))


