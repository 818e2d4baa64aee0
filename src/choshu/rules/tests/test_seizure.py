"""国税徴収法76条 差押禁止額 (rules.seizure)."""

from __future__ import annotations

from datetime import date

import pytest

from choshu.rules.seizure import (
    ROUND_THOUSAND,
    SeizureParameterError,
    living_amount,
    parse_salary_exempt_table,
    salary_exempt,
    salary_exempt_table,
)

ON = date(2026, 6, 25)


def test_published_example_rounded_to_thousands() -> None:
    """The worked example of https://syufu-fx.com/2019/02/20/kyuuyosashiosae-keisan/ : 総支給 282,078円,
    所得税 4,280円, 住民税 4,700円, 社会保険料 47,680円, 妻と子 (2 relatives): 4号 190,000円, 5号 6,800円
    rounded up to 7,000円; pay rounded down to 282,000円; every deduction rounded up to 1,000円."""
    r = salary_exempt(paid_on=ON, pay=282_078, income_tax=4_280, resident_tax=4_700, social_insurance=47_680,
                      relatives=2, rounding=ROUND_THOUSAND)  # fmt: skip
    assert (r.pay, r.income_tax, r.resident_tax, r.social_insurance) == (282_000, 5_000, 5_000, 48_000)
    assert r.living == 190_000
    assert r.twenty_percent == 7_000
    assert r.exempt == 255_000
    assert r.seizable == 27_000


def test_same_example_to_the_yen() -> None:
    r = salary_exempt(paid_on=ON, pay=282_078, income_tax=4_280, resident_tax=4_700, social_insurance=47_680,
                      relatives=2)  # fmt: skip
    # 282,078 − (4,280 + 4,700 + 47,680 + 190,000) = 35,418; 20% = 7,083.6 → 7,084 (a fraction is exempt)
    assert r.twenty_percent == 7_084
    assert r.exempt == 4_280 + 4_700 + 47_680 + 190_000 + 7_084
    assert r.seizable == 282_078 - r.exempt == 28_334


def test_twenty_percent_capped_at_twice_the_living_amount() -> None:
    r = salary_exempt(
        paid_on=ON, pay=2_000_000, income_tax=0, resident_tax=0, social_insurance=0, relatives=0
    )
    assert r.living == 100_000
    assert r.cap == 200_000
    assert r.twenty_percent == 200_000  # 20% of 1,900,000 = 380,000 > 2 × 100,000
    assert r.seizable == 2_000_000 - 300_000


def test_low_pay_nothing_seizable() -> None:
    r = salary_exempt(paid_on=ON, pay=120_000, income_tax=1_000, resident_tax=0, social_insurance=15_000,
                      relatives=1)  # fmt: skip
    assert r.twenty_percent == 0
    assert r.seizable == 0


def test_consent_article_76_5_leaves_only_withholdings_exempt() -> None:
    r = salary_exempt(paid_on=ON, pay=300_000, income_tax=5_000, resident_tax=10_000, social_insurance=40_000,
                      relatives=3, consent=True)  # fmt: skip
    assert (r.living, r.twenty_percent) == (0, 0)
    assert r.seizable == 245_000


def test_periods_months_and_days() -> None:
    assert living_amount(on=ON, relatives=0, months=2)[0] == 200_000
    assert living_amount(on=ON, relatives=1, months=1)[0] == 145_000
    # a week's pay: 7/30 of a month, rounded up (100,000 × 7 / 30 = 23,333.3…)
    assert living_amount(on=ON, relatives=0, months=0, days=7)[0] == 23_334
    # a day's pay with one relative: 145,000 / 30 = 4,833.3… → 4,834
    assert living_amount(on=ON, relatives=1, months=0, days=1)[0] == 4_834
    with pytest.raises(ValueError):
        living_amount(on=ON, relatives=0, months=0, days=0)


def test_parameters_cite_the_regulation() -> None:
    t = salary_exempt_table()
    assert "施行令34条" in t.article
    w = t.window(ON)
    assert (w.person, w.per_relative) == (100_000, 45_000)
    assert w.source.startswith("https://")


def test_dated_windows_choose_by_pay_date() -> None:
    t = parse_salary_exempt_table({
        "table": {"article": "x"},
        "window": [
            {"person": 80_000, "per_relative": 40_000, "source": "https://example.org/a", "note": "old"},
            {"from": date(2020, 1, 1), "person": 100_000, "per_relative": 45_000, "source": "https://example.org/b"},
        ],
    })  # fmt: skip
    assert living_amount(on=date(2019, 12, 31), relatives=1, table=t)[0] == 120_000
    assert living_amount(on=date(2020, 1, 1), relatives=1, table=t)[0] == 145_000


@pytest.mark.parametrize(
    "data",
    [
        {"table": {"article": "x"}, "window": []},
        {"table": {"article": "x"}, "window": [{"person": 1, "per_relative": 1, "source": "https://a"}]},
        {
            "table": {"article": "x"},
            "window": [{"person": -1, "per_relative": 1, "source": "https://a", "note": "n"}],
        },
        {"table": {"article": "x"}, "window": [{"person": 1, "per_relative": 1, "note": "n"}]},
        {
            "table": {"article": "x"},
            "window": [{"person": 1, "per_relative": 1, "source": "https://a", "note": "n", "x": 1}],
        },
        {"window": [{"person": 1, "per_relative": 1, "source": "https://a", "note": "n"}]},
    ],
)
def test_bad_parameter_files_refused(data: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(SeizureParameterError):
        parse_salary_exempt_table(data)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100"])
def test_bad_amounts_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        salary_exempt(paid_on=ON, pay=bad, income_tax=0, resident_tax=0, social_insurance=0, relatives=0)  # type: ignore[arg-type]
