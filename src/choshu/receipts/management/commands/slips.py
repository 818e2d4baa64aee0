from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.commands import EXIT_REFUSED, ChoshuCommand
from choshu.receipts.slips import taxpayer_slips
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.numbering import taxpayer_no_for_search


class Command(ChoshuCommand):
    help = "宛名の納付書（納付番号・確認番号・バーコード・eL番号・OCR 下段）を一覧する"

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--taxpayer", required=True, metavar="NO")

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        tp = Taxpayer.objects.filter(
            municipality=municipality, taxpayer_no=taxpayer_no_for_search(municipality, options["taxpayer"])
        ).first()
        if tp is None:
            raise CommandError(
                f"宛名番号 {options['taxpayer']} は登録されていません", returncode=EXIT_REFUSED
            )
        slips = taxpayer_slips(municipality, tp.pk)
        audit_record(
            kind=AuditKind.ACCESS,
            function="納付書照会(CLI)",
            municipality=municipality,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[tp.pk],
            detail={"slips": len(slips)},
        )
        self.emit(
            options,
            {"taxpayer": tp.taxpayer_no, "slips": [s.as_dict() for s in slips]},
            "\n".join(f"{s.slip_no} 確認{s.confirmation_no} {s.amount:,}円 {s.barcode}" for s in slips),
        )
