from __future__ import annotations

from typing import Any

from choshu.core.commands import ChoshuCommand
from choshu.levies.models import TaxItem


class Command(ChoshuCommand):
    help = "税目マスタ（税目・課税方式・会計内訳）を表示する"

    def run(self, **options: Any) -> None:
        municipality = self.municipality(options)
        items: list[dict[str, Any]] = [
            {
                "code": t.code,
                "name": t.name,
                "short_name": t.short_name,
                "assessment": t.assessment,
                "assessment_name": t.get_assessment_display(),
                "prescription_years": t.prescription_years,
                "statute": t.statute,
                "active": t.is_active,
                "breakdown": [{"seq": b.seq, "code": b.code, "name": b.name} for b in t.breakdowns.all()],
            }
            for t in TaxItem.objects.filter(municipality=municipality).prefetch_related("breakdowns")
        ]
        lines = [
            f"{i['code']} {i['name']}（{i['assessment_name']}）"
            + ("" if i["active"] else " [無効]")
            + (" 内訳: " + "・".join(b["name"] for b in i["breakdown"]) if i["breakdown"] else "")
            for i in items
        ]
        self.emit(options, {"municipality": municipality.code, "tax_items": items}, "\n".join(lines))
