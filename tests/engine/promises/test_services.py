"""``services`` promises, run by vigil and by cf-agent 3.21: bundles called with the
service and its policy, outcomes taken from the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cfengine import HAVE_CFENGINE
from tests.differential import run_agent

POLICY = """
body classes outcome(p)
{
  promise_kept => { "$(p)_kept" };
  promise_repaired => { "$(p)_repaired" };
  repair_failed => { "$(p)_failed" };
}
body service_method mine
{
  service_bundle => my_services("$(this.promiser)", "$(this.service_policy)");
}
body service_method no_bundle
{
  service_autostart_policy => "boot_time";
}
bundle agent main
{
  services:
    "www"
      service_policy => "my_state",
      service_method => mine,
      classes => outcome("www");
    "db"
      service_policy => "reload",
      classes => outcome("db");
    "cache"
      service_policy => "disable",
      service_method => no_bundle,
      classes => outcome("cache");
    "self"
      service_policy => "start",
      service_dependencies => { "other", "self" },
      classes => outcome("self");
  reports:
    www_repaired.db_kept.cache_kept.!self_kept.!self_repaired.!self_failed::
      "outcomes ok";
}
bundle agent my_services(service, state)
{
  files:
    "@T@/$(service)-$(state)" create => "true";
}
bundle agent standard_services(service, state)
{
  reports:
    "standard $(service) -> $(state)";
}
"""


@pytest.mark.parametrize("which", ["vigil", "cf"])
def test_services(tmp_path: Path, which: str) -> None:
    if which == "cf" and not HAVE_CFENGINE:
        pytest.skip("cf-agent not installed")
    target = tmp_path / "t"
    target.mkdir()
    lines = run_agent(which, POLICY, tmp_path, target)
    assert sorted(p.name for p in target.iterdir()) == ["www-my_state"]
    assert "R: standard db -> reload" in lines
    assert "R: standard cache -> disable" in lines
    assert "R: outcomes ok" in lines
    assert any("error: Service promiser 'self' has itself as dependency" in ln for ln in lines)
