"""月次統計 and 月計表 (issue 21 §2): an independent scenario — levies, payments in different months and
channels (bank import, counter, enforcement), an overpayment and its refund, a write-off, across two
fiscal years — whose figures equal sums computed here from the events, to the yen; the suppression
rule; bad input.

Data goes in through the real levy and bank-payment imports and the payment engine's entry for
hand-entered payments (``receipts.services.post_records``, as the counter and 取立 use it); the
write-off and the refund are posted with their services' legs (as the settlement's scenario does).
"""

from __future__ import annotations

import io
import itertools
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
from openpyxl import load_workbook

from choshu.accounts.models import Role
from choshu.formats.payments import PaymentRecord, RecordKind
from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, TxnKind
from choshu.receipts.models import Channel
from choshu.receipts.services import post_records
from choshu.refunds.tests.helpers import inst, levy, pay
from choshu.reports.models import StatisticsSetting
from choshu.reports.statistics import suppress

pytestmark = pytest.mark.django_db
D = date

# (notice, item, 賦課年度, taxpayer, 納期限, yen): the sample city's levies (conftest, booked 2024-04-01)
# and the scenario's own
LEVIES = [
    ("100001", "01", 2024, "1001", D(2024, 7, 1), 30000),
    ("100001-2", "01", 2024, "1001", D(2024, 9, 2), 29000),
    ("400001", "04", 2024, "1001", D(2024, 4, 30), 12000),
    ("500001", "05", 2024, "1002", D(2024, 5, 31), 10800),
    ("300001", "03", 2024, "2001", D(2024, 5, 31), 70000),
]


def cmd(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


class Book:
    """The events, and the sums the issue's rules give, written out here (not through reports)."""

    def __init__(self) -> None:
        # (notice, item, 賦課年度, taxpayer, what, 計上日, yen, channel)
        self.events: list[tuple[str, str, int, str, str, date, int, str]] = []
        self.due: dict[str, date] = {}
        for notice, item, year, tp, due, yen in LEVIES:
            self.due[notice] = due
            self.events.append((notice, item, year, tp, "levy", LEVIES_BOOKED_ON, yen, ""))

    @staticmethod
    def fy(item_year: int, what: str, day: date) -> int:
        y = day.year if day.month >= 4 else day.year - 1
        if what in ("paid", "refund", "overpaid") and y == item_year + 1 and day <= D(item_year + 1, 5, 31):
            return item_year
        return max(y, item_year)

    def statement(self, year: int, month: date) -> dict[tuple[str, str], dict[str, int]]:
        """月計表 of fiscal year ``year`` for the calendar month ``month``: the month's sums and the
        cumulative ones to the month's end."""
        end = D(month.year + (month.month == 12), month.month % 12 + 1, 1)
        out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for _n, item, iy, _tp, what, day, yen, _ch in self.events:
            if day >= end:
                continue
            y = self.fy(iy, what, day)
            if y < year:
                if what in ("levy", "paid", "written_off"):
                    out[(item, "arrears")]["opening"] += yen if what == "levy" else -yen
                continue
            if y > year:
                continue
            cat = "current" if iy == year else "arrears"
            f = out[(item, cat)]
            key = {"levy": "levied", "paid": "paid", "written_off": "written_off", "refund": "refunded"}.get(
                what
            )
            if key is None:
                continue
            f[key] += yen
            in_month = (day.year, day.month) == (month.year, month.month) or (
                month == D(year, 4, 1) and day < D(year, 4, 1)
            )
            if in_month:
                f["month_" + key] += yen
        for (_i, cat), f in out.items():
            if cat == "arrears":
                f["levied"] += f["opening"]
            f["outstanding"] = f["levied"] - f["paid"] - f["written_off"]
        return {k: {m: v for m, v in f.items() if v} for k, f in out.items() if any(f.values())}

    def channels(self, month: date) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[set[str], int]] = {}
        for _n, _i, _y, tp, what, day, yen, ch in self.events:
            if what == "paid" and (day.year, day.month) == (month.year, month.month):
                persons, total = out.get(ch, (set(), 0))
                out[ch] = (persons | {tp}, total + yen)
        return {k: (len(p), y) for k, (p, y) in out.items()}

    def owed(self, end: date) -> dict[str, tuple[str, int]]:
        """Per installment past its 納期限 at ``end``: (taxpayer, 本税 unpaid)."""
        bal: dict[str, int] = defaultdict(int)
        who = {}
        for n, _i, _y, tp, what, day, yen, _ch in self.events:
            if day > end or what not in ("levy", "paid", "written_off"):
                continue
            who[n] = tp
            bal[n] += yen if what == "levy" else -yen
        return {n: (who[n], b) for n, b in bal.items() if b > 0 and self.due[n] < end}


