"""Runs every scenario file in ``scenarios/``: published worked examples, input → expected."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from choshu.rules import check_digits as cd
from choshu.rules.due_dates import shift_due_date, statutory_due_dates
from choshu.rules.late_charge import compute_late_charge, default_late_charge_params, first_month_end

SCENARIO_DIR = Path(__file__).parent / "scenarios"


def _load() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
        for case in doc["case"]:
            cases.append((path.stem, case))
    return cases


CASES = _load()


def _run_late_charge(case: dict[str, Any]) -> None:
    params = default_late_charge_params()
    if "params" in case:
        params = params.with_options(**case["params"])
    r = compute_late_charge(**case["input"], params=params)
    exp = case["expected"]
    if "late_charge" in exp:
        assert r.late_charge == exp["late_charge"]
    if "subtotal" in exp:
        assert r.subtotal == exp["subtotal"]
    if "base" in exp:
        assert r.base == exp["base"]
    if "segment_yen" in exp:
        assert [s.yen for s in r.segments] == exp["segment_yen"]
    if "segment_days" in exp:
        assert [s.days for s in r.segments] == exp["segment_days"]
    first = r.segments[0]
    if "first_segment_yen" in exp:
        assert first.yen == exp["first_segment_yen"]
    if "first_segment_days" in exp:
        assert first.days == exp["first_segment_days"]
    if "first_segment_start" in exp:
        assert first.start == exp["first_segment_start"]
    if "first_segment_end" in exp:
        assert first.end == exp["first_segment_end"]


def _run_first_month_end(case: dict[str, Any]) -> None:
    assert first_month_end(case["input"]["due_date"]) == case["expected"]["first_month_end"]


def _run_shift(case: dict[str, Any]) -> None:
    assert shift_due_date(case["input"]["nominal"]) == case["expected"]["due_date"]


def _run_statutory(case: dict[str, Any]) -> None:
    got = [shifted for _nominal, shifted in statutory_due_dates(**case["input"])]
    assert got == case["expected"]["due_dates"]


_CHECKERS: dict[str, Callable[[str], bool]] = {
    "my_number": cd.is_valid_my_number,
    "corporate_number": cd.is_valid_corporate_number,
    "municipality_code": cd.is_valid_municipality_code,
    "gs1_barcode": cd.is_valid_gs1_barcode,
    "ocr_lower": cd.is_valid_ocr_lower,
    "ocr_upper": cd.is_valid_ocr_upper,
}


def _run(file: str, case: dict[str, Any]) -> None:
    kind = case.get("kind", "late_charge")
    if kind == "late_charge":
        _run_late_charge(case)
    elif kind == "first_month_end":
        _run_first_month_end(case)
    elif kind == "shift":
        _run_shift(case)
    elif kind == "statutory_due_dates":
        _run_statutory(case)
    elif kind in _CHECKERS:
        assert _CHECKERS[kind](case["input"]["number"]) is case["expected"]["valid"]
    else:  # pragma: no cover - a typo in a scenario file must fail loudly
        pytest.fail(f"{file}: unknown scenario kind {kind!r}")


@pytest.mark.parametrize(("file", "case"), CASES, ids=[f"{f}:{c['id']}" for f, c in CASES])
def test_published_example_is_reproduced(file: str, case: dict[str, Any]) -> None:
    _run(file, case)


def test_every_scenario_names_its_source_and_has_a_unique_id() -> None:
    ids = [c["id"] for _f, c in CASES]
    assert len(ids) == len(set(ids))
    for _f, c in CASES:
        assert isinstance(c.get("source"), str) and c["source"]
        assert "expected" in c and "input" in c


def test_there_are_at_least_fifteen_published_late_charge_examples() -> None:
    n = sum(1 for f, c in CASES if f == "late_charge")
    assert n >= 15


def test_scenario_dates_are_read_as_dates() -> None:
    sample = next(c for f, c in CASES if f == "late_charge")
    assert isinstance(sample["input"]["due_date"], date)
