"""``vigil locks`` and ``vigil classes --persistent`` on a workdir cf-agent wrote."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from engine.state.lockname import canonify
from tests.cfengine import requires_cfengine
from tests.engine.locks_e2e.harness import SamePath

POLICY = """
body common control { bundlesequence => { "demo_bundle" }; }
body action hourly { ifelapsed => "60"; }
body classes keep { promise_repaired => { "kept_a_while" }; persist_time => "10"; }
body classes stay { promise_repaired => { "stays_put" }; persist_time => "5";
                    timer_policy => "absolute"; }
bundle agent demo_bundle {
 files:
   "$(sys.workdir)/tmp/marker" create => "true", action => hourly, classes => keep;
   "$(sys.workdir)/tmp/other" create => "true", classes => stay;
 reports:
   "hello report";
}
"""


def vigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True,
                          text=True, timeout=60, check=False)


@requires_cfengine
def test_cli_reads_a_cf_agent_workdir(site: SamePath) -> None:
    site.write_policy(POLICY)
    t0 = int(time.time())
    (run,), wd = site.runs("cf", ("-I",))
    t1 = time.time()
    assert run.rc == 0, run.out

    out = vigil("locks", "--cfengine", str(wd), "--json")
    assert out.returncode == 0, out.stderr
    snap = json.loads(out.stdout)
    assert snap["healthy"] is True and snap["db_path"] == str(wd / "state" / "cf_lock.lmdb")
    mine = sorted((lk["promise_type"], lk["promiser"]) for lk in snap["locks"]
                  if lk["bundle"] == "demo_bundle")
    # cf-agent ran in <base>/wd, since moved: its keys hold that path
    root = canonify(str(site.wd))
    assert mine == [("files", f"{root}_tmp_marker"), ("files", f"{root}_tmp_other"),
                    ("reports", "hello_report")]
    for lk in snap["locks"]:
        if lk["bundle"] == "demo_bundle":
            assert lk["kind"] == "last" and t0 <= lk["last_done"] <= t1
            assert lk["holder_pid"] is None
    assert any(lk["bundle"] == "package_global" for lk in snap["locks"])

    table = vigil("locks", "--cfengine", str(wd))
    assert table.returncode == 0, table.stderr
    assert "hello_report" in table.stdout and "demo_bundle" in table.stdout

    out = vigil("classes", "--persistent", "--json", "--cfengine", str(wd))
    assert out.returncode == 0, out.stderr
    classes = {c["name"]: c for c in json.loads(out.stdout)}
    assert sorted(classes) == ["kept_a_while", "stays_put"]
    assert classes["kept_a_while"]["policy"] == "reset"
    assert classes["stays_put"]["policy"] == "preserve"
    assert t0 + 600 <= classes["kept_a_while"]["expires"] <= t1 + 600
    assert t0 + 300 <= classes["stays_put"]["expires"] <= t1 + 300
    assert classes["kept_a_while"]["tags"] == [] and classes["stays_put"]["tags"] == []
    assert 0 < classes["stays_put"]["remaining_seconds"] <= 300