def statement(month: str) -> dict[tuple[int, str, str], dict[str, int]]:
    d = cmd("monthly_statement", "--month", month)
    assert d["identity_ok"], d["errors"]
    out = {}
    for sec in d["sections"]:
        for r in sec["rows"]:
            if r["category"] == "*":
                continue
            c, m = r["cumulative"], r["month"]
            f = {
                k: c[k]
                for k in ("opening", "levied", "paid", "refunded", "written_off", "outstanding")
                if c[k]
            }
            names = {"levy": "levied", "correction": "levied", "paid": "paid", "refunded": "refunded",
                     "written_off": "written_off"}  # fmt: skip
            for k, v in m.items():
                if v:
                    f["month_" + names[k]] = f.get("month_" + names[k], 0) + v
            out[(sec["fiscal_year"], r["tax_item"], r["category"])] = f
    return out


def expected_statement(book: Book, month: date) -> dict[tuple[int, str, str], dict[str, int]]:
    year = month.year if month.month >= 4 else month.year - 1
    out = {(year, i, c): f for (i, c), f in book.statement(year, month).items()}
    if month.month in (4, 5):  # the previous year's 出納整理期間
        out |= {(year - 1, i, c): f for (i, c), f in book.statement(year - 1, month).items()}
    return out


@pytest.fixture
def scenario(sample_city: Any, write_csv: Callable[..., Any], make_user: Callable[..., Any]) -> Book:
    city = sample_city
    book = Book()
    clerk = make_user("counter", role=Role.CLERK, municipality=city)
    StatisticsSetting.objects.create(municipality=city, valid_from=D(2000, 4, 1), min_persons=1, note="試験")
    refs = itertools.count(1)

    def add_levy(notice: str, item: str, year: int, tp: str, due: date, yen: int, booked: date) -> None:
        levy(write_csv, city, [f"{item},{year},{notice},{tp},1,{due.isoformat()},{yen},"], booked)
        book.due[notice] = due
        book.events.append((notice, item, year, tp, "levy", booked, yen, ""))

    def bank(notice: str, yen: int, day: date) -> None:
        i = inst(notice)
        pay(write_csv, i.taxpayer.taxpayer_no, notice, yen, day.isoformat())
        book.events.append((notice, i.levy.tax_item, i.levy.levy_year, i.taxpayer.taxpayer_no, "paid", day, yen,
                            "bank"))  # fmt: skip

    def by_hand(channel: Channel, notice: str, yen: int, day: date) -> None:
        i = inst(notice)
        record = PaymentRecord(
            line=1, channel=channel, kind=RecordKind.FINAL, reference=f"test:{next(refs)}", slip_no=i.slip_no or "",
            confirmation_no="", tax_item="", amount=yen, paid_on=day, booked_on=day, detail={},
        )  # fmt: skip
        post_records(municipality=city, channel=channel, actor=clerk, records=[record])
        book.events.append((notice, i.levy.tax_item, i.levy.levy_year, i.taxpayer.taxpayer_no, "paid", day, yen,
                            channel.value))  # fmt: skip

    add_levy("600001", "01", 2023, "1001", D(2023, 7, 31), 20000, D(2023, 6, 1))
    add_levy("700001", "01", 2024, "1001", D(2024, 7, 31), 50000, D(2024, 6, 1))
    add_levy("700002", "04", 2024, "1002", D(2024, 6, 30), 30000, D(2024, 6, 1))
    add_levy("800001", "01", 2025, "1002", D(2025, 6, 30), 40000, D(2025, 6, 1))

    bank("600001", 8000, D(2023, 6, 20))  # FY2023 現年
    bank("600001", 3000, D(2024, 5, 10))  # 出納整理期間: FY2023 現年
    by_hand(Channel.COUNTER, "600001", 4000, D(2024, 6, 5))  # FY2024 滞納繰越
    bank("100001", 30000, D(2024, 6, 28))  # FY2024 現年
    by_hand(Channel.COUNTER, "500001", 10800, D(2024, 6, 12))
    bank("700001", 20000, D(2024, 7, 31))
    # 1002 pays 35,000 on a 30,000 levy in June 2024: 5,000 過誤納金
    pay(write_csv, "1002", "700002", 35000, "2024-06-20")
    book.events.append(("700002", "04", 2024, "1002", "paid", D(2024, 6, 20), 30000, "bank"))
    # 不納欠損 of the 2023 levy's rest (5,000) in March 2025; the 5,000 refunded the same month
    c = inst("600001")
    post(municipality=city, kind=TxnKind.WRITE_OFF, legal_date=D(2025, 3, 1), booking_date=D(2025, 3, 15), legs=[
        Leg(Account.RECEIVABLE, -5000, Component.PRINCIPAL, installment=c),
        Leg(Account.WRITE_OFF, 5000, Component.PRINCIPAL, installment=c),
    ])  # fmt: skip
    book.events.append(("600001", "01", 2023, "1001", "written_off", D(2025, 3, 15), 5000, ""))
    r = inst("700002")
    post(municipality=city, kind=TxnKind.REFUND, legal_date=D(2025, 3, 20), booking_date=D(2025, 3, 20), legs=[
        Leg(Account.OVERPAYMENT, 5000, installment=r, taxpayer_id=r.taxpayer_id),
        Leg(Account.CASH, -5000, taxpayer_id=r.taxpayer_id),
    ])  # fmt: skip
    book.events.append(("700002", "04", 2024, "1002", "refund", D(2025, 3, 20), 5000, ""))
    bank("700001", 10000, D(2025, 5, 20))  # 出納整理期間: FY2024 現年
    by_hand(Channel.ENFORCEMENT, "700001", 5000, D(2025, 6, 10))  # FY2025 滞納繰越
    bank("800001", 15000, D(2025, 6, 30))  # FY2025 現年
    return book


