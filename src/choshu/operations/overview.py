"""個人別収納状況照会: everything the overview screen shows about one person — the 宛名 and its 名寄せ
links (taxpayers), every levy with its balances (levies) and the payments (receipts).

It reads three apps, so it sits above them all; the one-app reads it is made of stay in their apps
(``taxpayers.selectors``, ``levies.selectors``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Sum
from django.http import Http404
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right
from choshu.dunning.selectors import InstallmentMark, installment_marks
from choshu.formats.related_csv import ALL_ITEMS
from choshu.levies.models import Levy
from choshu.levies.selectors import AmountDue, amounts_due, overpayment_balance
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.models import Payment
from choshu.refunds.models import Overpayment
from choshu.refunds.selectors import person_overpayments
from choshu.taxpayers.crypto import mask_my_number
from choshu.taxpayers.models import MailingAddress, Representative, Taxpayer
from choshu.taxpayers.protection import shown_mailing_address
from choshu.taxpayers.related import CollectorRole, RelatedRecords, related_records
from choshu.taxpayers.selectors import (
    LinkedIdentity,
    RevisionRow,
    linked_identities,
    require_right,
    revision_rows,
)


@dataclass(frozen=True)
class Amounts:
    """調定額・収納額・未納額 (本税) and what is owed as of the 計算基準日 (本税 · 延滞金 · 督促手数料 ·
    合計) of a set of installments, in yen. ``late_charge_unknown``: some 延滞金 could not be computed
    (a year's rate is not configured yet) and is left out of the sums."""

    levied: int = 0
    paid: int = 0
    outstanding: int = 0
    principal_due: int = 0
    late_charge: int = 0
    dunning_fee: int = 0
    total: int = 0
    late_charge_unknown: bool = False

    @classmethod
    def of(cls, rows: Iterable[AmountDue]) -> Amounts:
        rows = list(rows)
        return cls(
            levied=sum(r.principal for r in rows),
            paid=sum(r.principal_paid for r in rows),
            outstanding=sum(r.principal_outstanding for r in rows),
            principal_due=sum(r.principal_due for r in rows),
            late_charge=sum(r.late_charge or 0 for r in rows),
            dunning_fee=sum(r.dunning_fee for r in rows),
            total=sum(r.total for r in rows),
            late_charge_unknown=any(r.late_charge is None for r in rows),
        )


@dataclass(frozen=True)
class InstallmentRow:
    """One 期別 line of the overview, with the 宛名番号 it is booked to (see 名寄せ)."""

    taxpayer_no: str
    balance: AmountDue
    mark: InstallmentMark | None = None  # 督促 date, 督促停止 in force (dunning.selectors)


@dataclass(frozen=True)
class YearGroup:
    """All installments of one tax item and one 賦課年度, with their subtotal."""

    levy_year: int
    rows: list[InstallmentRow]
    totals: Amounts

    @property
    def table_rows(self) -> int:
        """The screen's lines of the year: each installment and, under it, each of its components."""
        return sum(1 + len(r.balance.components) for r in self.rows)


@dataclass(frozen=True)
class TaxItemGroup:
    """One 税目 of the person, year by year, with its subtotal."""

    tax_item: str
    tax_item_name: str
    years: list[YearGroup]
    totals: Amounts


@dataclass(frozen=True)
class Overview:
    """Everything the 個人別収納状況照会 screen shows about one person."""

    taxpayer: Taxpayer
    my_number_masked: str
    linked: list[LinkedIdentity]
    tax_items: list[TaxItemGroup]
    totals: Amounts
    revisions: list[RevisionRow]
    payments: list[Payment]
    as_of: date
    subject_ids: list[int] = field(default_factory=list)
    overpayment_balance: int = 0  # 過誤納金残高: held for the person, not yet refunded or appropriated
    # 督促手数料 column: shown only when some installment has one (the dunning issue books them)
    has_dunning_fee: bool = False
    related: RelatedPanel | None = None  # 送付先・代理人・共有・相続人・特別徴収 (issue 12 §4)
    overpayments: list[Overpayment] = field(default_factory=list)  # 過誤納 → 充当 → 還付 (issue 16 §6)


@dataclass(frozen=True)
class MailingLine:
    """One 送付先 of the person, its tax item named and its address as this user may see it."""

    record: MailingAddress
    tax_item_name: str
    address: str


@dataclass(frozen=True)
class RepresentativeLine:
    record: Representative
    tax_item_name: str


@dataclass(frozen=True)
class CollectorLevy:
    """A levy of a 特別徴収義務者 (by its 指定番号): 賦課年度, 通知書番号, 期数 and 調定額."""

    levy_year: int
    notice_no: str
    tax_item_name: str
    installments: int
    principal: int


@dataclass(frozen=True)
class CollectorLine:
    role: CollectorRole
    levies: list[CollectorLevy]


@dataclass(frozen=True)
class RelatedPanel:
    """What the person page shows of the records about the person (``taxpayers.related``)."""

    records: RelatedRecords
    mailing: list[MailingLine]
    representatives: list[RepresentativeLine]
    represents: list[RepresentativeLine]
    collectors: list[CollectorLine]

    @property
    def is_empty(self) -> bool:
        r = self.records
        return not any((r.mailing, r.representatives, r.represents, r.members, r.memberships, r.heirs,
                        r.inheritances, r.employers, r.collector_roles))  # fmt: skip


def _display_address(user: User, taxpayer: Taxpayer, record: MailingAddress) -> str:
    """A 送付先's address as ``user`` may see it (``taxpayers.protection``: masked while the person's
    支援措置 is active, for anyone without ``PROTECTED_ADDRESS_VIEW``; a matter of today, not of
    ``as_of``)."""
    shown = shown_mailing_address(record, user=user, on=timezone.localdate(), taxpayer=taxpayer)
    if shown.masked:
        return shown.address
    postal = f"〒{shown.postal_code}" if shown.postal_code else ""
    return " ".join(part for part in (postal, shown.address, shown.address_extra) if part)


def _item_name(municipality_id: int, code: str) -> str:
    return "全税目" if code == ALL_ITEMS else tax_item_name(municipality_id, code)


COLLECTOR_LEVIES = 50


def _collector_levies(role: CollectorRole) -> list[CollectorLevy]:
    collector = role.collector
    levies = (
        Levy.objects.filter(
            municipality_id=collector.municipality_id, special_collector_no=collector.designation_no
        )
        .annotate(n=Count("installments"), levied=Sum("installments__principal_levied"))
        .order_by("-levy_year", "notice_no")[:COLLECTOR_LEVIES]
    )
    return [
        CollectorLevy(
            levy_year=levy.levy_year,
            notice_no=levy.notice_no,
            tax_item_name=tax_item_name(levy.municipality_id, levy.tax_item),
            installments=int(levy.n),  # type: ignore[attr-defined]
            principal=int(levy.levied or 0),  # type: ignore[attr-defined]
        )
        for levy in levies
    ]


def related_panel(*, user: User, taxpayer: Taxpayer) -> RelatedPanel:
    """The related records of the person as the page shows them."""
    records = related_records(taxpayer)
    m = taxpayer.municipality_id
    return RelatedPanel(
        records=records,
        mailing=[
            MailingLine(
                record=r, tax_item_name=_item_name(m, r.tax_item), address=_display_address(user, taxpayer, r)
            )
            for r in records.mailing
        ],
        representatives=[RepresentativeLine(r, _item_name(m, r.tax_item)) for r in records.representatives],
        represents=[RepresentativeLine(r, _item_name(m, r.tax_item)) for r in records.represents],
        collectors=[CollectorLine(role, _collector_levies(role)) for role in records.collector_roles],
    )


def group_balances(rows: Sequence[InstallmentRow]) -> list[TaxItemGroup]:
    """Group 期別 lines by 税目, then by 賦課年度 (newest year first), with subtotals at both levels."""
    by_item: dict[str, dict[int, list[InstallmentRow]]] = {}
    names: dict[str, str] = {}
    for row in rows:
        by_item.setdefault(row.balance.tax_item, {}).setdefault(row.balance.levy_year, []).append(row)
        names[row.balance.tax_item] = row.balance.tax_item_name
    groups = []
    for item in sorted(by_item):
        years = [
            YearGroup(levy_year=year, rows=_sorted_rows(lines), totals=Amounts.of(r.balance for r in lines))
            for year, lines in sorted(by_item[item].items(), reverse=True)
        ]
        all_rows = [r.balance for y in years for r in y.rows]
        groups.append(
            TaxItemGroup(tax_item=item, tax_item_name=names[item], years=years, totals=Amounts.of(all_rows))
        )
    return groups


def _sorted_rows(rows: list[InstallmentRow]) -> list[InstallmentRow]:
    return sorted(rows, key=lambda r: (r.balance.notice_no, r.balance.installment_no, r.taxpayer_no))


def person_overview(*, user: User, taxpayer: Taxpayer, as_of: date) -> Overview:
    """個人別収納状況照会: the person, linked identities, every levy with balances, 履歴 and payments.

    Levies of linked identities (名寄せ) are included, each line showing the 宛名番号 it is booked to.
    Amounts are as of ``as_of`` (the 計算基準日; the screen passes today in Japan unless the clerk
    chose another): 本税 and, per installment, 延滞金 and 督促手数料 owed then
    (``levies.selectors.amounts_due``: one read of all the people's installments and their ledger).
    """
    municipality = require_right(user, Right.TAXPAYER_VIEW)
    if taxpayer.municipality_id != municipality.pk:
        raise Http404("指定された宛名は見つかりません。")
    linked = linked_identities(municipality=municipality, taxpayer=taxpayer)
    people = [taxpayer, *(link.taxpayer for link in linked)]
    people_ids = [p.pk for p in people]
    numbers = {p.pk: p.taxpayer_no for p in people}
    dues = amounts_due(taxpayer_ids=people_ids, as_of=as_of)
    marks = installment_marks([due.installment_id for due in dues], on=as_of)
    rows = [
        InstallmentRow(taxpayer_no=numbers[due.taxpayer_id], balance=due, mark=marks.get(due.installment_id))
        for due in dues
    ]
    related = related_panel(user=user, taxpayer=taxpayer)
    shown = [p.pk for p in related.records.people if p.pk not in people_ids]
    payments = list(
        Payment.objects.filter(municipality=municipality, taxpayer_id__in=people_ids).order_by(
            "-paid_on", "-pk"
        )
    )
    return Overview(
        taxpayer=taxpayer,
        my_number_masked=mask_my_number(taxpayer.has_my_number),
        linked=linked,
        tax_items=group_balances(rows),
        totals=Amounts.of(r.balance for r in rows),
        revisions=revision_rows(taxpayer),
        payments=payments,
        as_of=as_of,
        subject_ids=[*people_ids, *shown],
        overpayment_balance=overpayment_balance(municipality=municipality, taxpayer_ids=people_ids),
        related=related,
        has_dunning_fee=any(r.balance.dunning_fee for r in rows),
        overpayments=person_overpayments(taxpayer_ids=people_ids),
    )
