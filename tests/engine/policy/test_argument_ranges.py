"""Literal function arguments and real values out of their declared range: cf-promises
rejects the policy, and so must vigil (differential against the real cf-promises)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.policy.ast import Policy
from engine.policy.parser import parse_file
from engine.policy.validate import validate

from .conftest import CfPromises

POLICIES = {
    "int_over": 'bundle agent main { vars: "t" int => accumulated(0,1001,0,0,0,0); }\n',
    "int_seconds_over": 'bundle agent main { vars: "t" int => accumulated(0,0,0,0,0,40001); }\n',
    "int_not_a_number": 'bundle agent main { vars: "t" int => accumulated(0,"x",0,0,0,0); }\n',
    "int_in_range": 'bundle agent main { vars: "t" int => accumulated(1000,0,0,0,0,"40000"); }\n',
    "int_variable": 'bundle agent main { vars: "t" int => accumulated(0,"$(m)",0,0,0,0); }\n',
    "option_bad": 'bundle agent main { vars: "h" string => hash("x", "md4"); }\n',
    "option_ok": 'bundle agent main { vars: "h" string => hash("x", "sha256"); }\n',
    "bareword_call": 'bundle agent main { vars: "r" irange => irange(ago(0,0,1,0,0,0),now); }\n',
    "real_huge": 'bundle agent main { vars: "r" real => "1e2345678"; }\n',
    "real_negative_over": 'bundle agent main { vars: "r" real => "-1e101"; }\n',
    "real_ok": 'bundle agent main { vars: "r" real => "9e100"; }\n',
}


def ours(path: Path) -> list[int]:
    p = Policy()
    p.add(parse_file(path))
    return [d.pos.line for d in validate(p, ["main"]) if d.severity == "error"]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_rejected_as_cf_promises_rejects(
    tmp_path: Path, name: str, cf_promises: CfPromises
) -> None:
    path = tmp_path / f"{name}.cf"
    path.write_text(POLICIES[name])
    theirs = cf_promises.run("-f", str(path))
    assert bool(ours(path)) == (theirs.returncode != 0), theirs.stderr