def test_the_monthly_statement_equals_the_sums_of_the_events(scenario: Book) -> None:
    for month in ("2024-06", "2024-07", "2025-03", "2025-04", "2025-05", "2025-06"):
        first = D(int(month[:4]), int(month[5:]), 1)
        assert statement(month) == expected_statement(scenario, first), month
    # spot values by hand: June 2025, 市民税 滞納繰越 = 2024's 109,000 − 30,000 − 20,000 − 10,000 unpaid
    # (+ 2023's 0 left); received in June: 5,000 (取立)
    june = statement("2025-06")
    assert june[(2025, "01", "arrears")]["opening"] == 49000
    assert june[(2025, "01", "arrears")]["month_paid"] == 5000
    may = statement("2025-05")
    assert may[(2024, "01", "current")]["month_paid"] == 10000  # 出納整理期間, in the old year
    march = statement("2025-03")
    assert march[(2024, "01", "arrears")]["month_written_off"] == 5000
    assert march[(2024, "04", "current")]["month_refunded"] == 5000
    # after the year-ends of 2023 and 2024 the openings come from the closing balances: the same figures
    cmd("year_end", "--fiscal-year", "2023", "--as-of", "2024-06-01")
    cmd("year_end", "--fiscal-year", "2024", "--as-of", "2025-06-01")
    for month in ("2024-06", "2025-03", "2025-06"):
        first = D(int(month[:4]), int(month[5:]), 1)
        assert statement(month) == expected_statement(scenario, first), ("closed", month)


