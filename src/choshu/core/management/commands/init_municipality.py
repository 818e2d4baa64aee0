from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command

from choshu.core.commands import ChoshuCommand
from choshu.core.services import municipality_create


class Command(ChoshuCommand):
    help = "自治体（テナント）を登録する。例: choshu init-municipality --code 112038 --name 川口市"
    uses_municipality = False
    requires_migrated_database = False  # it initialises the database first

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--code", required=True, help="6桁の地方公共団体コード（チェックデジット付き）")
        parser.add_argument("--name", required=True, help="団体名")
        parser.add_argument("--conveni-company-code", default="", help="コンビニ収納 GS1 企業コード(6桁)")
        parser.add_argument("--conveni-client-code", default="", help="コンビニ収納 委託者コード(5桁)")
        parser.add_argument("--eltax-agency-no", default="", help="収納機関番号(5桁)")
        parser.add_argument("--office-name", default="", help="担当課（督促状に印字。例: 川口市 納税課）")
        parser.add_argument("--office-phone", default="", help="担当課の電話番号（督促状に印字）")

    def run(self, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)  # a fresh database: create the tables first
        m = municipality_create(
            code=options["code"],
            name=options["name"],
            conveni_company_code=options["conveni_company_code"],
            conveni_client_code=options["conveni_client_code"],
            eltax_agency_no=options["eltax_agency_no"],
            office_name=options["office_name"],
            office_phone=options["office_phone"],
        )
        self.emit(options, {"municipality": m.code, "name": m.name, "id": m.pk}, f"{m} を登録しました")
