"""A copy over vigil's own protocol (one file, no file_select): a file_select the promise
gives is not applied there, and the agent says so, naming the promise's place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.cfnet import copy_remote
from engine.promises._acc import Acc
from engine.promises.files import copy_from as copy_mod
from engine.trust import client

from ..conftest import FakeRun, body, promise


def test_file_select_over_vigils_protocol_is_an_error_naming_the_promise(
        run: FakeRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def vigil_copy(workdir: Any, server: str, source: str, dest: Any, *a: Any,
                   **k: Any) -> client.CopyResult:
        calls.append(server)
        return client.CopyResult(False, str(dest), server, source)

    # the server turns out not to speak CFEngine's protocol: vigil's is used
    monkeypatch.setattr(copy_remote, "copy_from_cfengine", lambda *a, **k: False)
    monkeypatch.setattr(client, "copy_from_remote", vigil_copy)
    p = promise("files", str(tmp_path / "dest"),
                copy_from=body("copy_from", source="/srv/f.cf", servers=["hub:5310"]),
                file_select=body("file_select", leaf_name=[".*\\.cf"], file_result="leaf_name"))
    acc = Acc(run.log, p.promiser, "files", False)
    copy_mod.copy_promise(p.promiser, p, run, acc, recursive=False)  # type: ignore[arg-type]
    assert calls == ["hub:5310"]
    assert any(ln.endswith("/p/test.cf:7: file_select is not applied to a copy over vigil's "
                           "own protocol (from 'hub:5310'); the file is copied without it")
               for ln in run.lines), run.lines