def test_the_statistics_equal_the_sums_of_the_events(scenario: Book) -> None:
    for month in ("2024-06", "2025-06"):
        first = D(int(month[:4]), int(month[5:]), 1)
        d = cmd("statistics", "--month", month)
        assert d["min_persons"] == 1
        # payments by channel: persons and yen
        got = {
            r["key"]: (r["persons"], r["amount"]) for r in d["payments_by_channel"]["rows"] if r["persons"]
        }
        assert got == scenario.channels(first)
        total = d["payments_by_channel"]["total"]
        assert total["amount"] == sum(y for _, y in scenario.channels(first).values())
        # arrears by age band at the month's end
        end = D(first.year, first.month, 30)
        owed = scenario.owed(end)
        bands: dict[str, tuple[set[str], int]] = defaultdict(lambda: (set(), 0))
        for n, (tp, yen) in owed.items():
            due = scenario.due[n]
            years = end.year - due.year - ((end.month, end.day) < (due.month, due.day))
            band = next(k for k, limit in enumerate((1, 2, 3, 5, 10**6)) if years < limit)
            p, y = bands[str(band)]
            bands[str(band)] = (p | {tp}, y + yen)
        got_age = {r["key"]: (r["persons"], r["amount"]) for r in d["arrears_by_age"]["rows"] if r["persons"]}
        assert got_age == {k: (len(p), y) for k, (p, y) in bands.items()}
        assert d["arrears_by_age"]["total"]["amount"] == sum(y for _, y in owed.values())
        # without cases every person in arrears is 「案件なし」
        stage = {r["key"]: (r["persons"], r["amount"]) for r in d["arrears_by_stage"]["rows"] if r["persons"]}
        assert stage == {"none": (len({tp for tp, _ in owed.values()}), sum(y for _, y in owed.values()))}
    # collection rate: the cumulative 収入済額 / 調定額 of June 2025, and June 2024 beside it
    d = cmd("statistics", "--month", "2025-06")
    rows = {(r["tax_item"], r["category"]): r for r in d["collection_rate"]["rows"]}
    exp = scenario.statement(2025, D(2025, 6, 1))
    r = rows[("01", "arrears")]
    assert (r["levied"], r["paid"]) == (exp[("01", "arrears")]["levied"], exp[("01", "arrears")]["paid"])
    assert r["rates"][-1] == r["rate"] and len(r["rates"]) == 3
    prev = scenario.statement(2024, D(2024, 6, 1))[("01", "arrears")]
    assert r["previous_rate"] == f"{prev['paid'] * 100 / prev['levied']:.1f}"
    money = {(r["key"]): r for r in d["refunds_and_write_offs"]}
    assert money["refund"]["amount"] == 0
    d = cmd("statistics", "--month", "2025-03")
    money = {(r["key"]): r for r in d["refunds_and_write_offs"]}
    assert (money["refund"]["persons"], money["refund"]["amount"]) == (1, 5000)
    assert (money["write_off"]["persons"], money["write_off"]["amount"]) == (1, 5000)


