from __future__ import annotations

import sys
from typing import Any

from choshu.core.bulk import analyze
from choshu.core.commands import ChoshuCommand
from choshu.levies.models import Installment, LedgerEntry, LedgerTransaction
from choshu.levies.selectors import ledger_problems
from choshu.receipts.models import Payment
from choshu.receipts.services import payment_totals_problems


class Command(ChoshuCommand):
    help = (
        "元帳を検証する: 全取引の貸借一致、期別の残高キャッシュ＝明細の合計、"
        "収納ごとに 充当＋過誤納＋未消込＝金額（不一致なら終了コード1）"
    )

    def run(self, **options: Any) -> None:
        code = options.get("municipality")
        municipality_id = self.municipality(options).pk if code else None
        # Fresh planner statistics first: after a large import the whole-table checks below would
        # otherwise be planned as nested loops over millions of rows (PostgreSQL; no-op on SQLite).
        analyze(LedgerTransaction, LedgerEntry, Installment, Payment)
        counts, found = ledger_problems(municipality_id=municipality_id)
        problems = [p.as_dict() for p in found] + payment_totals_problems(municipality_id)
        payload = {"ok": not problems, **counts, "problems": problems}
        human = "元帳は一致しています" if not problems else f"不一致 {len(problems)} 件"
        self.emit(
            options,
            payload,
            human + f"（取引 {counts['transactions']} 件, 期別 {counts['installments']} 件）",
        )
        if problems:
            sys.exit(1)
