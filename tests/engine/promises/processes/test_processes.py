"""processes promises against stand-in processes started (and ended) by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from engine.promises import processes
from engine.promises.base import Outcome
from engine.promises.processes import proctable

from ..conftest import FakeRun, body, promise

ROOT = str(Path(__file__).resolve().parents[4])


@pytest.fixture
def fakes() -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """Three stand-ins: two ``<tag>_q 1000`` and one ``<tag>_kill 1000``."""
    tag = "fakedaemon" + uuid.uuid4().hex[:8]
    procs = [
        subprocess.Popen(["bash", "-c", f"exec -a {tag}_{name} sleep 1000"])
        for name in ("q", "q", "kill")
    ]
    deadline = time.time() + 5
    while time.time() < deadline:
        names = [" ".join(psutil.Process(p.pid).cmdline()) for p in procs]
        if all(n.startswith(tag) for n in names):
            break
        time.sleep(0.02)
    yield tag, procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def count(tag: str, lo: int, hi: int, name: str) -> dict[str, object]:
    return body("process_count", match_range=f"{lo},{hi}", in_range_define=[f"{name}_in"],
                out_of_range_define=[f"{name}_out"])


def test_match_is_unanchored_search_on_args(fakes: tuple[str, list]) -> None:
    tag, _ = fakes
    run = FakeRun()
    cases = {
        f"{tag}_q": (2, 2), f"{tag}_q 1000": (2, 2), tag[1:]: (3, 3), f"^{tag}_q": (2, 2),
    }
    for regex, (lo, hi) in cases.items():
        r = processes.actuate(promise("processes", regex,
                                      process_count=count(tag, lo, hi, "c")), run)
        assert r.outcome == Outcome.KEPT
        assert r.classes == ["c_in"], regex
    r = processes.actuate(promise("processes", "^root",
                                  process_count=count(tag, 1, 100000, "root")), run)
    assert r.classes == ["root_out"]


def test_process_select(fakes: tuple[str, list]) -> None:
    tag, procs = fakes
    run = FakeRun()

    def sel(**kw: object) -> list[int]:
        p = promise("processes", tag, process_select=body("process_select", **kw))
        return sorted(x.pid for x in processes.matches(p, proctable.table(run)))

    all_pids = sorted(p.pid for p in procs)
    assert sel(command=f"{tag}_q", process_result="command") == []
    assert sel(command=f"{tag}_q.*", process_result="command") == sorted(
        p.pid for p in procs[:2])
    assert sel(process_owner=["nobody"], process_result="process_owner") == []
    me = psutil.Process().username()
    assert sel(process_owner=[me], process_result="process_owner") == all_pids
    pid0 = procs[0].pid
    assert sel(pid=f"{pid0},{pid0}", process_result="pid") == [pid0]
    assert sel(pid=f"{pid0},{pid0}", command=".*kill.*", process_result="pid|command") == \
        sorted([pid0, procs[2].pid])
    assert sel(threads="1,1", vsize="1,100000000", process_result="threads.vsize") == all_pids
    assert sel(command=".*_q.*", process_result="!command") == [procs[2].pid]


def test_restart_class_when_missing(fakes: tuple[str, list]) -> None:
    tag, _ = fakes
    run = FakeRun()
    r = processes.actuate(promise("processes", f"{tag}_absent", restart_class="start_x"), run)
    assert (r.outcome, r.classes) == (Outcome.KEPT, ["start_x"])
    r = processes.actuate(promise("processes", f"{tag}_q", restart_class="start_q"), run)
    assert (r.outcome, r.classes) == (Outcome.KEPT, [])
    assert run.info_lines() == []


def test_signals_only_matched_processes(fakes: tuple[str, list]) -> None:
    tag, procs = fakes
    run = FakeRun()
    r = processes.actuate(promise("processes", f"{tag}_kill", signals=["term"]), run)
    assert r.outcome == Outcome.REPAIRED
    assert procs[2].wait(timeout=5) == -15
    assert procs[0].poll() is None and procs[1].poll() is None
    lines = run.info_lines()
    assert len(lines) == 1
    assert lines[0].startswith(f"    info: Signalled 'term' (15) to process {procs[2].pid} (")
    assert lines[0].endswith(f" {tag}_kill 1000)")


def test_never_signals_the_agent_or_its_parents() -> None:
    """An agent (here a child python) whose promise matches itself and the shell that
    started it: neither gets the signal."""
    tag = "selfmatch" + uuid.uuid4().hex[:8]
    code = (
        "import sys; sys.path.insert(0, '.');"
        "from tests.engine.promises.conftest import FakeRun, promise;"
        "from engine.promises import processes;"
        f"r = processes.actuate(promise('processes', '{tag}', signals=['term']), FakeRun());"
        "print(r.outcome.value, len(FakeRun().lines))"
    )
    out = subprocess.run(["bash", "-c", f"{sys.executable} -c \"{code}\" {tag}; true"],
                         capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["kept", "0"]


def test_warn_only_sends_nothing(fakes: tuple[str, list]) -> None:
    tag, procs = fakes
    run = FakeRun(warn=True)
    r = processes.actuate(promise("processes", f"{tag}_kill", signals=["term"]), run)
    assert r.outcome == Outcome.NOTKEPT
    time.sleep(0.1)
    assert procs[2].poll() is None


def test_table_is_cached_per_run(fakes: tuple[str, list]) -> None:
    run = FakeRun()
    assert proctable.table(run) is proctable.table(run)
    assert proctable.table(FakeRun()) is not proctable.table(run)


def test_ps_line_shape(fakes: tuple[str, list]) -> None:
    tag, procs = fakes
    p = next(x for x in proctable.read() if x.pid == procs[0].pid)
    line = proctable.ps_line(p)
    assert line.endswith(f"{tag}_q 1000")
    assert line.split()[1] == str(p.pid)
    assert line.split()[3] == str(os.getpgid(p.pid))
