"""The issue's check (issue 21, "How it will be checked"): levies, payments inside and after the
出納整理期間, an overpayment and its refund, a write-off, across two fiscal years with a year-end
between — the settlement equals sums computed here from the raw inputs (not through reports), to the
yen.

Data goes in through the real levy and bank-payment imports; the write-off and the refund are posted
with the legs their services post (relief.write_off, refunds.transfer), directly through the ledger's
only writer, because their approval flows are tested in their own apps.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from conftest import LEVIES_BOOKED_ON
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, TxnKind
from choshu.refunds.tests.helpers import inst, levy, pay
from choshu.reports.models import ClosingBalance, FiscalYearClose
from choshu.reports.settlement import settlement

pytestmark = pytest.mark.django_db
D = date

# The sample city's own levies (conftest), all booked on 2024-04-01: 賦課年度 2024.
SAMPLE = [
    ("01", 2024, 30000),
    ("01", 2024, 29000),
    ("04", 2024, 12000),
    ("05", 2024, 10800),
    ("03", 2024, 70000),
]


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def expected(
    events: list[tuple[str, int, str, date, int]], year: int
) -> dict[tuple[str, str], dict[str, int]]:
    """Sums written out from the events: (tax item, 賦課年度, what, 計上日, yen). A fiscal year runs
    4/1–3/31; money for the previous year's 現年分 received by 5/31 is that year's."""

    def fy(item_year: int, what: str, day: date) -> int:
        y = day.year if day.month >= 4 else day.year - 1
        if what in ("paid", "refund", "overpaid") and y == item_year + 1 and day <= D(item_year + 1, 5, 31):
            return item_year
        return max(y, item_year)

    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    # balances carried in: everything attributed to years before ``year``
    for item, item_year, what, day, yen in events:
        y = fy(item_year, what, day)
        if y < year:
            sign = {"levied": 1, "paid": -1, "written_off": -1}.get(what)
            if sign is not None:
                out[(item, "arrears")]["opening"] += sign * yen
            if what in ("overpaid", "refund"):
                out[(item, "arrears")]["refund_pending"] += yen if what == "overpaid" else -yen
        elif y == year:
            cat = "current" if item_year == year else "arrears"
            if what in ("overpaid", "refund"):
                out[(item, cat)]["refund_pending"] += yen if what == "overpaid" else -yen
            else:
                out[(item, cat)][what] += yen
    for (_item, cat), f in out.items():
        if cat == "arrears":
            f["levied"] += f["opening"]
        f["outstanding"] = f["levied"] - f["paid"] - f["written_off"]
    return {k: dict(v) for k, v in out.items()}


def figures(year: int) -> dict[tuple[str, str], dict[str, int]]:
    d = cmd("settlement", "--fiscal-year", str(year))
    assert d["identity_ok"], d["errors"]
    keys = ("opening", "levied", "paid", "written_off", "outstanding", "refund_pending")
    return {
        (r["tax_item"], r["category"]): {k: r[k] for k in keys if r[k]}
        for r in d["rows"]
        if r["category"] != "total"
    }


def nonzero(e: dict[tuple[str, str], dict[str, int]]) -> dict[tuple[str, str], dict[str, int]]:
    return {k: {m: v for m, v in f.items() if v} for k, f in e.items() if any(f.values())}


def test_two_years_with_a_year_end_between_equal_the_sums_of_the_inputs(
    sample_city: Any, write_csv: Callable[..., Any]
) -> None:
    city = sample_city
    events: list[tuple[str, int, str, date, int]] = [
        (item, year, "levied", LEVIES_BOOKED_ON, yen) for item, year, yen in SAMPLE
    ]
    # 2023: a 市民税 levy, paid in part in the 出納整理期間 of FY2023 (2024-05-10)
    levy(write_csv, city, ["01,2023,600001,1001,1,2023-07-31,20000,"], D(2023, 6, 1))
    events.append(("01", 2023, "levied", D(2023, 6, 1), 20000))
    levy(write_csv, city, ["01,2024,700001,1001,1,2024-07-31,50000,", "04,2024,700002,1002,1,2024-06-30,30000,"],
         D(2024, 6, 1))  # fmt: skip
    events += [("01", 2024, "levied", D(2024, 6, 1), 50000), ("04", 2024, "levied", D(2024, 6, 1), 30000)]

    def paid(taxpayer: str, notice: str, yen: int, day: date, item: str, year: int) -> None:
        pay(write_csv, taxpayer, notice, yen, day.isoformat())
        events.append((item, year, "paid", day, yen))

    paid("1001", "600001", 8000, D(2024, 5, 10), "01", 2023)  # 出納整理期間: FY2023 現年
    paid("1001", "600001", 4000, D(2024, 10, 1), "01", 2023)  # FY2024 滞納繰越
    paid("1001", "700001", 20000, D(2024, 7, 31), "01", 2024)  # FY2024 現年
    paid("1001", "700001", 10000, D(2025, 5, 20), "01", 2024)  # 出納整理期間: FY2024 現年
    # 1002 pays 35,000 on a 30,000 levy: 5,000 過誤納金 (還付未済)
    pay(write_csv, "1002", "700002", 35000, "2024-06-20")
    events += [("04", 2024, "paid", D(2024, 6, 20), 30000), ("04", 2024, "overpaid", D(2024, 6, 20), 5000)]
    # 不納欠損 of the 2023 levy's rest (8,000), booked 2025-03-15 (FY2024 滞納繰越)
    c = inst("600001")
    post(municipality=city, kind=TxnKind.WRITE_OFF, legal_date=D(2025, 3, 1), booking_date=D(2025, 3, 15), legs=[
        Leg(Account.RECEIVABLE, -8000, Component.PRINCIPAL, installment=c),
        Leg(Account.WRITE_OFF, 8000, Component.PRINCIPAL, installment=c),
    ])  # fmt: skip
    events.append(("01", 2023, "written_off", D(2025, 3, 15), 8000))

    assert nonzero(figures(2023)) == nonzero(expected(events, 2023))
    before = figures(2024)
    assert before == nonzero(expected(events, 2024))
    # spot values, by hand: 現年 01 = 59,000 + 50,000 levied, 30,000 paid (incl. 5/20)
    assert before[("01", "current")] == {"levied": 109000, "paid": 30000, "outstanding": 79000}
    assert before[("01", "arrears")] == {"opening": 12000, "levied": 12000, "paid": 4000, "written_off": 8000}
    assert before[("04", "current")]["refund_pending"] == 5000

    # 内訳 of the 現年 固定資産税・都市計画税 (old levy layout: all on the main component): the splits
    # add up to the item's 収入済額
    parts = {c.seq: (c.levied, c.paid) for c in settlement(city, 2024).components if c.tax_item == "04"}
    assert parts[1] == (12000 + 30000, 30000)
    assert sum(p for _, p in parts.values()) == before[("04", "current")]["paid"]

    # The year cannot be closed during its 出納整理期間; then it is, once.
    with pytest.raises(CommandError):
        cmd("year_end", "--fiscal-year", "2024", "--as-of", "2025-05-31")
    first = cmd("year_end", "--fiscal-year", "2024", "--as-of", "2025-06-01")
    assert not first["already"] and first["identity_ok"]
    assert first["carried_outstanding"] == sum(
        f["outstanding"] for f in before.values() if "outstanding" in f
    )
    n = ClosingBalance.objects.count()
    again = cmd("year_end", "--fiscal-year", "2024", "--as-of", "2025-06-02")
    assert again["already"] and ClosingBalance.objects.count() == n and FiscalYearClose.objects.count() == 1

    # FY2025: a payment after the 出納閉鎖 (arrears), the refund of the 5,000, and a LATE posting: a
    # payment dated 2025-03-20 (FY2024) imported after the close — booked in the open year 2025.
    paid("1001", "700001", 5000, D(2025, 6, 10), "01", 2024)
    post(municipality=city, kind=TxnKind.REFUND, legal_date=D(2025, 7, 1), booking_date=D(2025, 7, 1), legs=[
        Leg(Account.OVERPAYMENT, 5000, installment=inst("700002"), taxpayer_id=inst("700002").taxpayer_id),
        Leg(Account.CASH, -5000, taxpayer_id=inst("700002").taxpayer_id),
    ])  # fmt: skip
    events.append(("04", 2024, "refund", D(2025, 7, 1), 5000))
    pay(write_csv, "1001", "700001", 3000, "2025-03-20")

    assert figures(2024) == before  # the closed year never changes
    assert {
        c.seq: (c.levied, c.paid) for c in settlement(city, 2024).components if c.tax_item == "04"
    } == parts
    exp = expected(events, 2025)
    exp[("01", "arrears")]["paid"] += 3000  # the late posting, counted in the open year
    exp[("01", "arrears")]["outstanding"] -= 3000
    assert figures(2025) == nonzero(exp)
    s = settlement(city, 2025)
    assert s.opening_from == "close:2024" and not s.closed


def test_bad_years_are_refused(sample_city: Any) -> None:
    for bad in ("1999", "2101"):
        with pytest.raises(CommandError, match="会計年度が不正です"):
            cmd("settlement", "--fiscal-year", bad)
        with pytest.raises(CommandError, match="会計年度が不正です"):
            cmd("year_end", "--fiscal-year", bad, "--as-of", "2102-06-01")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        cmd("year_end", "--fiscal-year", "2024", "--as-of", "2025-13-01")
    assert not FiscalYearClose.objects.exists()


def test_years_close_in_order(sample_city: Any) -> None:
    cmd("year_end", "--fiscal-year", "2023", "--as-of", "2024-06-01")
    with pytest.raises(CommandError, match="古い順"):
        cmd("year_end", "--fiscal-year", "2025", "--as-of", "2026-06-01")
    cmd("year_end", "--fiscal-year", "2024", "--as-of", "2025-06-01")
    with pytest.raises(CommandError, match="締め済み"):
        cmd("year_end", "--fiscal-year", "2022", "--as-of", "2025-06-01")
    assert list(FiscalYearClose.objects.values_list("fiscal_year", flat=True).order_by("fiscal_year")) == [
        2023,
        2024,
    ]
