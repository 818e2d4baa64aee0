"""Balances by component (``choshu balances --by-component``; the person page: web/tests/test_overview.py):
every component's paid amount equals what the rule gives for the payments made up to the reference date,
computed here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from choshu.audit.models import AuditLog
from choshu.levies.ledger import Leg, post
from choshu.levies.models import Account, Component, Installment, Levy, TxnKind
from choshu.levies.tests.test_breakdown_ledger import FIXED, give_breakdown
from choshu.levies.tests.test_verify_incremental import pay
from choshu.receipts.tests.test_import_payments import cmd, verify_ok
from choshu.rules.breakdown import split_paid
from choshu.taxpayers.models import Taxpayer

CORPORATE = [("per_capita", 50000), ("corporate_tax", 20000)]  # 均等割 / 法人税割 of the 70,000 yen levy
NHI = [("medical", 21000), ("support", 7000), ("care", 5001)]  # 国保 医療 / 支援 / 介護 of 33,001 yen


def nhi_installment(municipality: Any, taxpayer_no: str) -> Installment:
    """A 国民健康保険税 levy of one installment, booked through the ledger (the levy feed of this branch
    does not carry 07 yet)."""
    tp = Taxpayer.objects.get(municipality=municipality, taxpayer_no=taxpayer_no)
    levy = Levy.objects.create(
        municipality=municipality,
        taxpayer=tp,
        tax_item="07",
        levy_year=2024,
        relevant_year=2024,
        notice_no="700001",
    )
    inst = Installment.objects.create(
        municipality=municipality, levy=levy, taxpayer=tp, installment_no=1, due_date=date(2024, 7, 31)
    )
    amount = sum(v for _, v in NHI)
    post(
        municipality=municipality,
        kind=TxnKind.LEVY,
        legal_date=date(2024, 6, 15),
        booking_date=date(2024, 6, 15),
        legs=[
            Leg(Account.RECEIVABLE, amount, Component.PRINCIPAL, inst),
            Leg(Account.LEVIED, -amount, Component.PRINCIPAL, inst),
        ],
    )
    give_breakdown(inst, NHI)
    return inst


def nhi_payment(inst: Installment, amount: int, on: date) -> None:
    post(
        municipality=inst.municipality,
        kind=TxnKind.PAYMENT,
        legal_date=on,
        booking_date=on,
        legs=[
            Leg(Account.CASH, amount, taxpayer_id=inst.taxpayer_id),
            Leg(
                Account.RECEIVABLE,
                -amount,
                Component.PRINCIPAL,
                installment_id=inst.pk,
                taxpayer_id=inst.taxpayer_id,
            ),
        ],
    )


def by_component(no: str, as_of: str) -> dict[str, Any]:
    return cmd("balances", "--taxpayer", no, "--as-of", as_of, "--by-component")


def expected(parts: list[tuple[str, int]], paid: int) -> list[tuple[str, int, int, int]]:
    split = split_paid(paid, [v for _, v in parts])
    return [(code, levied, got, levied - got) for (code, levied), got in zip(parts, split, strict=True)]


def rows(installment: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [(c["code"], c["levied"], c["paid"], c["outstanding"]) for c in installment["components"]]


def test_balances_by_component_equal_the_rule_applied_outside(sample_city: Any, write_csv: Callable) -> None:
    give_breakdown(Installment.objects.get(levy__notice_no="400001"), FIXED)
    give_breakdown(Installment.objects.get(levy__notice_no="300001"), CORPORATE)
    nhi = nhi_installment(sample_city, "1001")
    pay(write_csv, [("400001", 3333, "2024-04-10"), ("300001", 12345, "2024-05-20")])
    pay(write_csv, [("400001", 4444, "2024-05-10"), ("300001", 30001, "2024-06-20")])
    nhi_payment(nhi, 10000, date(2024, 7, 10))
    nhi_payment(nhi, 9999, date(2024, 8, 10))

    taro = by_component("1001", "2024-07-31")  # the second 国保 payment is after the reference date
    by_item = {i["tax_item"]: i for i in taro["installments"] if i["installment_no"] == 1}
    assert rows(by_item["04"]) == expected(FIXED, 3333 + 4444)
    assert rows(by_item["07"]) == expected(NHI, 10000)
    assert by_item["01"]["components"] == []  # 個人住民税: no breakdown
    assert [c["name"] for c in by_item["04"]["components"]] == ["固定資産税", "都市計画税"]
    assert [c["name"] for c in by_item["07"]["components"]] == [
        "基礎課税額(医療分)",
        "後期高齢者支援金等課税額",
        "介護納付金課税額",
    ]
    totals = {
        (t["tax_item"], t["code"]): (t["levied"], t["paid"], t["outstanding"]) for t in taro["by_component"]
    }
    fixed = dict((c, (lv, p, o)) for c, lv, p, o in expected(FIXED, 7777))
    nhi_split = dict((c, (lv, p, o)) for c, lv, p, o in expected(NHI, 10000))
    assert totals == {
        ("01", ""): (59000, 0, 59000),
        ("04", "fixed_asset"): fixed["fixed_asset"],
        ("04", "city_planning"): fixed["city_planning"],
        ("07", "medical"): nhi_split["medical"],
        ("07", "support"): nhi_split["support"],
        ("07", "care"): nhi_split["care"],
    }
    # The components add up to the installment's amounts.
    for item in ("04", "07"):
        comps = by_item[item]["components"]
        assert sum(c["paid"] for c in comps) == by_item[item]["principal_paid"]
        assert sum(c["levied"] for c in comps) == by_item[item]["principal"]

    later = by_component("1001", "2024-12-31")
    nhi_row = next(i for i in later["installments"] if i["tax_item"] == "07")
    assert rows(nhi_row) == expected(NHI, 19999)
    corp = by_component("2001", "2024-05-31")
    assert rows(corp["installments"][0]) == expected(CORPORATE, 12345)
    corp = by_component("2001", "2024-06-30")
    assert rows(corp["installments"][0]) == expected(CORPORATE, 42346)
    # Without --by-component the JSON keeps its shape.
    plain = cmd("balances", "--taxpayer", "1001", "--as-of", "2024-07-31")
    assert "by_component" not in plain and "components" not in plain["installments"][0]
    assert AuditLog.objects.filter(function="期別残高照会(CLI)").count() == 5
    assert verify_ok()
