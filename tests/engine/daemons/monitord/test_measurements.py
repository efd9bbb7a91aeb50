"""measurements: promises: a real monitord on real policy, what the agent then sees,
what a bad promise does, and the same policy under cf-monitord."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.daemons.monitord.measurements import (
    Measurement,
    Measurer,
    numeric_value,
    symbolic_value,
)
from engine.daemons.monitord.observables import monitor_snapshot
from engine.state.envdata import read_env_data
from engine.state.monitor import MonitorStore
from engine.workdir import Workdir
from tests.cfengine import cf_env, make_workdir, requires_cfengine

DATA = "alpha 10\nbeta 20\ngamma 30.5\nbeta 40\n"

POLICY = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main
{
  reports:
    "file=$(mon.value_m_file) av=$(mon.av_m_file)";
    "pipe=$(mon.value_m_pipe) av=$(mon.av_m_pipe) dev=$(mon.dev_m_pipe)";
    "str=$(mon.m_str)";
    "list=$(mon.m_list)";
    m_file_high|m_file_low|m_file_high_normal|m_file_low_normal::
      "m_file has a class";
}
bundle monitor watch
{
  vars:
    "data" string => "{data}";
  measurements:
    "$(data)"
      handle => "m_file",
      stream_type => "file",
      data_type => "int",
      history_type => "weekly",
      units => "things",
      comment => "beta from the data file",
      match_value => line_value("beta.*", "beta (\d+)");
    "/bin/echo 7 8"
      handle => "m_pipe",
      stream_type => "pipe",
      data_type => "int",
      history_type => "scalar",
      match_value => line_value("7 .*", "7 (\d+)");
    "$(data)"
      handle => "m_str",
      stream_type => "file",
      data_type => "string",
      history_type => "static",
      match_value => line_value("gamma.*", "gamma (.*)");
    "$(data)"
      handle => "m_list",
      stream_type => "file",
      data_type => "slist",
      history_type => "static",
      match_value => line_value("[ab].*", "^(\w+)");
    "$(data)"
      handle => "m_count",
      stream_type => "file",
      data_type => "counter",
      history_type => "log",
      match_value => line_value("beta.*", "(\d+)");
    nosuchclass::
      "$(data)"
        handle => "m_never", stream_type => "file", data_type => "int",
        history_type => "weekly", match_value => line_value("beta.*", "beta (\d+)");
}
body match_value line_value(line, rx)
{
  select_line_matching => "$(line)";
  extraction_regex => "$(rx)";
}
"""


def _vigil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def _setup(tmp_path: Path, policy: str = POLICY) -> tuple[Path, Path]:
    root = Workdir(tmp_path / "wd").ensure().root
    data = tmp_path / "data.txt"
    data.write_text(DATA)
    entry = root / "inputs" / "promises.cf"
    entry.write_text(policy.replace("{data}", str(data)))
    return root, data


def test_monitord_takes_file_and_pipe_measurements_and_the_agent_sees_them(tmp_path: Path) -> None:
    root, data = _setup(tmp_path)
    cp = _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert " error: " not in cp.stdout, cp.stdout
    classes, mon = read_env_data(root / "state" / "env_data")
    assert mon["value_m_file"] == "20.00" and mon["av_m_file"] == "20.00"
    assert mon["value_m_pipe"] == "8" and mon["av_m_pipe"] == "8.00"
    assert mon["dev_m_pipe"] == "0.00"
    assert mon["m_str"] == "30.5"
    assert mon["m_list"] == ["alpha", "beta", "beta"]
    assert "value_m_never" not in mon and "value_m_count" not in mon
    assert "value_cpu" in mon  # the built-in observables are still there
    log = (root / "state" / "m_count_measure.log").read_text().splitlines()
    assert len(log) == 1 and log[0].endswith(",2")
    stamp = int(log[0].split(",")[-2])
    assert abs(stamp - time.time()) < 120

    # a second sample: the weekly value moves, its class follows
    data.write_text(DATA.replace("beta 20", "beta 70"))
    cp = _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    classes, mon = read_env_data(root / "state" / "env_data")
    assert mon["value_m_file"] == "70.00" and float(mon["av_m_file"]) == pytest.approx(45.0)
    assert any(c.startswith("m_file_high") for c in classes), classes
    assert len((root / "state" / "m_count_measure.log").read_text().splitlines()) == 2

    run = _vigil("agent", "-K", "-w", str(root))
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout.splitlines()
    assert "R: file=70.00 av=45.00" in out
    assert "R: pipe=8 av=8.00 dev=0.00" in out
    assert "R: str=30.5" in out
    assert {"R: list=alpha", "R: list=beta"} <= set(out)
    assert "R: m_file has a class" in out

    snap = {o.name: o for o in monitor_snapshot(root)}
    assert snap["m_file"].kind == "weekly" and snap["m_file"].unit == "things"
    assert snap["m_file"].description == "beta from the data file"
    assert snap["m_file"].value == 70.0 and snap["m_file"].samples == 2
    assert snap["m_pipe"].kind == "scalar" and snap["m_pipe"].value == 8.0
    assert snap["m_str"].value is None and snap["m_str"].text == "30.5"
    assert snap["m_list"].kind == "slist" and snap["m_list"].text == "alpha,beta,beta"


