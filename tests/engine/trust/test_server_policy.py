"""serverd reads its policy in a child process; the result is the same as reading it here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons.serverd import policy as server_policy
from engine.daemons.serverd.config import default_classes, split_command
from engine.daemons.serverd.daemon import sys_vars_for
from engine.daemons.serverd.policy import (
    PolicyError,
    config_from_json,
    config_to_json,
    read_here,
    read_server_policy,
)
from engine.workdir import Workdir

REPO = Path(__file__).resolve().parents[3]

POLICY = """
bundle common def { vars: "dir" string => "$(sys.workdir)/share"; "nets" slist => { "127.0.0.1", "10.0.0.0/8" }; }
body common control { bundlesequence => { "main" }; inputs => { "more.cf" }; }
bundle agent main { reports: "x"; }
body server control
{
  allowconnects => { @(def.nets) };
  trustkeysfrom => { "127.0.0.1" };
  allowusers => { "root" };
  maxconnections => "7";
  cfruncommand => "/bin/sh -c '/usr/bin/true";
}
bundle server rules
{
  access:
    "$(def.dir)/" admit_ips => { @(def.nets) }, admit_keys => { "SHA256:abc" };
    "/srv/legacy" admit => { "127.0.0.1", ".example.org" }, deny => { "10.9.9.9" };
  roles:
    "Myclass_.*" authorize => { "mark" };
}
"""
MORE = """
bundle server more { access: "/srv/more" admit_ips => { "127.0.0.1" }, nonsense => "x"; }
"""


@pytest.fixture
def wd(tmp_path: Path) -> Workdir:
    w = Workdir(tmp_path / "wd")
    w.inputs.mkdir(parents=True)
    w.promises_cf.write_text(POLICY)
    (w.inputs / "more.cf").write_text(MORE)
    return w


def _args(w: Workdir) -> tuple[Workdir, Path, dict[str, object], set[str]]:
    sys_vars = sys_vars_for(w)
    return w, w.promises_cf, sys_vars, default_classes(sys_vars)


def test_the_child_reads_what_this_process_reads(wd: Workdir) -> None:
    fallbacks: list[str] = []
    child = read_server_policy(*_args(wd), on_fallback=fallbacks.append)
    here = read_here(*_args(wd))
    assert not fallbacks
    assert child == here and child.config.warnings == here.config.warnings
    assert {p.name for p in child.files} == {"promises.cf", "more.cf"}
    assert len(child.config.access) == 3 and child.config.maxconnections == 7
    assert child.config.roles and child.config.roles[0].users == ("mark",)


def test_a_policy_error_is_the_same_error(wd: Workdir) -> None:
    wd.promises_cf.write_text("bundle server broken {")
    with pytest.raises(PolicyError) as here:
        read_here(*_args(wd))
    with pytest.raises(PolicyError) as child:
        read_server_policy(*_args(wd))
    assert str(child.value) == str(here.value) and str(wd.promises_cf) in str(child.value)


def test_no_policy_needs_no_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_child(*a: object, **k: object) -> None:
        raise AssertionError("a child was started")

    monkeypatch.setattr(server_policy.subprocess, "run", no_child)
    w = Workdir(tmp_path)
    res = read_server_policy(*_args(w))
    assert res.files == () and res.config.access == ()


@pytest.mark.parametrize("how", ["no interpreter", "child crashes", "garbage reply"])
def test_falls_back_to_reading_here(wd: Workdir, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "no interpreter":
        monkeypatch.setattr(server_policy.sys, "executable", str(wd.root / "no-python"))
    else:
        code = "raise SystemExit(3)" if how == "child crashes" else "print('not json')"
        monkeypatch.setattr(server_policy, "_CHILD", code)
    fallbacks: list[str] = []
    res = read_server_policy(*_args(wd), on_fallback=fallbacks.append)
    assert res == read_here(*_args(wd))
    assert len(fallbacks) == 1 and "reading it here" in fallbacks[0]


def test_config_json_round_trip(wd: Workdir) -> None:
    config = read_here(*_args(wd)).config
    back = config_from_json(json.loads(json.dumps(config_to_json(config))))
    assert back == config and back.warnings == config.warnings
    assert isinstance(back.access[0].admit_ips, tuple)


def test_serverd_does_not_import_the_parser(wd: Workdir) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engine.daemons.serverd.daemon import Server\n"
        "from engine.log import Level, LineLogger\n"
        "from engine.workdir import Workdir\n"
        f"s = Server(Workdir(Path({str(wd.root)!r})), LineLogger(Level.ERROR, sink=lambda l: None))\n"
        "c = s.read_config()\n"
        "assert len(c.access) == 3, c\n"
        "print(sorted(m for m in sys.modules if m.startswith(('engine.policy.', 'engine.eval'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['engine.policy.ast']"


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("/usr/bin/vigil agent -I", ["/usr/bin/vigil", "agent", "-I"]),
        ("/bin/sh -c 'a ; b", ["/bin/sh", "-c", "a ; b"]),  # masterfiles leaves it open
        ('/bin/sh -c "a ; b', ["/bin/sh", "-c", "a ; b"]),
    ],
)
def test_cfruncommand_closes_an_open_quote_at_the_end(line: str, argv: list[str]) -> None:
    assert split_command(line) == argv


def test_cfruncommand_that_cannot_be_split() -> None:
    with pytest.raises(ValueError):
        split_command("/bin/sh -c a\\")
