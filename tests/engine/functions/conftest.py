"""A small real FnEnv, and a harness that runs the same calls through cf-agent.

A differential case is ``(function, [args...])``. :func:`cf_results` writes one
policy holding every case of a test module (the setup variables, one ``vars`` or
``classes`` promise per case, one report each), runs cf-agent once, and returns
``{case index: text}`` where a failed call reads ``FAIL``. :func:`vigil_result`
renders our own result the same way, so tests compare two strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from engine.eval.classexpr import evaluate
from engine.eval.functions import registry
from engine.eval.functions._util import json_compact
from engine.eval.functions.format_fn import list_repr
from engine.eval.values import Data
from tests.cfengine import HAVE_CFENGINE, make_workdir
from tests.differential import run_cf

Case = tuple[str, list[str]]


class ListLog:
    """A Logger that keeps its lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def _add(self, level: str, msg: str) -> None:
        self.lines.append((level, msg))

    def error(self, msg: str) -> None:
        self._add("error", msg)

    def warning(self, msg: str) -> None:
        self._add("warning", msg)

    def notice(self, msg: str) -> None:
        self._add("notice", msg)

    def info(self, msg: str) -> None:
        self._add("info", msg)

    def verbose(self, msg: str) -> None:
        self._add("verbose", msg)

    def report(self, text: str) -> None:
        self._add("report", text)


class FnTestEnv:
    """Variables of one bundle (``default:main``), a set of classes, bundles with tags."""

    def __init__(
        self,
        variables: dict[str, Any] | None = None,
        classes: Iterable[str] = (),
        bundles: dict[str, list[str]] | None = None,
        workdir: str = "/tmp",
    ) -> None:
        self.log = ListLog()
        self.workdir = workdir
        self.vars: dict[str, Any] = {}
        for k, v in (variables or {}).items():
            self.vars[self.qualify(k)] = v
        self._classes = set(classes) | {"any"}
        self._bundles = bundles or {"default:main": []}

    @staticmethod
    def qualify(ref: str) -> str:
        if ":" not in ref.split("[", 1)[0]:
            ref = "default:" + (ref if "." in ref.split("[", 1)[0] else "main." + ref)
        return ref

    # -- FnEnv
    def class_defined(self, expr: str) -> bool:
        return evaluate(expr, lambda c: c in self._classes)

    def classes(self) -> Iterable[str]:
        return iter(self._classes)

    def get_var(self, ref: str) -> Any | None:
        return self.vars.get(self.qualify(ref))

    def var_names(self) -> Iterable[str]:
        return list(self.vars)

    def bundle_names(self) -> Iterable[str]:
        return list(self._bundles)

    def bundle_tags(self, qualified: str) -> list[str]:
        return self._bundles.get(qualified, [])

    # -- optional
    def define_array(self, name: str, values: dict[str, str]) -> None:
        for k, v in values.items():
            self.vars[self.qualify(f"{name}[{k}]")] = v



def vigil_result(env: Any, fn: str, args: list[Any]) -> str:
    """Our result rendered as cf-agent's report prints it (``FAIL`` on error)."""
    try:
        v = registry.call(fn, env, list(args))
    except registry.FunctionError:
        return "FAIL"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return list_repr(v)
    if isinstance(v, Data):
        return json_compact(v.value)
    return str(v)


# ---------------------------------------------------------------- cf-agent side


def cf_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _declare(name: str, value: Any) -> str:
    if isinstance(value, Data):
        return f"  {cf_quote(name)} data => parsejson({cf_quote(json.dumps(value.value))});"
    if isinstance(value, list):
        return f"  {cf_quote(name)} slist => {{ {', '.join(cf_quote(x) for x in value)} }};"
    return f"  {cf_quote(name)} string => {cf_quote(value)};"


_VAR_TYPE = {"string": "string", "int": "int", "real": "real", "slist": "slist", "ilist": "ilist",
             "rlist": "rlist", "data": "data"}


