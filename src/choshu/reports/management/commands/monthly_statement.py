from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.commands import ChoshuCommand
from choshu.core.outfiles import check_out, output_file
from choshu.reports.exports import monthly_statement_csv, monthly_statement_xlsx
from choshu.reports.statistics import monthly_statement, parse_month


class Command(ChoshuCommand):
    help = (
        "月計表: 対象月の税目別・現年課税分／滞納繰越分の当月の調定・更正・収入・還付・不納欠損と年度累計（本税）を"
        "元帳から集計し、恒等式（調定額 − 収入済額 − 不納欠損額 = 収入未済額）を確かめる。4月・5月は前年度の出納整理期間分も。"
        "--csv / --xlsx で会計課向けのファイルを出力する"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="対象年月")
        parser.add_argument(
            "--csv", metavar="PATH", help="CSV（CP932）の出力先（既存のファイルは上書きしない）"
        )
        parser.add_argument(
            "--xlsx", metavar="PATH", help="Excel（xlsx）の出力先（既存のファイルは上書きしない）"
        )

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        month = parse_month(options["month"], timezone.localdate())
        outs = [(Path(p), fn) for p, fn in ((options.get("csv"), monthly_statement_csv),
                                             (options.get("xlsx"), monthly_statement_xlsx)) if p]  # fmt: skip
        for path, _ in outs:
            check_out(path)
        st = monthly_statement(municipality, month)
        for path, render in outs:
            with output_file(path) as f:
                f.write(render(st))
                with transaction.atomic():
                    audit_record(
                        kind=AuditKind.EXPORT, function="月計表の出力", municipality=municipality,
                        detail={"month": f"{month:%Y-%m}", "file": path.name, "sha256": f.sha256},
                    )  # fmt: skip
                    f.publish()
        lines = []
        for sec in st.sections:
            t = sec.total
            if t is not None:
                lines.append(
                    f"月計表 {sec.label}: 当月収入 {t.month.paid:,} 円、調定額累計 {t.cumulative.levied:,} 円、"
                    f"収入済額累計 {t.cumulative.paid:,} 円、収入未済額 {t.cumulative.outstanding:,} 円"
                )
        lines += [f"誤り: {e}" for e in st.errors]
        self.emit(options, st.as_dict(), "\n".join(lines))
        if st.errors:
            raise CommandError("月計表の恒等式が成り立たない行があります", returncode=1)