def test_a_measurement_removed_from_the_policy_leaves_env_data(tmp_path: Path) -> None:
    root, _data = _setup(tmp_path)
    assert _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root)).returncode == 0
    (root / "inputs" / "promises.cf").write_text('bundle agent main { }\n')
    assert _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root)).returncode == 0
    _classes, mon = read_env_data(root / "state" / "env_data")
    assert not {"value_m_pipe", "m_str", "m_list"} & set(mon)
    assert {o.kind for o in monitor_snapshot(root)} <= {"", "weekly"}


BAD = r"""
bundle agent main { }
bundle monitor watch
{
  measurements:
    "relative/path"
      handle => "b_rel", stream_type => "file", data_type => "int", history_type => "weekly",
      match_value => mv("beta.*", "beta (\d+)");
    "{data}"
      handle => "b_notype", stream_type => "file", history_type => "weekly",
      match_value => mv("beta.*", "beta (\d+)");
    "{data}"
      handle => "b_both", stream_type => "file", data_type => "int", history_type => "weekly",
      match_value => both;
    "{data}"
      handle => "b_noparen", stream_type => "file", data_type => "int",
      history_type => "weekly", match_value => mv("beta.*", "beta \d+");
    "{data}"
      stream_type => "file", data_type => "int", history_type => "weekly",
      match_value => mv("beta.*", "beta (\d+)");
    "{data}"
      handle => "b_badrx", stream_type => "file", data_type => "int", history_type => "weekly",
      match_value => mv("beta.*", "beta ((\d+)");
    "{data}.missing"
      handle => "b_missing", stream_type => "file", data_type => "int",
      history_type => "weekly", match_value => mv("beta.*", "beta (\d+)");
    "/nonexistent/cmd arg"
      handle => "b_notexec", stream_type => "pipe", data_type => "int",
      history_type => "scalar", match_value => mv("beta.*", "beta (\d+)");
    "{data}"
      handle => "b_noconv", stream_type => "file", data_type => "int",
      history_type => "scalar", match_value => mv("alpha.*", "(alpha)");
    "{data}"
      handle => "b_undefined", stream_type => "file", data_type => "int",
      history_type => "scalar", match_value => mv("$(nosuch.var)", "(\d+)");
    "{data}"
      handle => "cpu", stream_type => "file", data_type => "int", history_type => "weekly",
      match_value => mv("beta.*", "beta (\d+)");
    "{data}"
      handle => "good", stream_type => "file", data_type => "int", history_type => "weekly",
      match_value => mv("alpha.*", "alpha (\d+)");
}
body match_value mv(l, x)
{
  select_line_matching => "$(l)";
  extraction_regex => "$(x)";
}
body match_value both
{
  select_line_matching => "beta.*";
  select_line_number => "2";
  extraction_regex => "(\d+)";
}
"""


