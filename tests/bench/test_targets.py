"""bench._targets: the summary of targets drawn from a run's results."""

from __future__ import annotations

from bench._targets import Target, summary_rows, targets

RESULTS = {
    "parse": {
        "masterfiles": {"vigil_validate": {"median_s": 0.2}, "cf_promises": {"median_s": 0.1}},
        "10000 promises": {"vigil_validate": {"median_s": 0.4}, "cf_promises": {"median_s": 0.1}},
    },
    "agent": {
        "files_1000": {
            "first": {"vigil": {"median_s": 0.5}, "cfengine": {"median_s": 2.0}},
            "second": {"vigil": {"median_s": 0.3}, "cfengine": {"median_s": 1.0}},
            "second_K": {"vigil": {"median_s": 0.2}, "cfengine": None},
        },
    },
    "daemons": {"memory": {"execd": {"rss_median_mb": 18.0}, "cf-execd": {"rss_median_mb": 9.5}}},
    "console": {"tick_ms": 35.0, "apply_ms": 60.0},
    "serverd": {"error": "boom"},
}


def by_row() -> dict[str, Target]:
    return {t.row: t for t in targets(RESULTS)}


def test_ratio_targets() -> None:
    rows = by_row()
    assert rows["parse masterfiles"].met is True
    assert rows["parse 10000 promises"].ratio == 4.0
    assert rows["parse 10000 promises"].met is False
    assert rows["agent files_1000 first"].met is True
    assert rows["agent files_1000 second"].met is False  # 0.3 > a quarter of 1.0
    assert rows["execd steady RSS"].met is True


def test_missing_cfengine_figure_is_not_met_nor_failed() -> None:
    t = by_row()["agent files_1000 second_K"]
    assert t.cfengine is None and t.ratio is None and t.met is None


def test_absolute_targets() -> None:
    rows = by_row()
    assert rows["console countdown tick"].met is True
    assert rows["console refresh (apply snapshot)"].met is False
    assert rows["console countdown tick"].target == "< 50 ms"


def test_absent_sections_give_no_rows() -> None:
    assert targets({"serverd": {"error": "x"}, "agent": {"error": "y"}}) == []
    assert not any(t.row.startswith("serverd") for t in targets(RESULTS))


def test_summary_table_and_dict() -> None:
    rows = targets(RESULTS)
    text = summary_rows(rows)
    met = sum(1 for t in rows if t.met)
    assert text.splitlines()[0] == f"targets: {met} of {len(rows)} met"
    assert "NO" in text and "yes" in text
    d = by_row()["parse 10000 promises"].as_dict()
    assert d == {"row": "parse 10000 promises", "vigil": 0.4, "cfengine": 0.1, "unit": "s",
                 "ratio": 4.0, "target": "<= 3x", "met": False}