def test_the_statement_at_the_closing_of_accounts_equals_the_settlement(scenario: Book) -> None:
    """The 月計表's cumulative figures at 出納整理期間5月 are the year's 決算 (no late posting here)."""
    may = cmd("monthly_statement", "--month", "2025-05")
    sec = next(s for s in may["sections"] if s["fiscal_year"] == 2024)
    got = {(r["tax_item"], r["category"]): r["cumulative"] for r in sec["rows"] if r["category"] != "*"}
    settled = cmd("settlement", "--fiscal-year", "2024")
    rows = [r for r in settled["rows"] if r["category"] != "total"]
    assert {(r["tax_item"], r["category"]) for r in rows} == set(got)
    for r in rows:
        c = got[(r["tax_item"], r["category"])]
        for k in ("opening", "levied", "paid", "written_off", "outstanding", "refund_pending"):
            assert c[k] == r[k], (r["tax_item"], r["category"], k)


def test_arrears_by_the_stage_of_the_case_at_the_month_end(scenario: Book) -> None:
    from datetime import datetime, time

    from django.utils import timezone

    from choshu.cases.models import Case, Stage, StageChange
    from choshu.taxpayers.models import Taxpayer

    city = StatisticsSetting.objects.get().municipality

    def at(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(10)))

    taro = Taxpayer.objects.get(taxpayer_no="1001")
    case = Case.objects.create(municipality=city, taxpayer=taro, stage=Stage.NEGOTIATING, opened_on=D(2025, 1, 10),
                               created_at=at(D(2025, 1, 10)))  # fmt: skip
    StageChange.objects.create(
        case=case, to_stage=Stage.DUNNING, changed_on=D(2025, 1, 10), changed_at=at(D(2025, 1, 10))
    )
    StageChange.objects.create(case=case, from_stage=Stage.DUNNING, to_stage=Stage.NEGOTIATING,
                               changed_on=D(2025, 6, 15), changed_at=at(D(2025, 6, 15)))  # fmt: skip
    for month, stage in (("2025-03", "dunning"), ("2025-06", "negotiating")):
        first = D(int(month[:4]), int(month[5:]), 1)
        end = D(first.year, first.month, 30 if first.month == 6 else 31)
        owed = scenario.owed(end)
        taro_owes = sum(y for tp, y in owed.values() if tp == "1001")
        others = {tp for tp, _ in owed.values() if tp != "1001"}
        d = cmd("statistics", "--month", month)
        got = {r["key"]: (r["persons"], r["amount"]) for r in d["arrears_by_stage"]["rows"] if r["persons"]}
        want = {stage: (1, taro_owes)} if taro_owes else {}
        if others:
            want["none"] = (len(others), sum(y for tp, y in owed.values() if tp != "1001"))
        assert got == want, month
    before = cmd("statistics", "--month", "2024-12")  # before the case was opened: 案件なし
    assert not any(r["persons"] for r in before["arrears_by_stage"]["rows"] if r["key"] != "none")


def _check_no_leak(table: dict[str, Any], minimum: int) -> None:
    cells = [*table["rows"], table["total"]]
    for c in cells:
        assert c["suppressed"] or c["persons"] == 0 or c["persons"] >= minimum, c
    if not table["total"]["suppressed"]:
        hidden = [c for c in table["rows"] if c["suppressed"]]
        assert len(hidden) != 1, "one hidden cell would be the total minus the shown ones"


