"""Shortcuts as cf-serverd 3.21 expands them, side by side with vigil's serverd.

The stock update policy asks its hub for ``masterfiles/cf_promises_validated`` and
copies the tree under ``masterfiles``: a shortcut is the first component of a relative
path, not only a whole path. Each server shares one directory under the shortcut
``pub``; ``cf-net stat`` asks both the same paths and the answers must agree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.engine.cfnet.conftest import cf_env, cf_workdir, needs_cfengine, start_cf_serverd

pytestmark = needs_cfengine

ASKED = ("pub", "pub/a.txt", "pub/sub/b.txt", "pub/", "pubx/a.txt", "a.txt", "sub/pub/b.txt")


def _stat(client: Path, port: int, path: str) -> str:
    r = subprocess.run(["cf-net", "-H", f"127.0.0.1:{port}", "stat", path], env=cf_env(client),
                       capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    if "is a directory" in out:
        return "directory"
    if "is a regular file" in out:
        return "file"
    return "refused"


@pytest.mark.slow
def test_shortcut_prefixes_are_expanded_as_cf_serverd_expands_them(vigil_serverd,
                                                                   tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "sub").mkdir(parents=True)
    (share / "a.txt").write_text("a\n")
    (share / "sub" / "b.txt").write_text("b\n")
    # the fixtures write '"<path>" admit => ...;' for each shared path: this one ends the
    # shortcut's promise and leaves the fixture's admit to a second, empty-handed one
    rule = f'{share}/" shortcut => "pub", admit => {{ "127.0.0.1" }};\n    "{tmp_path}/none'
    cf = start_cf_serverd(tmp_path / "cfhub", [rule])
    ours = vigil_serverd("hub", [rule])
    try:
        theirs_client = cf_workdir(tmp_path / "c1")
        our_client = cf_workdir(tmp_path / "c2")
        theirs = {p: _stat(theirs_client, cf.port, p) for p in ASKED}
        got = {p: _stat(our_client, ours.port, p) for p in ASKED}
    finally:
        cf.stop()
    assert theirs["pub/sub/b.txt"] == "file", cf.log[-2000:]
    assert got == theirs, ours.log[-3000:]
