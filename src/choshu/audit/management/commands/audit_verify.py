from __future__ import annotations

import sys
from typing import Any

from choshu.audit.selectors import audit_chain_verify
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = "監査ログのハッシュ連鎖を検証する（改ざん・削除を検出したら終了コード1）"
    uses_municipality = False

    def run(self, **options: Any) -> None:
        report = audit_chain_verify()
        human = (
            f"監査ログ {report.records:,} 件: 改ざんは検出されませんでした（先頭ハッシュ {report.head_hash}）"
            if report.ok
            else "\n".join(f"#{p.id}: {p.problem}" for p in report.problems)
        )
        self.emit(options, report.as_dict(), human)
        if not report.ok:
            sys.exit(1)
