"""Hostile policy data: deep nesting, runaway regexes, huge sizes, broken templates.

Each case runs the real agent on a small policy and must end in a clean error naming
the promise (or the file, line and column), never a traceback and never a hang; the
rest of the run goes on.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

AGENT = [sys.executable, "-m", "engine", "agent"]


def run_agent(tmp_path: Path, policy: str, timeout: float = 60) -> tuple[int, str, float]:
    f = tmp_path / "p.cf"
    f.write_text(policy)
    start = time.monotonic()
    proc = subprocess.run([*AGENT, "-K", "-w", str(tmp_path / "wd"), "-f", str(f)],
                          capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-3000:]
    return proc.returncode, out, time.monotonic() - start


def nest(fn: str, depth: int, inner: str) -> str:
    return f"{fn}(" * depth + inner + ")" * depth


def test_catastrophic_regex_fails_that_call_and_the_run_goes_on(tmp_path: Path) -> None:
    subject = "a" * 40 + "b"
    code, out, took = run_agent(tmp_path, f'''
bundle agent main {{
  vars: "l" slist => {{ "{subject}", "x" }};
        "g" slist => grep("(a|aa)+$", l);
  classes: "c" expression => regcmp("(a|aa)+$", "{subject}");
  reports: "after";
}}''')
    assert code == 0
    assert "exceeded its match limit" in out
    assert "R: after" in out
    assert took < 30  # each call is cut off after about a second, and not retried


def test_functions_nested_too_deep_are_a_syntax_error_with_position(tmp_path: Path) -> None:
    code, out, _ = run_agent(tmp_path, 'bundle agent main { vars: "x" string => '
                             + nest("concat", 400, '"a"') + "; }\n")
    assert code == 1
    assert "p.cf:1:" in out and "Nesting of functions is deeper than recommended" in out


def test_guard_nested_too_deep_is_a_syntax_error(tmp_path: Path) -> None:
    code, out, _ = run_agent(tmp_path, "bundle agent main { reports: " + "(" * 400 + "any"
                             + ")" * 400 + ':: "hi"; }\n')
    assert code == 1
    assert "nested deeper than" in out


@pytest.mark.parametrize("policy", [
    'bundle agent main { vars: "x" string => eval("' + "(" * 3000 + "1" + ")" * 3000
    + '", "math", "infix"); reports: "after"; }',
    'bundle agent main { vars: "x" data => parsejson(\'' + "[" * 5000 + "]" * 5000
    + '\'); reports: "after"; }',
    'bundle agent main { vars: "a" string => "1"; reports: "' + "$(" * 400 + "a" + ")" * 400
    + '"; "after"; }',
])
@pytest.mark.slow
def test_deep_data_fails_one_promise_only(tmp_path: Path, policy: str) -> None:
    code, out, _ = run_agent(tmp_path, policy)
    assert code == 0
    assert "R: after" in out


def test_inherit_from_loop_is_an_error_naming_the_body(tmp_path: Path) -> None:
    code, out, _ = run_agent(tmp_path, f'''
bundle agent main {{ files: "{tmp_path}/f" create => "true", perms => p1; reports: "after"; }}
body perms p1 {{ inherit_from => p2; mode => "600"; }}
body perms p2 {{ inherit_from => p1; }}
''')
    assert "body inheritance chain depth" in out
    assert "'p1'" in out or "'p2'" in out
    assert "R: after" in out


def test_a_very_long_methods_chain_fails_the_method_not_the_run(tmp_path: Path) -> None:
    chain = "".join(f'bundle agent b{i} {{ methods: "x" usebundle => b{i + 1}; }}\n'
                    for i in range(3000))
    code, out, _ = run_agent(tmp_path, 'bundle agent main { methods: "x" usebundle => b0; '
                             'reports: "after"; }\n' + chain + "bundle agent b3000 {}\n",
                             timeout=120)
    assert code == 0
    assert "deeper than" in out
    assert "R: after" in out


def test_six_hundred_nested_methods_work_as_in_cf_agent(tmp_path: Path) -> None:
    chain = "".join(f'bundle agent b{i} {{ methods: "x" usebundle => b{i + 1}; }}\n'
                    for i in range(600))
    code, out, _ = run_agent(tmp_path, 'bundle agent main { methods: "x" usebundle => b0; }\n'
                             + chain + 'bundle agent b600 { reports: "end"; }\n')
    assert code == 0 and "R: end" in out


def test_reads_are_capped_and_non_blocking(tmp_path: Path) -> None:
    code, out, _ = run_agent(tmp_path, '''
bundle agent main {
  vars:
    "b" string => readfile("/dev/zero", "100");
    "n" int => string_length("$(b)");
  reports: "n=$(n)";
}''')
    assert code == 0
    assert "R: n=100" in out


def test_sizes_and_times_out_of_range_are_refused_as_cf_promises_does(tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"caf\xe9\n")
    for call in (f'readfile("{small}", "999999999999")',
                 'strftime("localtime", "%Y", "99999999999999999999")'):
        code, out, _ = run_agent(tmp_path, f'bundle agent main {{ vars: "a" string => {call}; }}\n')
        assert code == 1
        assert "Integer is out of range" in out or "out of range" in out


def test_format_and_mustache_fail_cleanly(tmp_path: Path) -> None:
    code, out, took = run_agent(tmp_path, '''
bundle agent main {
  vars:
    "c" string => format("%.999999999f", "1.5");
    "l" int => string_length("$(c)");
    "m" string => string_mustache("{{#a}}");
  reports: "l=$(l)";
}''')
    assert code == 0
    assert "R: l=4095" in out  # cf-agent formats each conversion into 4096 bytes
    assert "error: Unexpected end to Mustache template" in out  # an unclosed section
    assert took < 30


def test_a_version_with_thousands_of_digits_is_a_clean_syntax_error(tmp_path: Path) -> None:
    code, out, _ = run_agent(tmp_path, "@if minimum_version(" + "9" * 5000 + ")\n"
                             'bundle agent main { reports: "x"; }\n@endif\n')
    assert code == 1
    assert "error:" in out


def test_dist_needs_real_numbers(tmp_path: Path) -> None:
    code, out, _ = run_agent(tmp_path, 'bundle agent main { classes: "x" dist => {"a","b"}; }\n')
    assert code == 1
    assert "'dist' needs a real number, found 'a'" in out
