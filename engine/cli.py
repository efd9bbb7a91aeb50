"""The ``vigil`` command: one subcommand per job, each in its own module.

Subcommand modules are imported only when that subcommand runs, so
``vigil agent`` never pays for TLS or Textual. Each module under
``engine.commands`` exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import importlib
import os
import sys

from engine import __version__

TYPE_CHECKING = False  # typing itself is not imported: it costs start-up time
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace

# name -> (module, one-line help). Order is the order ``--help`` lists them in.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "agent": ("engine.commands.agent", "evaluate policy and converge this host (cf-agent)"),
    "promises": ("engine.commands.promises", "parse and validate policy (cf-promises)"),
    "execd": ("engine.commands.execd", "run the agent on a schedule (cf-execd)"),
    "monitord": ("engine.commands.monitord", "sample the system for the agent (cf-monitord)"),
    "serverd": ("engine.commands.serverd", "serve files and remote runs over TLS (cf-serverd)"),
    "up": ("engine.commands.supervise", "start daemons"),
    "down": ("engine.commands.supervise", "stop daemons"),
    "restart": ("engine.commands.supervise", "restart daemons"),
    "status": ("engine.commands.status", "show daemons, last and next run, and health"),
    "watchdog": ("engine.commands.watchdog", "restart the scheduler if it died (run from cron)"),
    "locks": ("engine.commands.locks", "list or clear promise locks"),
    "classes": ("engine.commands.classes", "list persistent and other classes"),
    "runs": ("engine.commands.runs", "list agent runs and their promise outcomes"),
    "key": ("engine.commands.key", "host key, trusted and pending peer keys (cf-key)"),
    "runagent": ("engine.commands.runagent", "ask a server to run its agent (cf-runagent)"),
    "console": ("engine.commands.console", "open the operations console"),
    "cfnames": ("engine.commands.cfnames", "write cf-agent, cf-promises, ... commands that run vigil"),
}

# Run under CFEngine's command names (``vigil cfnames DIR`` writes them), vigil is that
# component: scripts, cron lines and schedulers that call cf-agent keep working.
CFENGINE_NAMES: dict[str, str] = {
    "cf-agent": "agent", "cf-promises": "promises", "cf-execd": "execd", "cf-monitord": "monitord",
    "cf-serverd": "serverd", "cf-key": "key", "cf-runagent": "runagent",
}

EPILOG = """\
Every command works inside one workdir: -w DIR, else $VIGIL_WORKDIR, else
/var/lib/vigil (root) or $XDG_STATE_HOME/vigil. Run 'vigil COMMAND --help'
for a command's options.
"""


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil (and the
    compression modules it pulls in) on every start."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns or 80


def help_formatter() -> type[argparse.HelpFormatter]:
    """argparse's formatter; its width, when not given, as argparse would find it.
    argparse builds one for every ``add_argument``, so this is paid at each start."""
    import argparse

    class HelpFormatter(argparse.HelpFormatter):
        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:
            super().__init__(prog, indent_increment, max_help_position,
                             terminal_columns() - 2 if width is None else width)

    return HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="vigil",
        description="A CFEngine 3 compatible configuration agent, its daemons and console.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vigil {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``vigil`` command; its exit code.

    A reader that goes away (``vigil runs --json | head``) ends the command quietly, with
    the status of a process killed by SIGPIPE, as a C tool would; SIGPIPE itself stays
    ignored, so that a daemon never dies of a peer closing its socket.
    """
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not in the flush at exit
    except BrokenPipeError:
        try:  # the flush at exit must not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return 128 + 13  # SIGPIPE


def _keep_undecodable_bytes() -> None:
    """Print bytes that are not UTF-8 (command output, file contents) as they came,
    as cf-agent does, whatever the locale's encoding."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):
                pass


def _main(argv: Sequence[str] | None) -> int:
    if argv is None:
        argv = list(sys.argv[1:])
        as_name = CFENGINE_NAMES.get(os.path.basename(sys.argv[0]))
        if as_name is not None:
            argv.insert(0, as_name)
    argv = list(argv)
    _keep_undecodable_bytes()
    if not argv or argv[0] not in SUBCOMMANDS:
        parser = build_parser()
        if not argv:
            parser.print_help()
            return 2
        parser.parse_args(argv)  # --help / --version / error for an unknown command
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    # A module may read the plain forms of its options itself (argparse and the gettext
    # and locale modules it loads cost a run several milliseconds); None: not plain.
    fast = getattr(module, "parse_plain", None)
    values = fast(rest) if fast is not None else None
    args: argparse.Namespace | SimpleNamespace
    if values is not None:
        from types import SimpleNamespace

        args = SimpleNamespace(**values)
    else:
        import argparse

        sub = argparse.ArgumentParser(prog=f"vigil {name}", description=help_text,
                                      formatter_class=help_formatter())
        module.add_arguments(sub, name) if _takes_name(module) else module.add_arguments(sub)
        args = sub.parse_args(rest)
    args.command = name
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


def _takes_name(module: object) -> bool:
    """Modules serving several subcommands (up/down/status) take the name too."""
    return getattr(module, "MULTI", False)


if __name__ == "__main__":
    sys.exit(main())
