"""An input only evaluation can name (its path comes from a function) is parsed
through the run's parse cache too, as the inputs loaded before evaluation are."""

from __future__ import annotations

from pathlib import Path

from tests.differential import report_lines, run_vigil


def test_a_dynamic_input_is_cached(tmp_path: Path) -> None:
    lib = tmp_path / "lib.cf"
    lib.write_text('bundle agent from_lib { reports: "from lib"; }\n')
    policy = tmp_path / "p.cf"
    policy.write_text(f"""body common control
{{
  bundlesequence => {{ "main", "from_lib" }};
  inputs => {{ "$(d.lib)" }};
}}
bundle common d {{ vars: "lib" string => concat("{tmp_path}", "/lib.cf"); }}
bundle agent main {{ reports: "main"; }}
""")
    wd = tmp_path / "wd"
    first = run_vigil(policy, wd, "-K")
    assert report_lines(first.stdout) == ["R: main", "R: from lib"]
    cache = wd / "state" / "policy_cache"
    assert len(list(cache.iterdir())) == 2  # the entry file and the dynamic input
    again = run_vigil(policy, wd, "-K")
    assert report_lines(again.stdout) == report_lines(first.stdout)
