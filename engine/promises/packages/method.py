"""A ``package_method`` body: its attributes, their sanity, and running its commands.

The attributes (all optional strings unless said otherwise):

- listing: ``package_list_command``, ``package_list_name_regex``,
  ``package_list_version_regex``, ``package_list_arch_regex``,
  ``package_installed_regex`` (lines of the listing that are installed packages),
  ``package_multiline_start``, ``package_list_update_command``,
  ``package_default_arch_command`` (the architecture of list lines without one;
  ``default`` without the command), ``package_file_repositories`` (slist);
- acting: ``package_add_command``, ``package_delete_command``,
  ``package_update_command``, ``package_verify_command``, ``package_patch_command``
  (a command ending in ``$`` takes no package names), ``package_changes``
  (``individual``: one command per package, or ``bulk``),
  ``package_commands_useshell`` (default true);
- promisers: ``package_name_regex``, ``package_version_regex``,
  ``package_arch_regex`` (pick name, version and arch out of the promiser, first
  capture group), ``package_name_convention`` / ``package_delete_convention``
  (``$(name)``, ``$(version)``, ``$(arch)``, ``$(firstrepo)``: what the manager is
  given);
- patches: ``package_patch_list_command``, ``package_patch_name_regex``,
  ``package_patch_version_regex``, ``package_patch_arch_regex``,
  ``package_patch_installed_regex``;
- verification: ``package_noverify_regex``, ``package_noverify_returncode``;
- versions: ``package_version_less_command``, ``package_version_equal_command``.
"""

from __future__ import annotations

import os
import shlex
import subprocess

from engine import cfregex
from engine.promises.packages.versions import Comparator

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    from typing import Any

NOMATCH = "CF_NOMATCH"
COMMAND_TIMEOUT = 3600


def first_reference(pattern: str | None, text: str) -> str:
    """The first capture group of ``pattern`` searched in ``text``, or ``CF_NOMATCH``
    (also when the pattern has no group or the group is empty)."""
    if not pattern:
        return ""
    try:
        rx = cfregex.compile(pattern, dotall=True, multiline=True)
        m = rx.search(text) if rx.groups >= 1 else None
    except cfregex.RegexError:
        return NOMATCH
    group = m.group(1) if m is not None else None
    return group if group else NOMATCH


def full_match(pattern: str, text: str) -> bool:
    """cf-agent's full-text match: equal strings, or the regex spans all of ``text``."""
    if pattern == text:
        return True
    try:
        m = cfregex.compile(pattern, dotall=True, multiline=True).match(text)
    except cfregex.RegexError:
        return False
    return m is not None and m.end() == len(text)


def first_word(text: str) -> str:
    """What ``sscanf("%s")`` keeps: the first run of non-blanks."""
    parts = text.split()
    return parts[0] if parts else ""


class Method:
    """The attributes of one resolved ``package_method`` body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.name = str(body.get("__name__", ""))

    def get(self, name: str) -> str | None:
        v = self.body.get(f"package_{name}")
        if v is None or isinstance(v, (list, dict)):
            return None
        return str(v)

    def repositories(self) -> list[str]:
        v = self.body.get("package_file_repositories")
        if v is None:
            return []
        return [str(x) for x in (v if isinstance(v, list) else [v])]

    @property
    def useshell(self) -> bool:
        v = self.get("commands_useshell")
        return v is None or v.lower() in ("true", "yes", "on")

    @property
    def bulk(self) -> bool:
        return self.get("changes") == "bulk"

    def noverify_returncode(self) -> int | None:
        v = self.get("noverify_returncode")
        try:
            return int(v) if v is not None else None
        except ValueError:
            return None

    def comparator(self) -> Comparator:
        return Comparator(self.get("version_less_command"), self.get("version_equal_command"),
                          self.useshell)

    # ----- sanity -------------------------------------------------------------
    def problem(self, promise_attrs: dict[str, Any]) -> str | None:
        """Why the method (with the promise's version and architectures) cannot be
        used, in cf-agent's order of checks; None when it can."""
        g = self.get
        version = promise_attrs.get("package_version")
        archs = promise_attrs.get("package_architectures")
        if g("list_name_regex") is None:
            return ("You must supply a method for determining the name of existing packages "
                    "(package_list_name_regex)")
        if g("list_version_regex") is None:
            return ("You must supply a method for determining the version of existing packages "
                    "(package_list_version_regex)")
        listing = g("list_command")
        if listing is not None and not self.useshell and not is_executable(listing):
            return f"The proposed package list command '{listing}' was not executable"
        if listing is None and not self.repositories():
            return ("You must supply a method for determining the list of existing packages "
                    "(a command or repository list)")
        name_rx, version_rx, arch_rx = g("name_regex"), g("version_regex"), g("arch_regex")
        if name_rx or version_rx or arch_rx:
            if name_rx is None:
                return ("You must supply name regex if you supplied version or arch regex for "
                        "parsing promiser string")
            if version_rx and arch_rx:
                if version or archs:
                    return ("You must either supply all regexs for (name,version,arch) or a "
                            "separate version number and architecture")
            elif version and archs:
                return ("You must either supply all regexs for (name,version,arch) or a "
                        "separate version number and architecture")
            if version_rx and version:
                return "You must either supply version regex or a separate version number"
            if arch_rx and archs:
                return "You must either supply arch regex or a separate architecture"
        if g("installed_regex") is None:
            return "Package installed regex undefined"
        noverify_rc = g("noverify_returncode")
        if promise_attrs.get("package_policy") == "verify":
            if g("verify_command") is None:
                return "Package verify policy is used, but no package_verify_command is defined"
            if noverify_rc is None and g("noverify_regex") is None:
                return ("Package verify policy is used, but no definition of verification "
                        "failure is set (package_noverify_returncode or package_noverify_regex)")
        if noverify_rc is not None and g("noverify_regex") is not None:
            return ("Both package_noverify_returncode and package_noverify_regex are defined, "
                    "pick one of them")
        needs = (("delete_command", ("delete_convention",)),
                 ("list_command", ("installed_regex", "list_arch_regex", "list_name_regex",
                                   "list_version_regex")),
                 ("patch_command", ("patch_arch_regex", "patch_name_regex",
                                    "patch_version_regex")),
                 ("patch_list_command", ("patch_installed_regex",)),
                 ("verify_command", ("noverify_regex", "noverify_returncode")))
        for command, dependents in needs:
            if g(command) is not None:
                continue
            for dependent in dependents:
                if g(dependent) is not None:
                    return (f"Dependency conflict: package_{command} is not used, but "
                            f"package_{dependent} is defined")
        return None


def is_executable(command: str) -> bool:
    """Whether the command's first word names an executable file."""
    arg0 = command_arg0(command)
    return bool(arg0) and os.path.isfile(arg0) and os.access(arg0, os.X_OK)


def command_arg0(command: str) -> str:
    command = command.strip()
    if command.startswith(("\"", "'")):
        end = command.find(command[0], 1)
        return command[1:end] if end > 0 else command[1:]
    return command.split(None, 1)[0] if command else ""


def run(command: str, useshell: bool) -> tuple[int, list[str]]:
    """Run a package manager command; its exit status and output lines (stderr not
    captured). OSError when it cannot be started."""
    if useshell:
        argv = ["/bin/sh", "-c", command]
    else:
        try:
            argv = shlex.split(command)
        except ValueError:
            argv = command.split()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          timeout=COMMAND_TIMEOUT)
    text = proc.stdout.decode("utf-8", "replace")
    return proc.returncode, text.splitlines()
