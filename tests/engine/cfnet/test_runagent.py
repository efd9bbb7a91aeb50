"""vigil runagent -> cf-serverd (EXEC runs cf-agent there), and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import CF_AGENT
from tests.engine.cfnet.conftest import needs_cfengine, vigil, vigil_workdir

pytestmark = needs_cfengine


@pytest.mark.slow
def test_vigil_runagent_runs_cf_agent_through_cf_serverd(cf_serverd, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    (hub / "inputs").mkdir(parents=True)
    (hub / "inputs" / "run.cf").write_text(
        'body common control { bundlesequence => { "main" }; }\n'
        'bundle agent main { reports: "hello from the hub run"; extra:: reports: "extra is on"; }\n')
    agent = f"{hub}/bin/cf-agent"
    srv = cf_serverd([agent, str(CF_AGENT)], name="hub",
                     cfrun=f"{agent} -Kf {hub}/inputs/run.cf")
    wd = vigil_workdir(tmp_path / "me")
    r = vigil(wd, "runagent", f"127.0.0.1:{srv.port}")
    assert r.returncode == 255 and "untrusted key: MD5=" in r.stderr, r.stdout + r.stderr
    r = vigil(wd, "runagent", "-i", f"127.0.0.1:{srv.port}", stdin="yes\n")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "127.0.0.1> -> R: hello from the hub run" in out, out
    assert "127.0.0.1> (exit code: 0)" in out, out
    # a class the server has no roles for: refused by cf-serverd with its reason
    r = vigil(wd, "runagent", "-D", "extra", f"127.0.0.1:{srv.port}")
    out = r.stdout + r.stderr
    assert "EXEC denied" in out and "extra is on" not in out, out