def test_cells_under_the_minimum_are_suppressed_with_their_complement(scenario: Book) -> None:
    StatisticsSetting.objects.create(
        municipality=StatisticsSetting.objects.get().municipality, valid_from=D(2025, 1, 1), min_persons=2
    )
    d = cmd("statistics", "--month", "2025-06")
    assert d["min_persons"] == 2
    for key in ("payments_by_channel", "arrears_by_age", "arrears_by_stage"):
        _check_no_leak(d[key], 2)
    ch = {r["key"]: r for r in d["payments_by_channel"]["rows"]}
    assert ch["enforcement"]["suppressed"] and ch["enforcement"]["amount"] is None
    for r in d["collection_rate"]["rows"]:
        if r["suppressed"]:
            assert r["levied"] is None and r["paid"] is None and r["rates"] is None
        else:
            assert r["persons"] >= 2
    # the 2-D table: in every item and every category with a shown total, never exactly one hidden cell
    rows = d["collection_rate"]["rows"]
    for i in {r["tax_item"] for r in rows if r["tax_item"] != "*"}:
        line = [r for r in rows if r["tax_item"] == i and r["category"] != "*"]
        tot = next(r for r in rows if r["tax_item"] == i and r["category"] == "*")
        if not tot["suppressed"]:
            assert sum(r["suppressed"] for r in line) != 1
    for c in ("current", "arrears"):
        line = [r for r in rows if r["category"] == c and r["tax_item"] != "*"]
        tot = next(r for r in rows if r["tax_item"] == "*" and r["category"] == c)
        if not tot["suppressed"]:
            assert sum(r["suppressed"] for r in line) != 1
    text = json.dumps(d, ensure_ascii=False)
    assert "秘匿" in text


def test_the_suppression_rule() -> None:
    # one small cell: the next smallest goes with it
    assert suppress({"a": 3, "b": 12, "c": 40, "*": 55}, [("*", ["a", "b", "c"])], 10) == {"a", "b"}
    # a zero cell cannot hide anything: with only zeros beside it, the total goes
    assert suppress({"a": 3, "b": 0, "*": 3}, [("*", ["a", "b"])], 10) == {"a", "b", "*"} - {"b"}
    # two small cells already protect each other
    assert suppress({"a": 3, "b": 4, "c": 40, "*": 47}, [("*", ["a", "b", "c"])], 10) == {"a", "b"}
    # 2-D: hiding in a row propagates to the column
    counts = {("x", "p"): 3, ("x", "q"): 20, ("y", "p"): 30, ("y", "q"): 25,
              ("x", "*"): 23, ("y", "*"): 55, ("*", "p"): 33, ("*", "q"): 45, ("*", "*"): 78}  # fmt: skip
    lines = [(("x", "*"), [("x", "p"), ("x", "q")]), (("y", "*"), [("y", "p"), ("y", "q")]),
             (("*", "p"), [("x", "p"), ("y", "p")]), (("*", "q"), [("x", "q"), ("y", "q")])]  # fmt: skip
    hidden = suppress(counts, lines, 10)
    assert hidden == {("x", "p"), ("x", "q"), ("y", "p"), ("y", "q")}


def test_bad_months_and_municipalities_are_refused(sample_city: Any) -> None:
    for name in ("statistics", "monthly_statement"):
        for bad, message in (("2025-13", "YYYY-MM"), ("202506", "YYYY-MM"), ("2999-01", "範囲外"),
                             ("2099-01", "まだ来ていません")):  # fmt: skip
            with pytest.raises(CommandError, match=message) as exc:
                cmd(name, "--month", bad)
            assert exc.value.returncode == 2
        with pytest.raises(CommandError) as exc:
            cmd(name, "--month", "2025-06", "--municipality", "999999")
        assert exc.value.returncode == 2


def test_the_statement_files(scenario: Book, tmp_path: Any) -> None:
    csv, xlsx = tmp_path / "m.csv", tmp_path / "m.xlsx"
    d = cmd("monthly_statement", "--month", "2025-05", "--csv", str(csv), "--xlsx", str(xlsx))
    lines = csv.read_bytes().decode("cp932").splitlines()
    assert lines[0].startswith("対象年月,会計年度,区分（年度・月）,税目コード,税目,現年・滞納繰越,当月調定額")
    assert any(
        line.startswith("2025-05,2024,2024年度 出納整理期間5月分,01,") and ",10000," in line for line in lines
    )
    ws = load_workbook(io.BytesIO(xlsx.read_bytes())).active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
    assert len(rows) == len(lines) - 1
    assert d["identity_ok"]
    with pytest.raises(CommandError):
        cmd("monthly_statement", "--month", "2025-05", "--csv", str(csv))  # never overwritten
