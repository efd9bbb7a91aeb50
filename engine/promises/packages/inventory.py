"""What a ``package_method`` says is installed: its listing command, parsed.

Each line of ``package_list_command``'s output that ``package_installed_regex``
matches in full is one package: name, version and architecture are the first
capture groups of ``package_list_name_regex``, ``package_list_version_regex`` and
``package_list_arch_regex`` (first word of each); without an arch regex the
method's default architecture is used. Lines where any of them does not match are
skipped. With ``package_multiline_start``, a package spans the lines from one that
matches it to the next. The listing is read once per manager (listing command) and
pass, as cf-agent does; a listing that cannot be run or exits non-zero fails the
promise. What the pass listed is kept in the workdir's ``state/software_packages.csv``,
where packagesmatching() finds it (:func:`save`).
"""

from __future__ import annotations

import os
import shlex
import subprocess

from engine.promises.packages.method import (
    NOMATCH,
    Method,
    first_reference,
    first_word,
    full_match,
    run,
)


class Package:
    __slots__ = ("name", "version", "arch")

    def __init__(self, name: str, version: str, arch: str) -> None:
        self.name = name
        self.version = version
        self.arch = arch

    def __repr__(self) -> str:
        return f"({self.name},{self.version},{self.arch})"


class ListingError(Exception):
    """The installed packages could not be listed."""


def default_arch(method: Method) -> str:
    """The method's default architecture: the first line of
    ``package_default_arch_command`` (run by the shell), or ``default``."""
    command = method.get("default_arch_command")
    if command is None:
        return "default"
    try:
        _, lines = run(command, True)
    except (OSError, subprocess.SubprocessError) as e:
        raise ListingError(f"Unable to obtain default architecture for package manager "
                           f"({e})") from e
    if not lines:
        raise ListingError("Unable to obtain default architecture for package manager - "
                           "aborting")
    return lines[0]


def installed(method: Method, arch: str) -> list[Package]:
    """The installed packages the method lists (empty without a list command)."""
    command = method.get("list_command")
    if command is None:
        return []
    update = method.get("list_update_command")
    if update is not None:
        try:
            run(update, method.useshell)
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        status, lines = run(command, method.useshell)
    except (OSError, subprocess.SubprocessError) as e:
        raise ListingError(f"Couldn't open the package list with command '{command}' "
                           f"({e})") from e
    packages = _parse_multiline(method, lines, arch) if method.get("multiline_start") \
        else _parse_lines(method, lines, arch)
    if status != 0:
        raise ListingError(f"Could not get list of installed packages: '{command}' "
                           f"returned {status}")
    return packages


def _parse_lines(method: Method, lines: list[str], default: str) -> list[Package]:
    installed_rx = method.get("installed_regex") or ""
    out = []
    for line in lines:
        if not full_match(installed_rx, line):
            continue
        pkg = _package(method, line, default)
        if pkg is not None:
            out.append(pkg)
    return out


def _package(method: Method, line: str, default: str) -> Package | None:
    name = first_word(first_reference(method.get("list_name_regex"), line))
    version = first_word(first_reference(method.get("list_version_regex"), line))
    arch_rx = method.get("list_arch_regex")
    arch = first_word(first_reference(arch_rx, line)) if arch_rx else default
    if NOMATCH in (name, version, arch) or not (name and version and arch):
        return None
    return Package(name, version, arch)


def _parse_multiline(method: Method, lines: list[str], default: str) -> list[Package]:
    start = method.get("multiline_start") or ""
    out: list[Package] = []
    current: list[str] | None = None

    def flush() -> None:
        if current is None:
            return
        name, version, arch = current
        if NOMATCH not in (name, version) and name and version:
            out.append(Package(name, version, arch))

    for line in lines:
        if full_match(start, line):
            flush()
            current = [NOMATCH, NOMATCH, default]
        if current is None:
            continue
        for i, key in ((0, "list_name_regex"), (1, "list_version_regex"),
                       (2, "list_arch_regex")):
            rx = method.get(key)
            if rx and full_match(rx, line):
                current[i] = first_word(first_reference(rx, line))
    flush()
    return out


#: Where the installed packages a pass listed are kept, under the workdir.
INVENTORY = os.path.join("state", "software_packages.csv")


def manager_name(command: str) -> str:
    """The name cf-agent files a listing command's packages under (the inventory's
    ``method``): the program's base name, an ``env`` and its ``VAR=value`` words left
    out (``/usr/bin/env X=Y /usr/bin/printf ...`` is ``printf``)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    i = 0
    if words and os.path.basename(words[0]) == "env":
        i = 1
        while i < len(words) and "=" in words[i] and not words[i].startswith("-"):
            i += 1
    return os.path.basename(words[i]) if i < len(words) else ""


def _csv_field(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def save(workdir: str, listings: dict[str, list[Package]]) -> None:
    """Write the inventory: one CSV record ``name,version,arch,method`` per package
    (CRLF-ended, as CFEngine writes CSV), each package once. As cf-agent 3.21 keeps
    them: one list per manager name, the first listing under that name; the last
    manager listed first, each manager's packages last first. Raises OSError when it
    cannot be written."""
    managers: dict[str, list[Package]] = {}
    for command, packages in listings.items():
        managers.setdefault(manager_name(command), packages)
    seen: set[tuple[str, str, str, str]] = set()
    lines: list[str] = []
    for method, packages in reversed(managers.items()):
        for pkg in reversed(packages):
            row = (pkg.name, pkg.version, pkg.arch, method)
            if row not in seen:
                seen.add(row)
                lines.append(",".join(_csv_field(f) for f in row) + "\r\n")
    path = os.path.join(workdir, INVENTORY)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write("".join(lines))
    os.replace(tmp, path)
