"""Reads of 調定・期別 and balances derived from the ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from choshu.core.models import Municipality
from choshu.levies.ledger import LEVIED_KINDS, PAID_KINDS
from choshu.levies.models import Account, Component, Installment, LedgerEntry
from choshu.rules.late_charge import compute_late_charge
from choshu.rules.parameters import RateNotKnownError


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

    def as_dict(self) -> dict[str, Any]:
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
        }


def installment_balances(*, taxpayer_ids: list[int], as_of: date) -> list[InstallmentBalance]:
    """Each installment of these taxpayers with principal, paid and outstanding as of ``as_of``.

    Amounts come from the ledger entries, not from the cache. ``principal`` is the levied amount with
    every correction booked so far; ``principal_paid`` counts payments whose legal date (領収日) is on or
    before ``as_of``.
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
    result = []
    for inst in installments:
        levied = levied_sums[inst.pk]
        paid_by_date = payments[inst.pk]
        paid = sum(paid_by_date.values())
        result.append(
            InstallmentBalance(
                installment_id=inst.pk,
                tax_item=inst.levy.tax_item,
                tax_item_name=inst.levy.get_tax_item_display(),
                levy_year=inst.levy.levy_year,
                notice_no=inst.levy.notice_no,
                installment_no=inst.installment_no,
                due_date=inst.due_date,
                slip_no=inst.slip_no or "",
                principal=levied,
                principal_paid=paid,
                principal_outstanding=levied - paid,
                late_charge_accrued=late_charge_as_of(levied, inst.due_date, as_of, paid_by_date),
            )
        )
    return result


def late_charge_as_of(principal: int, due_date: date, as_of: date, paid: dict[date, int]) -> int | None:
    """延滞金 accrued on one installment up to ``as_of`` (or up to its final payment, if paid in full).

    Payments of principal reduce the base for the days after their legal date (rules.late_charge).
    ``None`` when the rate of a year in the period is not configured yet (rules/params).
    """
    if principal <= 0 or as_of <= due_date:
        return 0
    ordered = sorted((d, y) for d, y in paid.items() if y > 0)
    until = as_of
    if sum(y for _, y in ordered) >= principal and ordered:
        until = max(ordered[-1][0], due_date)
    try:
        return compute_late_charge(
            principal=principal, due_date=due_date, until=until, payments=ordered
        ).late_charge
    except RateNotKnownError:
        return None


@dataclass(frozen=True)
class LedgerProblem:
    kind: str
    id: int
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "detail": self.detail}


def ledger_problems(
    *, municipality_id: int | None = None, limit: int = 1000
) -> tuple[dict[str, int], list[LedgerProblem]]:
    """Prove the ledger: every transaction sums to zero and has entries; every cache equals its entries."""
    where_txn = "WHERE t.municipality_id = %s" if municipality_id else ""
    where_inst = "WHERE i.municipality_id = %s" if municipality_id else ""
    params = [municipality_id] if municipality_id else []
    problems: list[LedgerProblem] = []
    levied = ", ".join(f"'{k}'" for k in LEVIED_KINDS)
    paid = ", ".join(f"'{k}'" for k in PAID_KINDS)
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM levies_ledgertransaction t {where_txn}", params)
        n_txn = cur.fetchone()[0]
        cur.execute(
            f"""SELECT t.id, COALESCE(SUM(e.amount), 0), COUNT(e.id)
                FROM levies_ledgertransaction t LEFT JOIN levies_ledgerentry e ON e.txn_id = t.id
                {where_txn} GROUP BY t.id
                HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2
                   OR SUM(CASE WHEN e.municipality_id <> t.municipality_id THEN 1 ELSE 0 END) > 0""",
            params,
        )
        for txn_id, total, count in cur.fetchmany(limit):
            problems.append(LedgerProblem("unbalanced_transaction", txn_id, f"sum={total} entries={count}"))
        cur.execute(f"SELECT COUNT(*) FROM levies_installment i {where_inst}", params)
        n_inst = cur.fetchone()[0]
        cur.execute(
            f"""SELECT i.id, i.principal_levied, i.principal_paid, i.principal_outstanding,
                       COALESCE(s.levied, 0), COALESCE(s.paid, 0), COALESCE(s.total, 0)
                FROM levies_installment i
                LEFT JOIN (
                    SELECT e.installment_id,
                           SUM(CASE WHEN t.kind IN ({levied}) THEN e.amount ELSE 0 END) AS levied,
                           -SUM(CASE WHEN t.kind IN ({paid}) THEN e.amount ELSE 0 END) AS paid,
                           SUM(e.amount) AS total
                    FROM levies_ledgerentry e JOIN levies_ledgertransaction t ON t.id = e.txn_id
                    WHERE e.account = '{Account.RECEIVABLE.value}' AND e.component = '{Component.PRINCIPAL.value}'
                    GROUP BY e.installment_id
                ) s ON s.installment_id = i.id
                {where_inst}
                  {"AND" if where_inst else "WHERE"} (i.principal_levied <> COALESCE(s.levied, 0)
                   OR i.principal_paid <> COALESCE(s.paid, 0)
                   OR i.principal_outstanding <> COALESCE(s.total, 0))""",
            params,
        )
        for iid, c_lev, c_paid, c_out, s_lev, s_paid, s_out in cur.fetchmany(limit - len(problems)):
            problems.append(
                LedgerProblem(
                    "cache_mismatch",
                    iid,
                    f"levied {c_lev}≠{s_lev}"
                    if c_lev != s_lev
                    else f"paid {c_paid}≠{s_paid}"
                    if c_paid != s_paid
                    else f"outstanding {c_out}≠{s_out}",
                )
            )
        problems.extend(_orphans(cur, municipality_id, limit - len(problems)))
    return {"transactions": n_txn, "installments": n_inst}, problems


