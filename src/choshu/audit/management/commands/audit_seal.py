from __future__ import annotations

from typing import Any

from choshu.audit.checkpoints import checkpoint_path
from choshu.audit.sealing import seal_all
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = (
        "封印待ちの監査ログを団体ごとの連鎖に封印し、署名付きチェックポイントを書き出す"
        "（cron から数分ごとに。バックグラウンドワーカーも同じことをします）"
    )
    uses_municipality = False

    def run(self, **options: Any) -> None:
        results = seal_all(force_checkpoint=True)
        payload = {
            "sealed": sum(r.sealed for r in results),
            "refused": sum(r.refused for r in results),
            "chains": [
                {"chain": r.chain, "sealed": r.sealed, "head_seq": r.head_seq, "busy": r.busy}
                for r in results
            ],
            "checkpoint_file": str(checkpoint_path()),
        }
        human = f"監査ログ {payload['sealed']:,} 件を封印しました（チェックポイント: {checkpoint_path()}）"
        if payload["refused"]:
            human += f"\n警告: 署名の一致しない記録 {payload['refused']:,} 件は封印していません（audit-verify で確認してください）"
        self.emit(options, payload, human)
