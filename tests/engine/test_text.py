"""engine.text: the one duration wording, and canonify as CFEngine's: every byte of
the UTF-8 encoding outside ``[A-Za-z0-9_]`` becomes ``_``. Differential: the canonify() function, ``classes:``
promisers and a module's ``+class`` lines name the same classes in cf-agent and vigil."""

from __future__ import annotations

from pathlib import Path

from engine.text import canonify, duration, run_time
from tests.cfengine import requires_cfengine
from tests.differential import run_both


def test_every_byte_of_a_non_ascii_character_counts() -> None:
    assert canonify("é-x") == "___x"  # c3 a9 2d 78
    assert canonify("a.b c_d") == "a_b_c_d"
    assert canonify("\udcff") == "_"  # an undecodable byte kept as a surrogate
    assert canonify("") == ""


def test_one_duration_wording_for_the_cli_and_the_console() -> None:
    assert duration(None) == "—"
    assert [duration(s) for s in (-3, 42.9, 250, 3725, 3 * 86400 + 7200)] == [
        "0s", "42s", "4m 10s", "1h 2m", "3d 2h"]
    assert duration(82623, precise=True) == "22h 57m 03s"
    assert [run_time(s) for s in (0.414, 12.34, 125)] == ["0.41 s", "12.3 s", "2m 05s"]


MODULE = '#!/bin/sh\necho "+mé-m"\necho "^context=ctx"\necho "=v=1"\n'
POLICY = """body common control { bundlesequence => { "main" }; }
bundle agent main {
commands:
  "MODULE" module => "true";
classes:
  "é-x" expression => "any", scope => "namespace";
  "cé.d" expression => "any", scope => "namespace";
vars:
  "f" string => canonify("é-x");
  "u" string => canonifyuniquely("é-x");
  "c" slist => classesmatching(".*(_x|_d|_m)$");
  "s" slist => sort("c", "lex");
reports:
  "f=$(f) u=$(u)";
  "class=$(s)";
  "classify" if => classify("é-x");
}
"""


def _reports(out: str) -> list[str]:
    return [ln.strip() for ln in out.splitlines() if ln.strip().startswith("R: ")]


@requires_cfengine
def test_same_names_as_cf_agent(tmp_path: Path) -> None:
    module = tmp_path / "mod.sh"
    module.write_text(MODULE)
    module.chmod(0o755)
    cf, ours = run_both(tmp_path, POLICY.replace("MODULE", str(module)), "-K")
    assert cf is not None
    expected = _reports(cf.out)
    assert "R: f=___x u=___x_3fccee9ed993486a0d76ed8a66739d63b18aa073" in expected
    assert {"R: class=___x", "R: class=c___d", "R: class=m___m"} <= set(expected)
    assert _reports(ours.out) == expected
