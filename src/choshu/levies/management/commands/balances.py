from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.levies.selectors import component_totals, installment_balances
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.numbering import taxpayer_no_for_search


class Command(ChoshuCommand):
    help = "宛名番号ごとの期別残高（指定日現在）を表示する"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--taxpayer", required=True, metavar="NO", help="宛名番号")
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--by-component",
            action="store_true",
            help="内訳（固定資産税/都市計画税、均等割/法人税割、国保 医療/支援/介護）ごとの調定・収納・未納も表示する",
        )

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        try:
            as_of = date.fromisoformat(options["as_of"])
        except ValueError as exc:
            raise CommandError(
                f"--as-of の日付が不正です: {options['as_of']}", returncode=EXIT_REFUSED
            ) from exc
        tp = Taxpayer.objects.filter(
            municipality=municipality, taxpayer_no=taxpayer_no_for_search(municipality, options["taxpayer"])
        ).first()
        if tp is None:
            raise CommandError(
                f"宛名番号 {options['taxpayer']} は登録されていません", returncode=EXIT_REFUSED
            )
        rows = installment_balances(taxpayer_ids=[tp.pk], as_of=as_of)
        audit_record(
            kind=AuditKind.ACCESS,
            function="期別残高照会(CLI)",
            municipality=municipality,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[tp.pk],
            detail={"as_of": as_of.isoformat(), "by_component": bool(options.get("by_component"))},
        )
        by_component = bool(options.get("by_component"))
        payload = {
            "taxpayer": tp.taxpayer_no,
            "as_of": as_of.isoformat(),
            "installments": [r.as_dict(by_component=by_component) for r in rows],
            "totals": {
                "principal": sum(r.principal for r in rows),
                "principal_paid": sum(r.principal_paid for r in rows),
                "principal_outstanding": sum(r.principal_outstanding for r in rows),
                "late_charge_accrued": sum(r.late_charge_accrued or 0 for r in rows),
            },
        }
        lines = [f"{tp.taxpayer_no} {as_of} 現在"]
        for r in rows:
            lines.append(
                f"{r.tax_item_name} {r.levy_year} {r.notice_no} 第{r.installment_no}期 {r.due_date} "
                f"本税{r.principal:,} 収納{r.principal_paid:,} 未納{r.principal_outstanding:,}"
            )
            if by_component:
                lines += [
                    f"  うち{c.name} 調定{c.levied:,} 収納{c.paid:,} 未納{c.outstanding:,}"
                    for c in r.components
                ]
        if by_component:
            totals = component_totals(rows)
            payload["by_component"] = [t.as_dict() for t in totals]
            lines.append("税目・内訳別")
            lines += [
                f"  {t.tax_item_name}{'／' + t.name if t.code else ''} 調定{t.levied:,} 収納{t.paid:,} 未納{t.outstanding:,}"
                for t in totals
            ]
        self.emit(options, payload, "\n".join(lines))
