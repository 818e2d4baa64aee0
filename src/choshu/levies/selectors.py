"""Reads of 調定・期別 and balances derived from the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from django.db.models import Q, Sum

from choshu.core.bulk import id_set
from choshu.core.models import Municipality
from choshu.levies.exemptions import late_charge_exemptions
from choshu.levies.ledger import LEVIED_KINDS, PAID_KINDS
from choshu.levies.models import (
    Account,
    BreakdownSplit,
    Component,
    Installment,
    InstallmentBreakdown,
    LedgerEntry,
)
from choshu.levies.tax_items import catalog, tax_item_name
from choshu.rules.late_charge import Exemption, LateChargeResult, late_charge_as_of, late_charges_as_of
from choshu.rules.parameters import RateNotKnownError


@dataclass(frozen=True)
class ComponentBalance:
    """One component of an installment's breakdown (内訳: 固定資産税/都市計画税 …) as of a date."""

    seq: int
    code: str
    name: str
    levied: int
    paid: int
    outstanding: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "code": self.code,
            "name": self.name,
            "levied": self.levied,
            "paid": self.paid,
            "outstanding": self.outstanding,
        }


@dataclass(frozen=True)
class InstallmentBalance:
    installment_id: int
    tax_item: str
    tax_item_name: str
    levy_year: int
    notice_no: str
    installment_no: int
    due_date: date
    slip_no: str
    principal: int
    principal_paid: int
    principal_outstanding: int
    late_charge_accrued: int | None = None
    components: tuple[ComponentBalance, ...] = ()  # empty: the tax item has no breakdown

    def as_dict(self, *, by_component: bool = False) -> dict[str, Any]:
        extra = {"components": [c.as_dict() for c in self.components]} if by_component else {}
        return {
            "tax_item": self.tax_item,
            "levy_year": self.levy_year,
            "notice_no": self.notice_no,
            "installment_no": self.installment_no,
            "due_date": self.due_date.isoformat(),
            "principal": self.principal,
            "principal_paid": self.principal_paid,
            "principal_outstanding": self.principal_outstanding,
            "late_charge_accrued": self.late_charge_accrued,
            **extra,
        }


