import os
import time

import pytest

from engine.eval.hardclasses import discover, time_classes


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(y, mo, d, h, mi):
    return time.mktime((y, mo, d, h, mi, 0, 0, 0, -1))


def test_reference_instant(utc):
    # 2026-11-22 04:07 UTC, as cf-promises --show-classes printed it
    got = time_classes(at(2026, 11, 22, 4, 7))
    local = {"Sunday", "Day22", "November", "Yr2026", "Hr04", "Hr4", "Hr04_Q1", "Q1", "Min07",
             "Min05_10", "Night", "Lcycle_1"}
    assert local <= got
    assert {f"GMT_{c}" for c in local} <= got


def test_last_five_minute_block_is_min55_00(utc):
    got = time_classes(at(2026, 11, 22, 9, 58))
    assert "Min55_00" in got and "Q4" in got and "Hr09_Q4" in got and "Morning" in got


def test_two_digit_hours_have_no_short_twin(utc):
    got = time_classes(at(2026, 11, 22, 18, 30))
    assert "Hr18" in got and "Evening" in got and "Q3" in got
    assert not any(c in got for c in ("Hr1", "Hr8"))


def test_shifts_are_six_hour_blocks(utc):
    assert "Afternoon" in time_classes(at(2026, 1, 1, 12, 0))
    assert "Morning" in time_classes(at(2026, 1, 1, 11, 59))


def test_gmt_twins_follow_utc_not_local(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        got = time_classes(at(2026, 11, 22, 9, 43))  # 04:13 UTC
        assert "Hr09" in got and "GMT_Hr04" in got and "Min40_45" in got and "GMT_Min10_15" in got
    finally:
        monkeypatch.undo()
        time.tzset()


def test_discover_sets_host_and_workdir(tmp_path):
    classes, sys_vars = discover(tmp_path)
    assert "any" in classes and "cfengine_3" in classes
    assert sys_vars["workdir"] == str(tmp_path)
    assert sys_vars["inputdir"] == f"{tmp_path}/inputs"
    assert sys_vars["uqhost"] == os.uname().nodename.split(".")[0]
