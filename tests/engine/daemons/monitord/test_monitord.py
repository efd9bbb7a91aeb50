"""monitord: real sampling, the LMDB store, env_data and what the agent reads from it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.daemons import pidfile, procs
from engine.daemons.monitord import observables
from engine.daemons.monitord.observables import (
    Ports,
    Sampler,
    classes_for,
    monitor_snapshot,
    render_env_data,
    sample_network,
)
from engine.state import monitor
from engine.state.envdata import read_env_data
from engine.state.monitor import MonitorStore, Stats, read_stats, updated
from tests.engine.daemons.conftest import wait_for


@pytest.mark.slow
def test_monitord_daemon_samples_every_interval_and_publishes(wd: Path) -> None:
    cp = subprocess.run(
        [sys.executable, "-m", "engine", "monitord", "--interval", "0.5", "-w", str(wd)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert cp.returncode == 0, cp.stderr
    pid = pidfile.read_pid(wd, "monitord")
    assert pid and procs.is_our_daemon(pid, "monitord", wd)
    env = wd / "state" / "env_data"
    wait_for(lambda: len(monitor_snapshot(wd)) > 10 and min(o.samples for o in monitor_snapshot(wd)) >= 3, 20)
    classes, variables = read_env_data(env)
    for name in ("loadavg", "cpu", "cpu0", "diskfree", "rootprocs", "otherprocs", "users", "mem_free"):
        assert f"value_{name}" in variables and f"av_{name}" in variables and f"dev_{name}" in variables
    assert 0.0 <= float(variables["value_diskfree"]) <= 100.0
    assert float(variables["value_rootprocs"]) >= 1
    assert isinstance(variables["listening_ports"], list)
    suffixes = ("_high", "_low", "_normal", "_dev1", "_dev2", "_anomaly")
    assert all(c.endswith(suffixes) for c in classes), classes
    snap = {o.name: o for o in monitor_snapshot(wd)}
    assert snap["mem_total"].value > 0 and snap["mem_total"].deviation >= 0
    procs.stop_tree(pid, 5.0)
    assert not procs.alive(pid) and not (wd / "monitord.pid").exists()


def test_sampler_values_are_sane() -> None:
    s = Sampler()
    v = s.sample()
    assert 0.0 <= v["cpu"] <= 100.0 and v["loadavg"] >= 0.0
    assert v["rootprocs"] + v["otherprocs"] >= 1 and v["users"] >= 1
    assert v["mem_total"] > v["mem_free"] > 0
    assert 0.0 <= v["diskfree"] <= 100.0
    assert any(k.startswith("cpu") and k[3:].isdigit() for k in v)


def test_listening_port_and_established_connection_are_seen() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    try:
        ports, _counts = sample_network()
        assert str(port) in ports.tcp4 and ports.tcp4_addr[str(port)] == "127.0.0.1"
        assert str(port) in ports.all
    finally:
        srv.close()


def _stats(values: list[float]) -> Stats:
    st = None
    for i, x in enumerate(values):
        st = updated(st, x, float(i))
    assert st is not None
    return st


def test_class_rule_direction_and_distance() -> None:
    steady = _stats([10.0] * 30)
    assert classes_for("x", steady) == []  # on its average: no class, as cf-monitord
    near = _stats([10.0, 12.0] * 15 + [11.6])
    assert classes_for("x", near) == ["x_high_normal"]
    spike = _stats([10.0, 11.0] * 20 + [40.0])
    assert classes_for("x", spike) == ["x_high", "x_high_dev1", "x_high_dev2", "x_high_anomaly"]
    dip = _stats([50.0, 52.0] * 20 + [47.0])
    got = classes_for("x", dip)
    assert got[:2] == ["x_low", "x_low_dev1"] and "x_low_normal" not in got


def test_running_average_starts_as_a_plain_mean_and_keeps_a_deviation() -> None:
    st = _stats([1.0, 2.0, 3.0, 4.0])
    assert st.average == pytest.approx(2.5) and st.n == 4 and st.last == 4.0
    assert st.deviation > 0.5
    assert Stats.unpack(st.pack()) == st


def test_store_roundtrip_history_trim_and_readonly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitor, "HISTORY_KEEP", 5)
    path = tmp_path / "state" / "monitor.lmdb"
    with MonitorStore(path) as store:
        for t in range(12):
            store.update(1000.0 + t, {"a": float(t), "b": 1.0})
        hist = store.history("a")
        assert [v for _, v in hist] == [7.0, 8.0, 9.0, 10.0, 11.0]
        assert [t for t, _ in store.history("b")][-1] == 1011.0
    # A read-only reader in another process sees the same numbers.
    code = (
        "import sys; from pathlib import Path; from engine.state.monitor import read_stats;"
        f"s = read_stats(Path({str(path)!r})); print(s['a'].n, s['a'].last)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["12", "11.0"]
    assert read_stats(tmp_path / "missing.lmdb") == {}


def test_env_data_format_and_reader(tmp_path: Path) -> None:
    stats = {"cpu": _stats([10.0, 11.0] * 20 + [40.0]), "users": _stats([1.0] * 5)}
    ports = Ports(tcp4=["22", "5308"], tcp6=["5308"], tcp4_addr={"22": "0.0.0.0", "5308": "127.0.0.1"})
    text = render_env_data(stats, ports)
    lines = text.splitlines()
    assert lines[:2] == ["cpu_high", "cpu_high_dev1"]
    assert "value_cpu=40.00" in lines and "value_users=1.00" in lines
    assert "@listening_ports={'22','5308'}" in lines
    assert "@listening_udp4_ports={}" in lines
    assert "tcp4_port_addr[22]=0.0.0.0" in lines
    path = tmp_path / "env_data"
    observables.write_env_data(path, stats, ports)
    classes, variables = read_env_data(path)
    assert "cpu_high" in classes and "cpu_high_anomaly" in classes
    assert variables["value_cpu"] == "40.00" and variables["av_users"] == "1.00"
    assert variables["listening_tcp4_ports"] == ["22", "5308"]
    assert variables["listening_udp6_ports"] == []
    assert variables["tcp4_port_addr[5308]"] == "127.0.0.1"
    assert "env_time" in variables
    assert read_env_data(tmp_path / "absent") == (set(), {})


def test_reads_cf_monitord_style_text(tmp_path: Path) -> None:
    """The layout cf-monitord 3.21 writes (class lines, then value/av/dev, then lists)."""
    path = tmp_path / "env_data"
    path.write_text(
        "users_high\nvalue_users=1.00\nav_users=0.70\ndev_users=1.09\n"
        "value_otherprocs=0.00\nav_otherprocs=0.00\ndev_otherprocs=0.00\n"
        "@listening_ports={'5308','2024'}\n@listening_udp6_ports={}\n"
        "tcp6_port_addr[5308]=::\nentropy_misc_in_low\n"
    )
    classes, variables = read_env_data(path)
    assert classes == {"users_high", "entropy_misc_in_low"}
    assert variables["listening_ports"] == ["5308", "2024"]
    assert variables["tcp6_port_addr[5308]"] == "::"
    assert variables["dev_users"] == "1.09"
