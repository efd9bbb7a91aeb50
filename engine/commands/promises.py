"""``vigil promises``: parse and validate policy, like ``cf-promises``.

Reads ``-f FILE`` (default ``WORKDIR/inputs/promises.cf``) and every file it pulls in
through ``inputs``, prints findings to stderr as ``file:line:col: severity: message``
with the source line and a caret, and exits 1 when there is an error, else 0
(``unsupported`` findings are printed but do not fail). ``--json`` prints the entry
file's AST shaped like ``cf-promises -p json``. Nothing is ever written to disk.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--file", help="policy entry file (default: WORKDIR/inputs/promises.cf)"
    )
    parser.add_argument(
        "-w", "--workdir", help="workdir (default: $VIGIL_WORKDIR or the system one)"
    )
    parser.add_argument(
        "--syntax-only",
        action="store_true",
        help="parse the entry file and its inputs; skip the checks beyond syntax",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the entry file as JSON (like cf-promises -p json)",
    )
    parser.add_argument(
        "-b",
        "--bundlesequence",
        help="comma-separated bundles to check instead of the policy's bundlesequence",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (no warnings or unsupported)"
    )


def run(args: argparse.Namespace) -> int:
    # A one-shot process whose data (the AST) has no cycles: the cyclic collector only
    # costs time here (its full passes over 100k nodes rival the parse itself).
    gc.disable()
    from engine.eval.loading import load as load_policy
    from engine.policy.diagnostics import PolicySyntaxError

    if args.workdir and args.file:
        # Workdir.resolve(-w).root, without importing engine.workdir and what it pulls
        # in: start-up is most of the time a small policy's check takes.
        root = Path(args.workdir).absolute()
        entry = Path(args.file)
    else:
        from engine.workdir import Workdir

        wd = Workdir.resolve(args.workdir)
        root = wd.root
        entry = Path(args.file) if args.file else wd.promises_cf
    if not entry.is_file():
        print(f"{entry}: error: policy file does not exist", file=sys.stderr)
        return 1
    try:
        result = load_policy(entry, root)
    except PolicySyntaxError as e:
        print(e.diagnostic.format(), file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{entry}: error: {e.strerror or e}", file=sys.stderr)
        return 1
    diags = list(result.diagnostics)
    if not args.syntax_only:
        from engine.policy.validate import validate

        seq = None
        if args.bundlesequence:
            seq = [s.strip() for s in args.bundlesequence.split(",") if s.strip()]
        diags.extend(validate(result.policy, seq, inputs_pending=result.inputs_pending))
    failed = False
    for d in diags:
        failed |= d.severity == "error"
        if args.quiet and d.severity != "error":
            continue
        print(d.format(), file=sys.stderr)
    if args.json:
        from engine.policy.json_export import dumps

        print(dumps(result.policy.files[0]))
    return 1 if failed else 0
