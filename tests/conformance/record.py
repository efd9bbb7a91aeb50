"""Record cf-agent's behaviour on conformance cases into their ``expected.json``.

    python -m tests.conformance.record            # every case
    python -m tests.conformance.record 007 012    # cases by number or name prefix
    python -m tests.conformance.record --check    # compare only, write nothing

Each case is run twice, each time in a fresh workdir; a case whose two recordings
differ is reported as non-deterministic and not written. Expectations come from
cf-agent only, never from vigil.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.cfengine import HAVE_CFENGINE, cf_version
from tests.conformance.case import Case, CaseError, select_cases
from tests.conformance.compare import differences
from tests.conformance.execute import cfagent_command, run_case


def record_one(case: Case) -> tuple[Case, list[dict[str, Any]] | None, list[str]]:
    """Two recordings of ``case``: (case, results or None if they differ, differences)."""
    first = run_case(case, cfagent_command, cfengine=True)
    second = run_case(case, cfagent_command, cfengine=True)
    everything = Case(**{**_fields(case), "compare": ("R", "rc", "files", "info")})
    problems = differences(everything, first, second, ("first recording", "second recording"))
    return case, (None if problems else first), problems


def _fields(case: Case) -> dict[str, Any]:
    return {name: getattr(case, name) for name in case.__dataclass_fields__}


def write_expected(case: Case, runs: list[dict[str, Any]], version: str) -> bool:
    """Write expected.json; returns True when its content changed."""
    document = {"recorded_with": version, "runs": runs}
    text = json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    old = case.expected_path.read_text() if case.expected_path.exists() else None
    if old == text:
        return False
    case.expected_path.write_text(text)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.record")
    parser.add_argument("cases", nargs="*", help="case names or number prefixes (default: all)")
    parser.add_argument("--check", action="store_true", help="compare with expected.json only")
    parser.add_argument("-j", "--jobs", type=int, default=(os.cpu_count() or 2) + 1)
    parser.add_argument("-v", "--verbose", action="store_true", help="print each recording")
    args = parser.parse_args(argv)
    if not HAVE_CFENGINE:
        print(
            "cf-agent and cf-key are needed to record (apt-get install cfengine3)", file=sys.stderr
        )
        return 2
    try:
        cases = select_cases(args.cases)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    version = cf_version() or ""
    failed = 0
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for case, runs, problems in pool.map(record_one, cases):
            if runs is None:
                failed += 1
                print(f"NONDETERMINISTIC {case.name}\n  " + "\n  ".join(problems))
                continue
            if args.verbose:
                print(f"--- {case.name}\n{json.dumps(runs, indent=1)}")
            if args.check:
                expected = case.load_expected() if case.expected_path.exists() else []
                diff = differences(case, expected, runs, ("expected.json", "cf-agent now"))
                if diff:
                    failed += 1
                    print(f"DRIFT {case.name}\n  " + "\n  ".join(diff))
                continue
            changed = write_expected(case, runs, version)
            print(f"{'recorded' if changed else 'unchanged'} {case.name}")
    print(f"{len(cases)} cases, {failed} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
