"""年度末の締めと繰越 (issue 21 §3): ``choshu year-end --fiscal-year YYYY``.

After the 出納閉鎖 (5月31日, 地方自治法235条の5) the year's settlement figures are stored as
``ClosingBalance`` rows under one ``FiscalYearClose``: 収入未済額 (現年分 and 滞納繰越分 alike) is then
carried into the next year as its 滞納繰越分 調定額 (``opening``), the 還付未済額 likewise. The ledger
is not written: a 繰越 changes no one's receivable, only the year it is reported in (design:
docs/reports.md "Year-end").

- Idempotent: a closed year is reported as such and nothing is written again.
- In order: a year is closed only when the one before it is (except the first close of a
  municipality, whose earlier years are summed from the ledger once).
- Closed means closed: every transaction up to ``through_txn_id`` is in the close; one posted later and
  dated in a closed year is counted in the first open year (``settlement._scan``) — booked in the
  open year, never changing a closed one. The posting itself keeps its dates (the receipts engine
  dates it by its 領収日 and 日計日, facts that are not rewritten).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.levies.models import LedgerTransaction
from choshu.reports.fiscal import closing_day
from choshu.reports.models import ClosingBalance, FiscalYearClose
from choshu.reports.settlement import Settlement, check_year, compute, settlement


@dataclass
class YearEndResult:
    fiscal_year: int
    already: bool
    closed_on: date
    through_txn_id: int
    rows: int
    carried_outstanding: int
    carried_refund_pending: int
    settlement: Settlement

    def as_dict(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "already": self.already,
            "closed_on": self.closed_on.isoformat(),
            "through_txn_id": self.through_txn_id,
            "rows": self.rows,
            "carried_outstanding": self.carried_outstanding,
            "carried_refund_pending": self.carried_refund_pending,
            "identity_ok": not self.settlement.errors,
            "errors": self.settlement.errors,
        }


def _result(close: FiscalYearClose, already: bool) -> YearEndResult:
    s = settlement(close.municipality, close.fiscal_year)
    total = s.totals["total"]
    return YearEndResult(
        fiscal_year=close.fiscal_year, already=already, closed_on=close.closed_on,
        through_txn_id=close.through_txn_id, rows=close.balances.count(),
        carried_outstanding=total.outstanding, carried_refund_pending=total.refund_pending, settlement=s,
    )  # fmt: skip


def year_end(
    *, municipality: Municipality, fiscal_year: int, as_of: date, actor: Any = None
) -> YearEndResult:
    """Close ``fiscal_year`` on ``as_of`` (see module). Refused, with nothing written: before the
    出納閉鎖 has passed, when the year before is open, when the identity does not hold."""
    check_year(fiscal_year)
    existing = FiscalYearClose.objects.filter(municipality=municipality, fiscal_year=fiscal_year).first()
    if existing is not None:
        return _result(existing, already=True)
    if as_of <= closing_day(fiscal_year):
        raise ValidationError(
            f"{fiscal_year}年度はまだ締められません: 出納整理期間（{closing_day(fiscal_year):%Y年%m月%d日}まで、"
            "地方自治法235条の5）の収入がこの年度に入るためです。6月1日以降に実行してください"
        )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # No ledger transaction may commit between the count and the close: an id drawn before
            # ``through_txn_id`` and committed later would be in neither year.
            with connection.cursor() as cur:
                cur.execute("LOCK TABLE levies_ledgertransaction IN SHARE MODE")
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
        if FiscalYearClose.objects.filter(municipality=municipality, fiscal_year=fiscal_year).exists():
            return _result(
                FiscalYearClose.objects.get(municipality=municipality, fiscal_year=fiscal_year), True
            )
        later = FiscalYearClose.objects.filter(municipality=municipality, fiscal_year__gt=fiscal_year).first()
        if later is not None:
            raise ValidationError(f"{later.fiscal_year}年度が締め済みです。それより前の年度は締められません")
        closes = FiscalYearClose.objects.filter(municipality=municipality)
        if closes.exists() and not closes.filter(fiscal_year=fiscal_year - 1).exists():
            raise ValidationError(
                f"{fiscal_year - 1}年度が締められていません。年度は古い順に締めてください"
                f"（choshu year-end --fiscal-year {fiscal_year - 1}）"
            )
        through = LedgerTransaction.objects.filter(municipality=municipality).aggregate(m=Max("id"))["m"] or 0
        figures, _ = compute(municipality, fiscal_year)
        broken = [(k, f) for k, f in figures.items() if f.difference]
        if broken:
            raise ValidationError(
                f"{fiscal_year}年度の数字が恒等式（調定額 − 収入済額 − 不納欠損額 = 収入未済額）を満たさないため"
                f"締められません（{len(broken)} 行）。choshu verify-ledger で元帳を検証してください"
            )
        close = FiscalYearClose.objects.create(
            municipality=municipality, fiscal_year=fiscal_year, closed_on=as_of, through_txn_id=through,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        ClosingBalance.objects.bulk_create(
            ClosingBalance(
                close=close,
                municipality=municipality,
                fiscal_year=fiscal_year,
                tax_item=item,
                category=category,
                opening=f.opening,
                levied=f.levied,
                paid=f.paid,
                written_off=f.written_off,
                outstanding=f.outstanding,
                refund_pending=f.refund_pending,
            )  # fmt: skip
            for (item, category), f in sorted(figures.items())
        )
        result = _result(close, already=False)
        audit_record(
            kind=AuditKind.BATCH,
            function="年度末の締め・繰越",
            municipality=municipality,
            user=actor if getattr(actor, "is_authenticated", False) else None,
            detail={
                "fiscal_year": fiscal_year,
                "rows": result.rows,
                "carried_outstanding": result.carried_outstanding,
            },  # fmt: skip
        )
    return result
