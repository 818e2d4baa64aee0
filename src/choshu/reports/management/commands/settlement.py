from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.commands import ChoshuCommand
from choshu.core.outfiles import check_out, output_file
from choshu.reports.exports import settlement_csv, settlement_xlsx
from choshu.reports.settlement import settlement


class Command(ChoshuCommand):
    help = (
        "決算: 会計年度の税目別・現年課税分／滞納繰越分の調定額・収入済額・不納欠損額・収入未済額・還付未済額・"
        "収納率（本税）を元帳から集計する。出納整理期間（翌年5月31日まで）の現年分の収入はその年度に入る。"
        "--csv / --xlsx で会計課向けのファイルを出力する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--fiscal-year", required=True, type=int, metavar="YYYY", help="会計年度（西暦）")
        parser.add_argument(
            "--csv", metavar="PATH", help="CSV（CP932）の出力先（既存のファイルは上書きしない）"
        )
        parser.add_argument(
            "--xlsx", metavar="PATH", help="Excel（xlsx）の出力先（既存のファイルは上書きしない）"
        )

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        outs = [(Path(p), fn) for p, fn in ((options.get("csv"), settlement_csv),
                                             (options.get("xlsx"), settlement_xlsx)) if p]  # fmt: skip
        for path, _ in outs:
            check_out(path)
        s = settlement(municipality, options["fiscal_year"])
        for path, render in outs:
            with output_file(path) as f:
                f.write(render(s))
                with transaction.atomic():
                    audit_record(
                        kind=AuditKind.EXPORT, function="決算の出力", municipality=municipality,
                        detail={"fiscal_year": s.fiscal_year, "file": path.name, "sha256": f.sha256},
                    )  # fmt: skip
                    f.publish()
        d = s.as_dict()
        total = s.totals["total"]
        lines = [
            f"{s.fiscal_year}年度 決算（本税）{'締め済み' if s.closed else '未締め'}: 調定額 {total.levied:,} 円、"
            f"収入済額 {total.paid:,} 円、不納欠損額 {total.written_off:,} 円、収入未済額 {total.outstanding:,} 円、"
            f"還付未済額 {total.refund_pending:,} 円、収納率 {total.rate or '－'}％"
        ]
        lines += [f"誤り: {e}" for e in s.errors]
        self.emit(options, d, "\n".join(lines))
        if s.errors:
            raise CommandError("決算の恒等式が成り立たない行があります", returncode=1)
