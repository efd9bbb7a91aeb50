"""Every function in vigil's registry and every promise type it supports is compared
with cf-agent somewhere: in a conformance case (recorded from cf-agent, re-checked
with ``VIGIL_RECHECK_RECORDINGS=1``) or in one of the differential test modules listed
here. A name counts when its policy text calls it (``name(``), a CASES list holds it
(``("name", [``) or, for a promise type, a policy has a ``name:`` section.

An exemption needs a reason where no comparison can exist; there is none at present:
isreadable, which cf-agent 3.21 does not have, is compared by both refusing it;
randomint, random by definition, by the properties of its results (range, low == high);
findprocesses' ``line``, the platform's ``ps`` line whose times move between two runs,
by the command line it ends with (test_policies_more_diff).
"""

from __future__ import annotations

import re
from pathlib import Path

from engine import promisetypes
from engine.eval.functions import registry

ROOT = Path(__file__).resolve().parents[3]
CASES_DIR = ROOT / "tests" / "conformance" / "cases"

#: Test modules (and the policy helpers they run) that compare vigil with cf-agent or
#: another CFEngine 3.21 program, each on the same input.
DIFFERENTIAL_MODULES: tuple[str, ...] = (
    "tests/engine/functions/test_arrays_diff.py",
    "tests/engine/functions/test_files_diff.py",
    "tests/engine/functions/test_lists_diff.py",
    "tests/engine/functions/test_more_diff.py",
    "tests/engine/functions/test_state_diff.py",
    "tests/engine/functions/test_strings_diff.py",
    "tests/engine/functions/test_readers_more_diff.py",
    "tests/engine/functions/test_policies_more_diff.py",
    "tests/engine/functions/test_cf321_more_diff.py",
    "tests/engine/eval/test_bundlesmatching_vs_cfagent.py",
    "tests/engine/eval/test_cache_system_functions_vs_cfagent.py",
    "tests/engine/eval/test_class_list_types_vs_cfagent.py",
    "tests/engine/eval/test_hardclasses_vs_cfagent.py",
    "tests/engine/eval/test_nested_iteration_vs_cfagent.py",
    "tests/engine/eval/test_preeval_vs_cfagent.py",
    "tests/engine/promises/test_differential.py",
    "tests/engine/promises/files/test_differential_copytree.py",
    "tests/engine/promises/files/test_differential_edit_bounds.py",
    "tests/engine/promises/files/test_differential_fields.py",
    "tests/engine/promises/files/test_differential_insert.py",
    "tests/engine/promises/files/test_differential_links.py",
    "tests/engine/promises/commands/test_differential_modules.py",
    "tests/engine/promises/files/test_differential_perms.py",
    "tests/engine/promises/files/test_differential_regex_promiser.py",
    "tests/engine/promises/files/test_differential_xml.py",
    "tests/engine/promises/test_packages.py",
    "tests/engine/promises/processes/test_processes_select.py",
    "tests/engine/promises/test_services.py",
    # access: cf-agent's copy_from against vigil's serverd, whose server bundle
    # vigil_server.py writes
    "tests/engine/cfnet/test_serverd_cf_clients.py",
    "tests/engine/cfnet/vigil_server.py",
    # roles: cf-runagent -D (allowed, refused) against cf-serverd and vigil's serverd
    "tests/engine/cfnet/test_roles_diff.py",
    # measurements: the same monitor bundle under vigil's monitord and cf-monitord
    "tests/engine/daemons/monitord/test_measurements.py",
)

#: name -> why no comparison with cf-agent can exist. Empty: keep it so.
EXEMPT: dict[str, str] = {}


def _texts() -> str:
    parts = [p.read_text(errors="replace") for p in sorted(CASES_DIR.rglob("*.cf"))]
    parts += [(ROOT / m).read_text() for m in DIFFERENTIAL_MODULES]
    return "\n".join(parts)


def _function_compared(name: str, text: str) -> bool:
    call = re.compile(rf"(?<![\w.]){re.escape(name)}\(")
    case = re.compile(rf"\(\s*\"{re.escape(name)}\"\s*,\s*\[")
    return bool(call.search(text) or case.search(text))


def _type_compared(name: str, text: str) -> bool:
    # a section starts a line or follows a bundle's "{" or a promise's ";"
    return re.search(rf"(?m)(?:^|[{{;])[ \t]*{re.escape(name)}:(?!:)", text) is not None


#: How a module shows that it runs a CFEngine program (directly or through a harness).
CFENGINE_USE = re.compile(r"cf-agent|cf-monitord|cf-runagent|cf-serverd|run_cf|cf_results|"
                          r"run_cfagent|policy_diff|tests\.differential")


def test_the_listed_modules_exist_and_run_cfengine() -> None:
    missing = [m for m in DIFFERENTIAL_MODULES if not (ROOT / m).is_file()]
    assert not missing, missing
    helpers = {"tests/engine/cfnet/vigil_server.py"}  # a policy a listed test runs
    alone = [m for m in DIFFERENTIAL_MODULES
             if m not in helpers and not CFENGINE_USE.search((ROOT / m).read_text())]
    assert not alone, f"listed, yet they run no CFEngine program: {alone}"


def test_every_function_is_compared_with_cfagent() -> None:
    text = _texts()
    names = [s.name for s in registry.all_specs()]
    assert len(names) > 100
    missing = [n for n in names if n not in EXEMPT and not _function_compared(n, text)]
    assert not missing, f"functions no differential test compares with cf-agent: {missing}"


def test_every_supported_promise_type_is_compared_with_cfagent() -> None:
    text = _texts()
    missing = [t for t in sorted(promisetypes.SUPPORTED)
               if t not in EXEMPT and not _type_compared(t, text)]
    assert not missing, f"promise types no differential test compares with cf-agent: {missing}"


def test_exemptions_are_still_needed() -> None:
    text = _texts()
    stale = [n for n in EXEMPT if _function_compared(n, text) or _type_compared(n, text)]
    assert not stale, f"exempt, yet compared: {stale}"
