"""Custom promise types and their modules, run by vigil and by cf-agent 3.21.

The modules are small scripts of the test's own, written into the temp dir: one
speaks the JSON protocol (and the ``action_policy`` feature), one the line protocol.
Each logs every request it receives, so what the agent sends is compared too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cfengine import HAVE_CFENGINE, requires_cfengine
from tests.differential import run_agent

PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

JSON_MODULE = r'''
import json, os, sys

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requests.log")

def log(text):
    with open(LOG, "a") as f:
        f.write(text + "\n")

header = sys.stdin.readline().split()
sys.stdin.readline()
log("header " + header[0] + " " + header[2])
print("jsonmod 1.0 v1 json_based action_policy\n", flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    op = req["operation"]
    log(json.dumps({k: v for k, v in req.items() if k != "filename"}, sort_keys=True))
    out = {"operation": op, "result": "success"}
    if op == "validate_promise":
        ok = isinstance(req["attributes"].get("content"), str)
        if not ok:
            print("log_error=attribute 'content' must be a string")
        out["result"] = "valid" if ok else "invalid"
    elif op == "evaluate_promise":
        path, content = req["promiser"], req["attributes"]["content"]
        old = open(path).read() if os.path.exists(path) else None
        if old == content:
            out["result"] = "kept"
        elif req["attributes"].get("action_policy") == "warn":
            print(f"log_warning=Should write '{path}', but only warning promised")
            out["result"] = "not_kept"
        else:
            with open(path, "w") as f:
                f.write(content)
            print(f"log_info=Wrote '{path}'")
            out["result"] = "repaired"
            out["result_classes"] = ["wrote_" + os.path.basename(path)]
    print(json.dumps(out) + "\n", flush=True)
    if op == "terminate":
        break
'''

LINE_MODULE = r'''#!/bin/sh
read -r header
read -r empty
echo "linemod 0.1 v1 line_based"
echo ""
while true; do
  op=""; promiser=""
  while IFS= read -r line; do
    [ -z "$line" ] && break
    case "$line" in
      operation=*) op="${line#operation=}" ;;
      promiser=*) promiser="${line#promiser=}" ;;
      attribute_*) echo "$line" >> "$(dirname "$0")/attrs.log" ;;
    esac
  done
  case "$op" in
    validate_promise) printf 'operation=%s\nresult=valid\n\n' "$op" ;;
    evaluate_promise)
      touch "$promiser"
      printf 'operation=%s\nlog_verbose=touched %s\nresult_classes=touched,line-mod\nresult=repaired\n\n' "$op" "$promiser" ;;
    terminate) printf 'operation=terminate\nresult=success\n\n'; exit 0 ;;
    *) exit 1 ;;
  esac
done
'''

POLICY = """
promise agent writefile
{
  interpreter => "@PY@";
  path => "@T@/jsonmod.py";
}
promise agent touchfile
{
  path => "@T@/linemod.sh";
}
body classes outcome(p)
{
  promise_kept => { "$(p)_kept" };
  promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
bundle agent main
{
  vars:
    "items" slist => { "a", "b" };
  writefile:
    "@T@/out_$(items)"
      content => "hello $(items)",
      meta => { "x" },
      classes => outcome("w_$(items)");
    "@T@/same"
      content => "same",
      classes => outcome("same");
    "@T@/never"
      content => "x",
      if => "nosuchclass";
  touchfile:
    "@T@/touched"
      mode => "600",
      comment => "sent too",
      classes => outcome("t");
  reports:
    w_a_repaired.w_b_repaired.same_kept.t_repaired::
      "outcomes ok";
    wrote_out_a.wrote_out_b.touched.line_mod::
      "module classes ok";
}
"""


def _setup(target: Path) -> None:
    target.mkdir(parents=True)
    (target / "jsonmod.py").write_text(JSON_MODULE)
    (target / "linemod.sh").write_text(LINE_MODULE)
    (target / "linemod.sh").chmod(0o755)
    (target / "same").write_text("same")


def _run(which: str, tmp_path: Path, policy: str) -> tuple[list[str], Path]:
    base = tmp_path / which
    target = base / "t"
    base.mkdir()
    _setup(target)
    lines = run_agent(which, policy.replace("@PY@", PYTHON), base, target)
    return [ln.replace(str(base / f"{which}.cf"), "<P>") for ln in lines], target


def test_modules_do_the_work_and_set_outcomes(tmp_path: Path) -> None:
    lines, target = _run("vigil", tmp_path, POLICY)
    assert "R: outcomes ok" in lines
    assert "R: module classes ok" in lines
    assert (target / "out_a").read_text() == "hello a"
    assert not (target / "never").exists()
    requests = (target / "requests.log").read_text().splitlines()
    assert requests[0] == "header cf-agent v1"
    sent = [json.loads(r) for r in requests[1:]]
    assert [r["operation"] for r in sent][-1] == "terminate"
    evaluated = [r for r in sent if r["operation"] == "evaluate_promise"]
    assert len(evaluated) == 3  # out_a, out_b, same: once each, never "never"
    assert all(set(r["attributes"]) == {"content"} for r in evaluated)  # meta, classes kept
    # validated, then evaluated
    assert (target / "attrs.log").read_text() == "attribute_mode=600\nattribute_comment=sent too\n" * 2


@requires_cfengine
def test_same_as_cf_agent(tmp_path: Path) -> None:
    ours, our_target = _run("vigil", tmp_path, POLICY)
    theirs, their_target = _run("cf", tmp_path, POLICY)
    assert sorted(ours) == sorted(theirs)
    assert (our_target / "requests.log").read_text().replace(str(our_target), "<T>") == (
        their_target / "requests.log").read_text().replace(str(their_target), "<T>")
    assert (our_target / "attrs.log").read_text() == (their_target / "attrs.log").read_text()


WARN_POLICY = """
promise agent writefile
{
  interpreter => "@PY@";
  path => "@T@/jsonmod.py";
}
promise agent touchfile
{
  path => "@T@/linemod.sh";
}
body action warn_only
{
  action_policy => "warn";
}
bundle agent main
{
  writefile:
    "@T@/new" content => "x", action => warn_only;
  touchfile:
    "@T@/touched" action => warn_only;
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_warn_only(tmp_path: Path, which: str) -> None:
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    lines, target = _run(which, tmp_path, WARN_POLICY)
    assert not (target / "new").exists()
    assert not (target / "touched").exists()
    assert any(ln.startswith(" warning: Should write '<T>/new'") for ln in lines)
    assert any("error: Not making changes to the system, but the custom promise module "
               "'<T>/linemod.sh' doesn't support action_policy" in ln for ln in lines)


BROKEN_POLICY = """
promise agent broken
{
  path => "@T@/nothing-here";
}
promise agent undefined_later
{
  interpreter => "/bin/sh";
  path => "@T@/exits.sh";
}
body classes failed(c)
{
  repair_failed => { "$(c)" };
}
bundle agent main
{
  broken:
    "x" classes => failed("broken_failed");
  undefined_later:
    "y" classes => failed("exits_failed");
  reports:
    broken_failed.exits_failed::
      "both failed";
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_modules_that_fail_to_start(tmp_path: Path, which: str) -> None:
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    base = tmp_path / which
    target = base / "t"
    target.mkdir(parents=True)
    (target / "exits.sh").write_text("exit 3\n")
    lines = run_agent(which, BROKEN_POLICY, base, target)
    assert "R: both failed" in lines
    assert any("error: Did not receive header from promise module '<T>/exits.sh'" in ln
               for ln in lines)