def build_policy(cases: list[Case], setup: dict[str, Any], classes: Iterable[str] = ()) -> str:
    """Bundle ``setup`` (common) defines ``classes``; bundle ``main`` holds the calls."""
    vars_lines = [_declare(k, v) for k, v in setup.items()]
    class_lines: list[str] = []
    reports: list[str] = []
    for i, (fn, args) in enumerate(cases):
        spec = registry.lookup(fn)
        assert spec is not None, fn
        # Arguments go through variables so cf-promises cannot reject a literal
        # before the agent runs; lazy arguments (maplist's) stay literal.
        parts = []
        for j, a in enumerate(args):
            if j in spec.lazy_args:
                parts.append(cf_quote(a))
            else:
                vars_lines.append(f'  "a{i}_{j}" string => {cf_quote(a)};')
                parts.append(f'"$(a{i}_{j})"')
        call = f"{fn}({', '.join(parts)})"
        if spec.returns == "class":
            class_lines.append(f'  "c{i}" expression => {call};')
            reports.append(f'  "C{i}=yes" if => "c{i}";')
            reports.append(f'  "C{i}=no" unless => "c{i}";')
        elif spec.returns in ("slist", "data"):
            vars_lines.append(f'  "v{i}" {_VAR_TYPE[spec.returns]} => {call};')
            reports.append(f'  "C{i}=$(with)" with => format("%S", "v{i}");')
        elif spec.returns in ("ilist", "rlist"):  # format("%S") takes only slists and data
            vars_lines.append(f'  "v{i}" {_VAR_TYPE[spec.returns]} => {call};')
            vars_lines.append(f'  "w{i}" slist => maplist("$(this)", "v{i}");')
            reports.append(f'  "C{i}=$(with)" with => format("%S", "w{i}");')
        else:
            vars_lines.append(f'  "v{i}" {_VAR_TYPE[spec.returns]} => {call};')
            reports.append(f'  "C{i}=$(v{i})";')
    global_classes = [f'  "{c}" expression => "any";' for c in sorted(classes)]
    return "\n".join(
        [
            'body common control { bundlesequence => { "setup", "main" }; }',
            "bundle common setup {",
            "classes:",
            *global_classes,
            "}",
            "bundle agent main {",
            "vars:",
            *vars_lines,
            "classes:",
            *class_lines,
            "reports:",
            *reports,
            "}",
            "",
        ]
    )


#: A failsafe that says so: a test policy cf-agent rejected shows as ``R: FAILSAFE``.
FAILSAFE = 'body common control { bundlesequence => { "noop" }; }\nbundle agent noop { reports: "FAILSAFE"; }\n'


def make_cf_workdir(root: Path) -> Path:
    """A workdir cf-agent accepts whose failsafe reports ``FAILSAFE``."""
    return make_workdir(root, failsafe=FAILSAFE)


def run_cfagent(workdir: Path, policy_text: str, name: str = "p.cf") -> str:
    policy = workdir / name
    policy.write_text(policy_text)
    return run_cf(policy, workdir, "-K", cwd=workdir).stdout


_LOG_LINE = re.compile(r"\s*(error|warning|notice|info|verbose|debug): ")


def parse_reports(output: str, count: int) -> dict[int, str]:
    """``C<i>=text`` report lines (continuation lines joined back) -> {i: text}."""
    out: dict[int, str] = {}
    cur: int | None = None
    lines = output.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for line in lines:
        if line.startswith("R: C") and "=" in line:
            head, _, rest = line[4:].partition("=")
            if head.isdigit():
                cur = int(head)
                out[cur] = rest
                continue
        if line.startswith("R: ") or _LOG_LINE.match(line):
            cur = None
            continue
        if cur is not None:
            out[cur] += "\n" + line
    for i in range(count):
        v = out.get(i)
        if v is None or v in (f"$(v{i})", "$(with)"):
            out[i] = "FAIL"
    if "R: FAILSAFE" in output:
        raise AssertionError("cf-agent rejected the test policy:\n" + output)
    return out


@pytest.fixture(scope="session")
def cf_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE_CFENGINE:
        pytest.skip("cf-agent is not installed")
    return make_cf_workdir(tmp_path_factory.mktemp("cfwd"))


def cf_results(
    workdir: Path, cases: list[Case], setup: dict[str, Any], name: str, classes: Iterable[str] = ()
) -> dict[int, str]:
    """Run every case through cf-agent in one policy."""
    output = run_cfagent(workdir, build_policy(cases, setup, classes), name)
    return parse_reports(output, len(cases))
