from __future__ import annotations

import base64
import sys
from argparse import ArgumentParser
from typing import Any

from choshu.audit.checkpoints import checkpoint_path
from choshu.audit.keys import key_id, public_key_bytes
from choshu.audit.selectors import audit_chain_verify
from choshu.core.commands import ChoshuCommand
from choshu.core.models import Municipality


class Command(ChoshuCommand):
    help = (
        "監査ログを検証する: 記録の署名、団体ごとの封印の連鎖、対象者索引、署名付きチェックポイント"
        "（改ざん・挿入・削除を検出したら終了コード1）"
    )
    uses_municipality = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--public-key",
            action="store_true",
            help="チェックポイント署名の公開鍵（base64）を表示して終了する（外部の検証者に渡す）",
        )

    def run(self, **options: Any) -> None:
        if options.get("public_key"):
            key = base64.b64encode(public_key_bytes()).decode()
            self.emit(options, {"key_id": key_id(), "public_key": key}, f"{key_id()} {key}")
            return
        report = audit_chain_verify()
        payload = {**report.as_dict(), "checkpoint_file": str(checkpoint_path())}
        if report.ok:
            lines = [f"監査ログ {report.records:,} 件: 改ざん・削除は検出されませんでした"]
            names = {m.pk: f"{m.name}（{m.code}）" for m in Municipality.objects.all()}
            for c in report.chains:
                lines.append(
                    f"  {names.get(c.chain, '団体のない記録')}: 封印済み {c.sealed:,} 件（{c.start_seq}〜{c.head_seq}番）"
                    f" 封印待ち {c.pending:,} 件"
                    + (f"（最古 {c.lag_seconds(report.checked_at)} 秒前）" if c.pending else "")
                    + f" チェックポイント {c.checkpoint_size or 0:,} 件目まで"
                )
            human = "\n".join(lines)
        else:
            human = "\n".join(f"#{p.id}: {p.problem}" if p.id else p.problem for p in report.problems)
        self.emit(options, payload, human)
        if not report.ok:
            sys.exit(1)