def test_bad_measurements_are_error_lines_and_the_rest_is_taken(tmp_path: Path) -> None:
    root, _data = _setup(tmp_path, BAD)
    cp = _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "Traceback" not in cp.stdout + cp.stderr
    errors = [line for line in cp.stdout.splitlines() if " error: " in line]
    text = "\n".join(errors)
    for expected in (
        "'relative/path' of a measurement was not an absolute path",
        "did not specify a data type",
        "cannot select both a line by pattern and by number",
        "must contain a single backreference",
        "has no handle to register it by",
        "extraction_regex: Regular expression error",
        "Unable to find stream",
        "promises to be executable but isn't",
        "unable to extract a number from the matched line 'alpha 10'",
        "refers to a variable that is not defined",
        "measurement 'cpu' has the name of a built-in observable",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    entry = str(root / "inputs" / "promises.cf")
    assert all(f"{entry}:" in e for e in errors if "refers to" in e or "absolute" in e)
    _classes, mon = read_env_data(root / "state" / "env_data")
    assert mon["value_good"] == "10.00"
    # a number that cannot be measured counts as 0, as in cf-monitord
    assert mon["value_b_missing"] == "0.00" and mon["value_b_notexec"] == "0"
    assert mon["value_b_noconv"] == "0"
    assert "value_b_rel" not in mon and "value_b_notype" not in mon


def test_invalid_policy_is_an_error_line_not_a_crash(tmp_path: Path) -> None:
    root, _data = _setup(tmp_path, "bundle monitor watch {\n  measurements:\n    \"/x\"\n")
    cp = _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert " error: " in cp.stdout and "Traceback" not in cp.stdout + cp.stderr
    assert (root / "state" / "env_data").exists()


def _m(**kw: object) -> Measurement:
    base: dict[str, object] = {"handle": "h", "promiser": "/x", "stream_type": "file",
                               "data_type": "int", "history_type": "weekly"}
    base.update(kw)
    return Measurement(**base)  # type: ignore[arg-type]


def test_line_selection_and_multiline_policies() -> None:
    lines = DATA.splitlines()
    sel = {"select_line_matching": "beta.*", "extraction_regex": r"beta (\d+)"}
    assert numeric_value(_m(**sel), lines) == 20.0  # first, as the reference says
    assert numeric_value(_m(multiline_policy="last", **sel), lines) == 40.0
    assert numeric_value(_m(multiline_policy="sum", **sel), lines) == 60.0
    assert numeric_value(_m(multiline_policy="average", **sel), lines) == 30.0
    assert numeric_value(_m(data_type="counter", **sel), lines) == 2.0
    assert numeric_value(_m(select_line_number=3, extraction_regex=r"(\d+\.\d+)"), lines) == 30.5
    # the whole line must match: "eta.*" selects nothing in "beta 20"
    with pytest.raises(Exception, match="could not locate"):
        numeric_value(_m(select_line_matching="eta.*"), lines)
    assert symbolic_value(_m(data_type="string", select_line_number=1), lines) == "alpha 10"
    assert symbolic_value(_m(data_type="slist", select_line_matching="beta.*",
                             extraction_regex=r"(\d+)"), lines) == ["20", "40"]


def test_growing_file_is_read_from_where_it_stopped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("ERROR one\nok\n")
    m = _m(promiser=str(log), data_type="counter", select_line_matching="ERROR.*",
           track_growing_file=True)
    errors: list[str] = []
    store = MonitorStore(tmp_path / "monitor.lmdb")
    try:
        measurer = Measurer(tmp_path, errors.append)
        assert measurer.run([m], store).weekly == {"h": 1.0}
        with log.open("a") as fh:
            fh.write("ERROR two\nERROR three\n")
        assert measurer.run([m], store).weekly == {"h": 2.0}
        assert measurer.run([m], store).weekly == {"h": 0.0}  # nothing new: no line found
        log.write_text("ERROR after rotation\n")  # shorter than where we stopped
        assert measurer.run([m], store).weekly == {"h": 1.0}
    finally:
        store.close()
    assert len(errors) == 1 and "could not locate" in errors[0]


def test_ifelapsed_reuses_the_last_reading(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.write_text("v 1\n")
    m = _m(promiser=str(data), select_line_matching="v.*", extraction_regex=r"(\d+)",
           ifelapsed=5.0)
    store = MonitorStore(tmp_path / "monitor.lmdb")
    try:
        measurer = Measurer(tmp_path, lambda _e: None)
        assert measurer.run([m], store, now=1000.0).weekly == {"h": 1.0}
        data.write_text("v 2\n")
        assert measurer.run([m], store, now=1100.0).weekly == {"h": 1.0}
        assert measurer.run([m], store, now=1400.0).weekly == {"h": 2.0}
    finally:
        store.close()


def test_a_fifo_stream_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    errors: list[str] = []
    store = MonitorStore(tmp_path / "monitor.lmdb")
    try:
        out = Measurer(tmp_path, errors.append).run(
            [_m(promiser=str(fifo), select_line_number=1)], store)
    finally:
        store.close()
    assert out.weekly == {"h": 0.0} and "not a regular file" in errors[0]


def test_vigil_promises_supports_and_checks_measurements(tmp_path: Path) -> None:
    root, _data = _setup(tmp_path)
    entry = root / "inputs" / "promises.cf"
    cp = _vigil("promises", "-f", str(entry), "-w", str(root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "unsupported" not in cp.stdout + cp.stderr
    entry.write_text(entry.read_text().replace('stream_type => "pipe"', 'stream_type => "sock"')
                     .replace('history_type => "static"', 'history_type => "hourly"', 1))
    cp = _vigil("promises", "-f", str(entry), "-w", str(root))
    assert cp.returncode != 0
    assert "sock" in cp.stdout + cp.stderr and "hourly" in cp.stdout + cp.stderr


# -- against cf-monitord --------------------------------------------------------------

DIFF_POLICY = r"""
body common control { bundlesequence => { "main" }; }
bundle agent main { }
bundle monitor watch
{
  measurements:
    "{data}"
      handle => "d_weekly", stream_type => "file", data_type => "int",
      history_type => "weekly", match_value => mv("gamma.*", "gamma (\d+)");
    "/bin/echo 7 8"
      handle => "d_scalar", stream_type => "pipe", data_type => "int",
      history_type => "scalar", match_value => mv("7 .*", "7 (\d+)");
    "{data}"
      handle => "d_sum", stream_type => "file", data_type => "int", history_type => "scalar",
      match_value => policy("beta.*", "beta (\d+)", "sum");
    "{data}"
      handle => "d_count", stream_type => "file", data_type => "counter",
      history_type => "log", match_value => mv("beta.*", "(\d+)");
    "{data}"
      handle => "d_missing", stream_type => "file", data_type => "int",
      history_type => "weekly", match_value => mv("zeta.*", "zeta (\d+)");
}
body match_value mv(l, x)
{
  select_line_matching => "$(l)";
  extraction_regex => "$(x)";
}
body match_value policy(l, x, p)
{
  select_line_matching => "$(l)";
  extraction_regex => "$(x)";
  select_multiline_policy => "$(p)";
}
"""


def _cf_monitord(tmp_path: Path, policy: str) -> Path:
    """Run cf-monitord until it has written env_data (at most 30 s); its workdir."""
    w = make_workdir(tmp_path / "cf")
    (w / "inputs" / "promises.cf").write_text(policy)
    env = cf_env(w)
    proc = subprocess.Popen(["cf-monitord", "-F", "-f", str(w / "inputs" / "promises.cf")],
                            env=env, cwd=w, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (w / "state" / "env_data").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (w / "state" / "env_data").exists(), "cf-monitord wrote no env_data"
    return w


@pytest.mark.slow
@requires_cfengine("cf-monitord")
def test_same_values_as_cf_monitord(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text(DATA)
    policy = DIFF_POLICY.replace("{data}", str(data))
    cf = _cf_monitord(tmp_path, policy)
    root = Workdir(tmp_path / "wd").ensure().root
    (root / "inputs" / "promises.cf").write_text(policy)
    cp = _vigil("monitord", "-F", "--once", "--interval", "0.2", "-w", str(root))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    _c, theirs = read_env_data(cf / "state" / "env_data")
    _c, ours = read_env_data(root / "state" / "env_data")
    for key in ("value_d_weekly", "value_d_scalar", "av_d_scalar", "dev_d_scalar",
                "value_d_sum", "value_d_missing"):
        assert ours.get(key) == theirs.get(key), (key, ours.get(key), theirs.get(key))
    cf_log = (cf / "state" / "d_count_measure.log").read_text().splitlines()
    our_log = (root / "state" / "d_count_measure.log").read_text().splitlines()
    assert [line.rsplit(",", 1)[1] for line in our_log] == \
        [line.rsplit(",", 1)[1] for line in cf_log]


def test_monitord_never_imports_the_policy_parser(tmp_path: Path) -> None:
    """The monitor bundles are evaluated in a child process: after samples with
    measurements, monitord's own process holds no parser or evaluator."""
    root, _data = _setup(tmp_path)
    code = (
        "import sys; from pathlib import Path\n"
        "from engine.daemons.monitord.daemon import Monitord\n"
        "from engine.daemons.monitord.observables import Sampler\n"
        "from engine.state.monitor import MonitorStore\n"
        "from engine.log import LineLogger\n"
        f"root = Path({str(root)!r})\n"
        "m = Monitord(root, 1, LineLogger())\n"
        "store = MonitorStore(root / 'state' / 'monitor.lmdb')\n"
        "s = Sampler()\n"
        "for _ in range(2): m.sample_once(s, store)\n"
        "assert len(m.measurements) == 5, m.measurements\n"
        "print(sorted(k for k in sys.modules if k.startswith(('engine.policy', 'engine.eval'))))\n"
    )
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        timeout=60, check=False)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.strip().splitlines()[-1] == "[]", cp.stdout