def installment_balances(*, taxpayer_ids: list[int], as_of: date) -> list[InstallmentBalance]:
    """Each installment of these taxpayers with principal, paid and outstanding as of ``as_of``.

    Amounts come from the ledger entries, not from the cache. ``principal`` is the levied amount with
    every correction booked so far; ``principal_paid`` counts payments whose legal date (領収日) is on or
    before ``as_of``. An installment with a breakdown carries its components (``components``): each
    one's levied amount, and what its stored splits (``BreakdownSplit``) of movements with a legal date
    on or before ``as_of`` credit it.
    """
    installments = list(
        Installment.objects.filter(taxpayer_id__in=taxpayer_ids)
        .select_related("levy")
        .order_by("levy__tax_item", "levy__levy_year", "levy__notice_no", "installment_no")
    )
    levied_sums: dict[int, int] = defaultdict(int)
    payments: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    rows = (
        LedgerEntry.objects.filter(
            installment__in=[i.pk for i in installments],
            account=Account.RECEIVABLE,
            component=Component.PRINCIPAL,
        )
        .filter(Q(txn__kind__in=LEVIED_KINDS) | Q(txn__kind__in=PAID_KINDS, txn__legal_date__lte=as_of))
        .values("installment_id", "txn__kind", "txn__legal_date")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        if row["txn__kind"] in LEVIED_KINDS:
            levied_sums[row["installment_id"]] += int(row["total"])
        else:
            payments[row["installment_id"]][row["txn__legal_date"]] -= int(row["total"])
    parts = installment_components([i.pk for i in installments], as_of=as_of)
    exempted = late_charge_exemptions(i.pk for i in installments)
    result = []
    for inst in installments:
        levied = levied_sums[inst.pk]
        paid_by_date = payments[inst.pk]
        paid = sum(paid_by_date.values())
        result.append(
            InstallmentBalance(
                installment_id=inst.pk,
                tax_item=inst.levy.tax_item,
                tax_item_name=tax_item_name(inst.municipality_id, inst.levy.tax_item),
                levy_year=inst.levy.levy_year,
                notice_no=inst.levy.notice_no,
                installment_no=inst.installment_no,
                due_date=inst.due_date,
                slip_no=inst.slip_no or "",
                principal=levied,
                principal_paid=paid,
                principal_outstanding=levied - paid,
                # from the day after the 納期限, or the 法定納期限 of a 申告納付 item (law.md §a7)
                late_charge_accrued=_accrued(
                    late_charge_result(
                        levied,
                        inst.late_charge_base_date,
                        as_of,
                        paid_by_date.items(),
                        exempted.get(inst.pk, ()),
                    )
                ),
                components=_named(parts.get(inst.pk, ()), inst.municipality_id, inst.levy.tax_item),
            )
        )
    return result


def installment_components(
    installment_ids: Sequence[int], *, as_of: date
) -> dict[int, tuple[ComponentBalance, ...]]:
    """The breakdown of these installments (those with one): per component its levied amount and the
    sum of its stored splits whose transaction's legal date is on or before ``as_of`` (names empty:
    ``installment_balances`` adds the tax item's)."""
    ids = list(installment_ids)
    rows = list(
        InstallmentBreakdown.objects.filter(installment_id__in=ids)
        .order_by("installment_id", "seq")
        .values_list("installment_id", "seq", "code", "levied")
    )
    if not rows:
        return {}
    paid: dict[tuple[int, str], int] = defaultdict(int)
    splits = (
        BreakdownSplit.objects.filter(installment_id__in={r[0] for r in rows})
        .filter(txn__legal_date__lte=as_of)
        .values("installment_id", "code")
        .annotate(total=Sum("amount"))
    )
    for row in splits:
        paid[(row["installment_id"], row["code"])] += int(row["total"])
    out: dict[int, list[ComponentBalance]] = defaultdict(list)
    for inst_id, seq, code, levied in rows:
        got = paid[(inst_id, code)]
        out[inst_id].append(ComponentBalance(seq, code, "", int(levied), got, int(levied) - got))
    return {k: tuple(v) for k, v in out.items()}


def _named(
    parts: Sequence[ComponentBalance], municipality_id: int, tax_item: str
) -> tuple[ComponentBalance, ...]:
    if not parts:
        return ()
    info = catalog(municipality_id).get(tax_item)
    names = {code: name for _, code, name in info.breakdown} if info is not None else {}
    return tuple(
        ComponentBalance(c.seq, c.code, names.get(c.code, c.code), c.levied, c.paid, c.outstanding)
        for c in parts
    )


@dataclass(frozen=True)
class ComponentTotal:
    """A taxpayer's total of one tax item × component (an item without breakdown is one component, code "")."""

    tax_item: str
    tax_item_name: str
    code: str
    name: str
    levied: int
    paid: int
    outstanding: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def component_totals(rows: Sequence[InstallmentBalance]) -> list[ComponentTotal]:
    """Totals per tax item × component of these installment balances, in tax item and component order."""
    sums: dict[tuple[str, int, str], list[Any]] = {}
    for r in rows:
        parts = r.components or (
            ComponentBalance(0, "", r.tax_item_name, r.principal, r.principal_paid, r.principal_outstanding),
        )
        for c in parts:
            key = (r.tax_item, c.seq, c.code)
            acc = sums.setdefault(key, [r.tax_item_name, c.name, 0, 0, 0])
            acc[2] += c.levied
            acc[3] += c.paid
            acc[4] += c.outstanding
    return [
        ComponentTotal(item, item_name, code, name, levied, paid, outstanding)
        for (item, _, code), (item_name, name, levied, paid, outstanding) in sorted(sums.items())
    ]


@dataclass(frozen=True)
class AmountDue:
    """What one installment owes as of a date (``amounts_due``): 本税 · 延滞金 · 督促手数料 · 合計.

    ``principal_due`` = levied − paid (never below 0; ``principal_outstanding`` keeps the sign);
    ``late_charge_accrued`` is ``rules.late_charge.late_charge_as_of`` (the engine's rule too) up to
    ``late_charge_until`` (``as_of``, or the day the principal payments completed the 本税), from
    the day after ``late_charge_base_date``, with every principal payment (領収日 ≤ ``as_of``)
    reducing the base; ``late_charge_paid`` what payments placed on 延滞金 (``Account.LATE_CHARGE_INCOME``);
    ``late_charge`` = accrued − paid (never below 0), ``None`` when a year's rate is not configured
    yet. ``dunning_fee`` is the unpaid 督促手数料 (``Component.DUNNING_FEE`` receivable; 0 until the
    dunning issue books one). ``total`` = principal_due + late_charge (0 if unknown) + dunning_fee.

    A claim extinguished by prescription on or before ``as_of`` (``extinguished_on``, set by
    ``prescription-run``; 地方税法18条: an extinguished tax cannot be collected) owes nothing: its
    ``principal_due``, ``late_charge``, ``dunning_fee`` and ``total`` are 0 while the ledger figures
    (``principal_outstanding``, ``late_charge_accrued``) still show what was left when it ended, until
    the write-off books it off. The row is kept (callers look installments up by id).
    """

    installment_id: int
    taxpayer_id: int
    tax_item: str
    tax_item_name: str
    levy_year: int
    notice_no: str
    installment_no: int
    due_date: date
    late_charge_base_date: date
    slip_no: str
    as_of: date
    principal: int
    principal_paid: int
    principal_outstanding: int
    principal_due: int
    principal_payments: tuple[tuple[date, int], ...]
    late_charge_until: date
    late_charge_accrued: int | None
    late_charge_paid: int
    late_charge: int | None
    dunning_fee: int
    total: int
    components: tuple[ComponentBalance, ...] = ()
    extinguished_on: date | None = None

    @property
    def late_charge_known(self) -> bool:
        return self.late_charge is not None

    @property
    def late_charge_runs(self) -> bool:
        """Whether a 延滞金 derivation has something to show (the base date has passed)."""
        return self.principal > 0 and self.as_of > self.late_charge_base_date

    def as_dict(self) -> dict[str, Any]:
        return {
            "installment_id": self.installment_id,
            "tax_item": self.tax_item,
            "levy_year": self.levy_year,
            "notice_no": self.notice_no,
            "installment_no": self.installment_no,
            "due_date": self.due_date.isoformat(),
            "as_of": self.as_of.isoformat(),
            "principal_due": self.principal_due,
            "late_charge": self.late_charge,
            "dunning_fee": self.dunning_fee,
            "total": self.total,
        }


# One installment's ledger history as of a date: [levied 本税, principal payments by 領収日 (None: none),
# 延滞金 paid, 督促手数料 outstanding] (lists, not objects: a batch reads tens of thousands per slice).
_History = list[Any]
_Payments = tuple[tuple[date, int], ...]


def _ledger_history(installment_ids: Sequence[int], as_of: date) -> dict[int, _History]:
    """One grouped query over the ledger entries of these installments: levied 本税 (every 調定/更正
    booked so far), principal payments by 領収日, 延滞金 paid and 督促手数料 outstanding as of ``as_of``."""
    found: dict[int, _History] = {i: [0, None, 0, 0] for i in installment_ids}
    if not found:
        return found
    rows = (
        LedgerEntry.objects.filter(installment_id__in=id_set(found))
        .filter(
            Q(account=Account.RECEIVABLE, component=Component.PRINCIPAL, txn__kind__in=LEVIED_KINDS)
            | Q(
                account=Account.RECEIVABLE,
                component=Component.PRINCIPAL,
                txn__kind__in=PAID_KINDS,
                txn__legal_date__lte=as_of,
            )
            | Q(account=Account.LATE_CHARGE_INCOME, txn__legal_date__lte=as_of)
            | Q(account=Account.RECEIVABLE, component=Component.DUNNING_FEE, txn__legal_date__lte=as_of)
        )
        .values_list("installment_id", "account", "component", "txn__kind", "txn__legal_date")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    income, fee_component, levied_kinds = Account.LATE_CHARGE_INCOME, Component.DUNNING_FEE, set(LEVIED_KINDS)
    for inst_id, account, component, kind, legal_date, total in rows:
        h = found[inst_id]
        amount = int(total)
        if account == income:
            h[2] -= amount  # a payment credits the income account
        elif component == fee_component:
            h[3] += amount
        elif kind in levied_kinds:
            h[0] += amount
        else:
            if h[1] is None:
                h[1] = defaultdict(int)
            h[1][legal_date] -= amount
    return found


def late_charge_result(
    principal: int,
    base_date: date,
    as_of: date,
    payments: Iterable[tuple[date, int]],
    exemptions: Sequence[Exemption] = (),
) -> LateChargeResult | None:
    """``rules.late_charge.late_charge_as_of`` for one installment (the derivation the person page
    shows), with its 法15条の9 periods (``levies.exemptions``); ``None`` when a year's rate is not
    configured yet (rules/params)."""
    try:
        return late_charge_as_of(
            principal=principal, base_date=base_date, as_of=as_of, payments=payments, exemptions=exemptions
        )
    except RateNotKnownError:
        return None


def _accrued(result: LateChargeResult | None) -> int | None:
    return None if result is None else result.late_charge


# The installment columns an amount due reads (values, no model instances), and its order.
_DUE_COLUMNS = (
    "pk", "taxpayer_id", "municipality_id", "levy__tax_item", "levy__levy_year", "levy__notice_no",
    "installment_no", "due_date", "late_charge_base_date", "slip_no", "extinguished_on",
)  # fmt: skip
_DUE_ORDER = ("levy__tax_item", "levy__levy_year", "levy__notice_no", "installment_no", "pk")


def _dues(
    taxpayer_ids: Sequence[int] | None,
    as_of: date,
    installment_ids: Sequence[int] | None,
    *,
    by_id: bool = False,
) -> tuple[list[tuple[Any, ...]], dict[int, _History], list[_Payments], list[tuple[date, int | None]]]:
    """The installments (``_DUE_COLUMNS`` in ``_DUE_ORDER``, or by id), their ledger history, their principal
    payments (sorted, non-zero days) and ``(late_charge_until, 延滞金 accrued)`` from one call of
    ``rules.late_charge.late_charges_as_of`` (= ``late_charge_as_of`` of each, ``None``: rate unknown)."""
    qs = Installment.objects.all()
    if taxpayer_ids is not None:
        qs = qs.filter(taxpayer_id__in=list(taxpayer_ids))
    if installment_ids is not None:
        qs = qs.filter(pk__in=id_set(installment_ids))
    if by_id:  # sorted here: the database would sort the rows with their levy's columns (on disk)
        rows = sorted(qs.order_by().values_list(*_DUE_COLUMNS))
    else:
        rows = list(qs.order_by(*_DUE_ORDER).values_list(*_DUE_COLUMNS))
    history = _ledger_history([r[0] for r in rows], as_of)
    payments: list[_Payments] = []
    for r in rows:
        by_day = history[r[0]][1]
        payments.append(tuple(sorted((d, y) for d, y in by_day.items() if y != 0)) if by_day else ())
    charges = late_charges_as_of(
        ((history[r[0]][0], r[8], pays) for r, pays in zip(rows, payments, strict=True)), as_of=as_of
    )
    exempted = late_charge_exemptions(r[0] for r in rows)
    if exempted:  # the few installments under a relief (法15条の9): the rule with their periods
        for n, (r, pays) in enumerate(zip(rows, payments, strict=True)):
            if (periods := exempted.get(r[0])) is not None:
                result = late_charge_result(history[r[0]][0], r[8], as_of, pays, periods)
                charges[n] = (charges[n][0], _accrued(result))
    return rows, history, payments, charges


def amounts_due(
    *,
    taxpayer_ids: Sequence[int],
    as_of: date,
    installment_ids: Sequence[int] | None = None,
    with_components: bool = True,
) -> list[AmountDue]:
    """本税 · 延滞金 · 督促手数料 · 合計 owed on each installment of these taxpayers as of ``as_of``
    (a 計算基準日 or a receipt's 領収日), in tax item, year, notice and installment order.

    A fixed number of queries whatever the number of installments: the installments with their levy
    (as values), one grouped read of their ledger entries, and the breakdowns
    (``installment_components``). ``installment_ids`` narrows the result to those installments (of
    these taxpayers). Reusable by the counter and the slips: the figures equal
    ``rules.late_charge.late_charge_as_of`` for the same dates (computed for all the installments in
    one call of ``late_charges_as_of``), less 延滞金 already paid. ``with_components=False`` leaves
    ``components`` empty (two queries and their rows fewer). A batch that needs only the amounts uses
    ``amounts_due_lines`` (the same figures, as tuples).
    """
    rows, history, payments, charges = _dues(taxpayer_ids, as_of, installment_ids)
    parts = installment_components([r[0] for r in rows], as_of=as_of) if with_components else {}
    out: list[AmountDue] = []
    for r, pays, (until, accrued) in zip(rows, payments, charges, strict=True):
        (
            pk,
            taxpayer_id,
            municipality_id,
            tax_item,
            levy_year,
            notice_no,
            no,
            due_date,
            base_date,
            slip,
            ended,
        ) = r
        levied, _, late_charge_paid, fee_booked = history[pk]
        paid = sum(y for _, y in pays)
        outstanding = levied - paid
        charge = None if accrued is None else max(0, accrued - late_charge_paid)
        principal_due = max(0, outstanding)
        fee = max(0, fee_booked)
        if ended is not None and ended <= as_of:  # 時効: nothing can be collected (the docstring)
            principal_due, charge, fee = 0, (None if charge is None else 0), 0
        out.append(
            AmountDue(
                installment_id=pk,
                taxpayer_id=taxpayer_id,
                tax_item=tax_item,
                tax_item_name=tax_item_name(municipality_id, tax_item),
                levy_year=levy_year,
                notice_no=notice_no,
                installment_no=no,
                due_date=due_date,
                late_charge_base_date=base_date,
                slip_no=slip or "",
                as_of=as_of,
                principal=levied,
                principal_paid=paid,
                principal_outstanding=outstanding,
                principal_due=principal_due,
                principal_payments=pays,
                late_charge_until=until,
                late_charge_accrued=accrued,
                late_charge_paid=late_charge_paid,
                late_charge=charge,
                dunning_fee=fee,
                total=principal_due + (charge or 0) + fee,
                components=_named(parts.get(pk, ()), municipality_id, tax_item),
                extinguished_on=ended,
            )
        )
    return out


class DueLine(NamedTuple):
    """``AmountDue``'s figures a batch writes (``amounts_due_lines``): the same values, as a tuple."""

    installment_id: int
    taxpayer_id: int
    tax_item: str
    due_date: date
    principal_due: int
    late_charge: int | None
    dunning_fee: int


def amounts_due_lines(*, installment_ids: Sequence[int], as_of: date) -> list[DueLine]:
    """``amounts_due``'s 本税 (``principal_due``), 延滞金 (``late_charge``) and 督促手数料 of these
    installments as of ``as_of``, by installment id: the batch path (the dunning run) — the same reads
    and the same one call of the rule, without the per-installment objects.
    The ids go to the database as one array (``core.bulk.id_set``): a slice of tens of thousands of
    installments sends no list of placeholders to build, split and parse, twice."""
    rows, history, payments, charges = _dues(None, as_of, installment_ids, by_id=True)
    out: list[DueLine] = []
    append = out.append
    for r, pays, (_, accrued) in zip(rows, payments, charges, strict=True):
        levied, _, late_charge_paid, fee = history[r[0]]
        paid = sum(y for _, y in pays) if pays else 0
        charge = None if accrued is None else max(0, accrued - late_charge_paid)
        if r[10] is not None and r[10] <= as_of:  # 時効 (``AmountDue``): nothing can be collected
            append(DueLine(r[0], r[1], r[3], r[7], 0, None if charge is None else 0, 0))
            continue
        append(DueLine(r[0], r[1], r[3], r[7], max(0, levied - paid), charge, max(0, fee)))
    return out


def overpayment_balance(*, municipality: Municipality, taxpayer_ids: Sequence[int]) -> int:
    """過誤納金残高 in yen (positive): overpayments held for these 宛名 less what was refunded or used.

    An overpayment is a credit on the ``overpayment`` account, so the balance is minus the sum.
    """
    total = LedgerEntry.objects.filter(
        municipality=municipality, account=Account.OVERPAYMENT, taxpayer_id__in=list(taxpayer_ids)
    ).aggregate(total=Sum("amount"))["total"]
    return -int(total or 0)
