"""Reading `body server control` and `bundle server` from parsed policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.daemons.serverd.acl import (
    ClientId,
    Denied,
    address_matches,
    classes_allowed,
    hostname_matches,
    resolve,
    rule_admits,
)
from engine.daemons.serverd.config import server_config_from_policy
from engine.policy.ast import Policy
from engine.policy.parser import parse_text

SYS = {"workdir": "/var/lib/vigil", "host": "hub01", "uqhost": "hub01", "fqhost": "hub01.example.org"}


def config(text: str, sys_vars: dict[str, object] | None = None):
    policy = Policy()
    policy.add(parse_text(text, "promises.cf"))
    return server_config_from_policy(policy, sys_vars or SYS)


def test_control_body_and_access_rules() -> None:
    cfg = config("""
bundle common def { vars: "dir" string => "$(sys.workdir)/masterfiles"; "nets" slist => { "10.0.0.0/8", "192.168.1.1" }; }
body server control
{
  port => "15308";
  bindtointerface => "127.0.0.1";
  allowconnects => { "127.0.0.1", @(def.nets) };
  trustkeysfrom => { "10.1.0.0/16" };
  allowusers => { "root" };
  maxconnections => "200";
  cfruncommand => "/usr/bin/vigil agent";
  windows::
    port => "1";
}
bundle server rules
{
  access:
    "$(def.dir)/"
      admit_ips => { @(def.nets) },
      admit_keys => { "SHA256:abc" },
      deny_hostnames => { ".evil.org" };
    "/srv/legacy"
      admit => { "127.0.0.1", "SHA256:def", ".example.org" },
      deny => { "10.9.9.9" };
    "literal text" resource_type => "literal", admit_ips => { "0.0.0.0/0" };
  roles:
    "Myclass_.*" authorize => { "mark" };
  access:
  hub01::
    "/guarded" admit_ips => { "127.0.0.1" };
  !hub01::
    "/not-here" admit_ips => { "127.0.0.1" };
}
""")
    assert cfg.port == 15308 and cfg.bindtointerface == "127.0.0.1"
    assert cfg.allowconnects == ("127.0.0.1", "10.0.0.0/8", "192.168.1.1")
    assert cfg.trustkeysfrom == ("10.1.0.0/16",) and cfg.allowusers == ("root",)
    assert cfg.maxconnections == 200 and cfg.cfruncommand == "/usr/bin/vigil agent"
    paths = [r.path for r in cfg.access]
    assert paths == ["/var/lib/vigil/masterfiles", "/srv/legacy", "/guarded"]
    first, legacy = cfg.access[0], cfg.access[1]
    assert first.admit_ips == ("10.0.0.0/8", "192.168.1.1") and first.admit_keys == ("SHA256:abc",)
    assert first.deny_hostnames == (".evil.org",)
    assert legacy.admit_ips == ("127.0.0.1",) and legacy.admit_keys == ("SHA256:def",)
    assert legacy.admit_hostnames == (".example.org",) and legacy.deny_ips == ("10.9.9.9",)
    assert cfg.roles[0].pattern == "Myclass_.*" and cfg.roles[0].users == ("mark",)
    assert any("resource_type 'literal'" in w for w in cfg.warnings)


def test_no_policy_means_deny_everything() -> None:
    cfg = config("bundle agent main { reports: \"x\"; }")
    assert cfg.allowconnects == () and cfg.access == () and cfg.port is None
    assert not address_matches(cfg.allowconnects, "127.0.0.1")


def test_function_calls_are_reported_not_guessed() -> None:
    cfg = config('body server control { allowconnects => { getenv("X", "10") }; }')
    assert cfg.allowconnects == ()
    assert any("allowconnects" in w for w in cfg.warnings)


def test_address_and_hostname_matching() -> None:
    assert address_matches(["10.0.0.0/8"], "10.2.3.4")
    assert not address_matches(["10.0.0.0/8"], "11.0.0.1")
    assert address_matches(["127.0.0.1"], "127.0.0.1")
    assert address_matches([r"192\.168\.1\..*"], "192.168.1.77")
    assert not address_matches(["::1"], "127.0.0.1")
    assert hostname_matches([".example.org"], "www.example.org")
    assert not hostname_matches([".example.org"], "example.org")
    assert hostname_matches(["WWW.example.org"], "www.example.org")


def test_deny_wins_and_default_is_deny(tmp_path: Path) -> None:
    cfg = config(f"""
bundle server r {{ access:
  "{tmp_path}" admit_ips => {{ "127.0.0.0/8" }}, deny_keys => {{ "SHA256:bad" }};
  "{tmp_path}/private" admit_keys => {{ "SHA256:good" }};
}}""")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "f").write_text("x")
    (tmp_path / "f").write_text("x")
    good = ClientId("127.0.0.1", "SHA256:good", "root")
    bad = ClientId("127.0.0.1", "SHA256:bad", "root")
    other = ClientId("10.0.0.1", "SHA256:other", "root")
    assert rule_admits(cfg.access[0], good) and not rule_admits(cfg.access[0], bad)
    assert resolve(cfg, good, str(tmp_path / "f"))[0] == str(tmp_path / "f")
    with pytest.raises(Denied):
        resolve(cfg, bad, str(tmp_path / "f"))
    with pytest.raises(Denied):
        resolve(cfg, other, str(tmp_path / "f"))
    # the most specific rule decides: /private admits only the good key
    assert resolve(cfg, good, str(tmp_path / "private/f"))
    with pytest.raises(Denied):
        resolve(cfg, ClientId("127.0.0.1", "SHA256:x", "root"), str(tmp_path / "private/f"))


def test_symlink_out_of_the_root_is_denied(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").write_text("secret")
    os.symlink(tmp_path / "outside", root / "link")
    cfg = config(f'bundle server r {{ access: "{root}" admit_ips => {{ "127.0.0.1" }}; }}')
    with pytest.raises(Denied):
        resolve(cfg, ClientId("127.0.0.1", "SHA256:x", "root"), str(root / "link"))


def test_roles() -> None:
    cfg = config('bundle server r { roles: "Myclass_.*" authorize => { "mark" }; }')
    assert classes_allowed(cfg.roles, "mark", ["Myclass_a"]) == ["Myclass_a"]
    with pytest.raises(Denied):
        classes_allowed(cfg.roles, "eve", ["Myclass_a"])
    with pytest.raises(Denied):
        classes_allowed(cfg.roles, "mark", ["Other"])
    with pytest.raises(Denied):
        classes_allowed(cfg.roles, "mark", ["Myclass_a;rm -rf /"])