# References of the bulk tables that the database does not enforce (no FK constraints, see
# ``db_constraint=False`` in the models): proven here instead. (table, column, referenced table).
UNENFORCED_REFERENCES = (
    ("levies_ledgerentry", "txn_id", "levies_ledgertransaction"),
    ("levies_ledgerentry", "installment_id", "levies_installment"),
    ("levies_ledgerentry", "taxpayer_id", "taxpayers_taxpayer"),
    ("levies_ledgerentry", "municipality_id", "core_municipality"),
    ("levies_ledgerentry", "payment_id", "receipts_payment"),
    ("levies_ledgertransaction", "reverses_id", "levies_ledgertransaction"),
    ("levies_ledgertransaction", "municipality_id", "core_municipality"),
    ("levies_ledgertransaction", "job_id", "core_job"),
    ("levies_ledgertransaction", "actor_id", "accounts_user"),
    ("receipts_payment", "txn_id", "levies_ledgertransaction"),
    ("receipts_payment", "reversal_txn_id", "levies_ledgertransaction"),
    ("receipts_payment", "taxpayer_id", "taxpayers_taxpayer"),
    ("receipts_payment", "municipality_id", "core_municipality"),
    ("receipts_payment", "job_id", "core_job"),
)


def _orphans(cur: Any, municipality_id: int | None, limit: int) -> list[LedgerProblem]:
    """Rows whose reference points at nothing (``orphan_reference``: table.column → id)."""
    found: list[LedgerProblem] = []
    for table, column, target in UNENFORCED_REFERENCES:
        if len(found) >= limit:
            break
        where = "AND r.municipality_id = %s" if municipality_id else ""
        cur.execute(
            f"""SELECT r.id, r.{column} FROM {table} r
                WHERE r.{column} IS NOT NULL {where}
                  AND NOT EXISTS (SELECT 1 FROM {target} x WHERE x.id = r.{column})""",  # noqa: S608 - constants
            [municipality_id] if municipality_id else [],
        )
        for row_id, ref in cur.fetchmany(limit - len(found)):
            found.append(LedgerProblem("orphan_reference", row_id, f"{table}.{column} → {ref} がありません"))
    return found


def overpayment_balance(*, municipality: Municipality, taxpayer_ids: Sequence[int]) -> int:
    """過誤納金残高 in yen (positive): overpayments held for these 宛名 less what was refunded or used.

    An overpayment is a credit on the ``overpayment`` account, so the balance is minus the sum.
    """
    total = LedgerEntry.objects.filter(
        municipality=municipality, account=Account.OVERPAYMENT, taxpayer_id__in=list(taxpayer_ids)
    ).aggregate(total=Sum("amount"))["total"]
    return -int(total or 0)
