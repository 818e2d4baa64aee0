"""The person page lists the person's 督促状 (発付日, 税目, 期別, 指定期限, 手数料) and 督促停止 (issue 15 §7),
with the 時効 renewed by the 督促 (rules.prescription)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse

from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import SuppressionReason
from choshu.dunning.selectors import dunning_history
from choshu.dunning.services import dunning_fee_set, dunning_run, suppression_add
from choshu.levies.models import Installment
from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind, compute_extinguishment

D = date


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _dun(city: Any, clerk: Any) -> None:
    dunning_fee_set(actor=None, municipality=city, valid_from=D(2024, 4, 1), yen=100, source="条例")
    suppression_add(
        actor=clerk,
        installment=Installment.objects.get(levy__notice_no="400001"),
        reason=SuppressionReason.BANKRUPTCY,
        start=D(2024, 7, 1),
        note="破産手続開始決定",
    )
    dunning_run(municipality=city, as_of=D(2024, 7, 15), today=D(2024, 7, 15))


def test_the_person_page_lists_notices_and_suppressions(
    clerk_client: Client, clerk: Any, taxpayer: Any, sample_city: Any
) -> None:
    _dun(sample_city, clerk)
    response = clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert "督促状" in text and "督促停止" in text
    # 発付日 R6.7.15, 指定期限 R6.7.25, 差押可能日 R6.7.26, 手数料 100
    row = re.search(
        r"R6\.7\.15 個人住民税\(普通徴収\) 2024年度 第1期 R6\.7\.25 R6\.7\.26 30,000 0 100 30,100 8\d{15} R11\.7\.25",
        text,
    )
    assert row is not None, text
    assert re.search(
        r"固定資産税・都市計画税 2024年度 第1期 破産手続中 R6\.7\.1 〜 停止中 破産手続開始決定", text
    ), text
    log = AuditLog.objects.filter(kind=AuditKind.ACCESS).order_by("-id").first()
    assert log is not None and taxpayer.pk in log.subject_ids


def test_a_person_without_notices_says_so(clerk_client: Client, taxpayer: Any) -> None:
    text = _text(clerk_client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk])).content.decode())
    assert "督促状の発付記録はありません。" in text and "督促停止の記録はありません。" in text


def test_the_dunning_date_renews_prescription(clerk: Any, taxpayer: Any, sample_city: Any) -> None:
    _dun(sample_city, clerk)
    history = dunning_history(taxpayer, on=D(2024, 7, 15))
    [row] = [r for r in history.notices if r.notice.tax_item == "01"]
    [line] = row.lines
    expected = compute_extinguishment(
        statutory_due_date=D(2024, 7, 1),
        events=[PrescriptionEvent(PrescriptionEventKind.DUNNING, D(2024, 7, 15))],
    )
    assert line.prescription == expected
    # the new period runs from the 11th day after the issue: 2024-07-26 → completes 2029-07-25
    assert line.prescription.prescription_completes_on == D(2029, 7, 25)
    without = compute_extinguishment(statutory_due_date=D(2024, 7, 1))
    assert without.prescription_completes_on == D(2029, 7, 1)


def test_the_installment_line_shows_its_dunning_date_and_a_suppression_in_force(
    clerk_client: Client, clerk: Any, taxpayer: Any, sample_city: Any
) -> None:
    _dun(sample_city, clerk)
    url = reverse("web:taxpayer-overview", args=[taxpayer.pk])
    text = _text(clerk_client.get(url, {"as_of": "2024-07-20"}).content.decode())
    assert re.search(r"100001 第1期 督促 R6\.7\.15 R6\.7\.1 30,000", text), text
    assert re.search(r"400001 第1期 督促停止（破産手続中） R6\.4\.30 12,000", text), text
    before = _text(clerk_client.get(url, {"as_of": "2024-06-30"}).content.decode())
    assert (
        "100001 第1期 R6.7.1" in before and "督促停止（破産手続中）" not in before.split("督促状 発付日")[0]
    )
