"""The acceptance ratchet's judgement: listed tests must pass, the list only grows."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.ratchet import compare, rates, read_expected, write_expected


def _r(test: str, result: str) -> dict[str, object]:
    return {"test": test, "result": result}


def test_a_listed_test_that_fails_or_did_not_run_is_a_regression() -> None:
    results = [_r("./a/x.cf", "Pass"), _r("./a/y.cf", "FAIL"), _r("./b/z.cf", "Pass")]
    regressed, new = compare(results, {"./a/x.cf", "./a/y.cf", "./c/gone.cf"})
    assert regressed == ["./a/y.cf", "./c/gone.cf"]
    assert new == ["./b/z.cf"]


def test_the_list_round_trips_in_byte_order_with_comments(tmp_path: Path) -> None:
    f = tmp_path / "expected.txt"
    write_expected(f, {"./b.cf", "./B.cf", "./a.cf"})
    text = f.read_text()
    assert text.startswith("#")
    assert [ln for ln in text.splitlines() if not ln.startswith("#")] == [
        "./B.cf", "./a.cf", "./b.cf"]
    assert read_expected(f) == {"./a.cf", "./b.cf", "./B.cf"}


def test_rates_per_top_directory() -> None:
    results = [_r("./a/x.cf", "Pass"), _r("./a/y.cf", "FAIL"), _r("./b/z/w.cf", "Pass")]
    assert rates(results) == {"a": (1, 2), "b": (1, 1)}
