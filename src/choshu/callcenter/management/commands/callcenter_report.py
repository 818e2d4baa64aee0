from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.callcenter.export import parse_month
from choshu.callcenter.management.commands._common import operator, refused
from choshu.callcenter.report import FUNCTION, month_report
from choshu.core.commands import ChoshuCommand


class Command(ChoshuCommand):
    help = "納税催告センターの月次報告: 対象者・架電・接触・納付約束・架電から30日以内の納付（元帳）をオペレーター別に出す"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="対象年月")
        parser.add_argument("--operator", metavar="USERNAME", help="実行する職員の利用者ID（記録用）")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        try:
            month = parse_month(options["month"])[0]
        except ValidationError as exc:
            raise refused(" ".join(exc.messages)) from exc
        r = month_report(municipality, month)
        d = r.as_dict()
        audit_record(kind=AuditKind.EXPORT, function=FUNCTION, municipality=municipality,
                     user=operator(options, municipality), detail={"month": month, "targets": r.targets})  # fmt: skip
        lines = [f"{month}: 対象者 {r.targets:,} 人"]
        for line in [*r.by_operator, r.total]:
            lines.append(f"  {line.operator}: 架電 {line.calls:,} 件・{line.called:,} 人、接触 {line.reached:,} 人、"
                         f"納付約束 {line.promised:,} 人（{line.promised_amount:,} 円）、30日以内の納付 {line.paid_within_30_days:,} 人")  # fmt: skip
        self.emit(options, d, "\n".join(lines))
