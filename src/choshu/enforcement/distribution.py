"""換価 (公売) and 配当 (issue 19 §3, §5): a sale's proceeds shared among the creditors in their order
(国税徴収法128条〜135条, applied by 地方税法331条6項), the 配当計算書 (131条), our share booked.

The officer gives the proceeds, the other creditors (順位, 名称, 債権の種類, 債権額 — 抵当権者, another
authority's 交付要求…) and our own 順位 and claim (by default what the seizure's installments still owe:
本税 + 督促手数料 + 滞納処分費). ``distribute`` pays the ranks in order, each creditor up to its claim; a rank
shared by several creditors is divided in proportion to their claims (yen floors, the rest to the earliest
listed, 133条2項 as we read it); what is left is the 残余金 for the 滞納者 (129条3項). A 決裁 (action
``distribute``) books our share as a ``Collection`` through the payment engine (channel 滞納処分; 滞納処分費 →
督促手数料 → 本税 → 延滞金) and ends the seizure (the asset is sold: status 解除済, reason 換価済).

The 配当計算書 names the 滞納者 but prints no address (it goes to every creditor; a 支援措置 person's address
can never be on it)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from choshu.accounts.models import User
from choshu.accounts.permissions import Right
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import request_create
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.access import check_case
from choshu.enforcement.models import (
    Collection,
    CollectionStatus,
    Sale,
    SaleMethod,
    Seizure,
    SeizureStatus,
)
from choshu.enforcement.services import _check_actor
from choshu.formats.display import wareki, yen
from choshu.levies.models import Account, Component, LedgerEntry
from choshu.receipts.pdf_font import draw_para, draw_text, new_canvas

OUR_KIND = "地方税（差押）"


def parse_creditors(text: str) -> list[dict[str, Any]]:
    """The other creditors, one a line ``順位:名称:債権の種類:債権額`` (a Japanese error names the line)."""
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.replace("：", ":").split(":")]
        if len(parts) != 4 or not parts[1] or not parts[2]:
            raise ValidationError(f"{n}行目「{line}」: 「順位:名称:債権の種類:債権額」の形で入力してください")
        try:
            rank, claim = int(parts[0]), int(parts[3].replace(",", ""))
        except ValueError:
            raise ValidationError(f"{n}行目「{line}」: 順位と債権額は整数で入力してください") from None
        if rank < 1 or claim <= 0:
            raise ValidationError(f"{n}行目「{line}」: 順位は1以上、債権額は1円以上にしてください")
        out.append({"rank": rank, "name": parts[1][:100], "kind": parts[2][:50], "claim": claim})
    return out


def distribute(proceeds: int, creditors: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Each creditor with its ``amount`` (ranks in order; a shared rank in proportion), and the surplus."""
    rows = [dict(c, amount=0) for c in creditors]
    rest = proceeds
    for rank in sorted({c["rank"] for c in rows}):
        group = [r for r in rows if r["rank"] == rank]
        total = sum(r["claim"] for r in group)
        if total <= rest:
            for r in group:
                r["amount"] = r["claim"]
            rest -= total
            continue
        pool = rest
        for r in group:
            r["amount"] = pool * r["claim"] // total
        left = pool - sum(r["amount"] for r in group)
        for r in group:  # the yen left by the floors, to the earliest listed (never above a claim)
            add = min(left, r["claim"] - r["amount"])
            r["amount"] += add
            left -= add
        rest = 0
    return sorted(rows, key=lambda r: r["rank"]), rest


def our_claim(seizure: Seizure) -> int:
    """What the seizure's installments still owe: 本税 + 督促手数料 + 滞納処分費 (延滞金 not included)."""
    ids = list(seizure.installments.values_list("pk", flat=True))
    fees = LedgerEntry.objects.filter(
        installment_id__in=ids,
        account=Account.RECEIVABLE,
        component__in=[Component.DUNNING_FEE, Component.ENFORCEMENT_COST],
    ).aggregate(t=Sum("amount"))["t"]
    principal = seizure.installments.aggregate(t=Sum("principal_outstanding"))["t"]
    return max(0, int(principal or 0)) + max(0, int(fees or 0))


@transaction.atomic
def sale_request(
    *,
    actor: User,
    seizure: Seizure,
    method: str,
    sold_on: date,
    buyer: str,
    proceeds: int,
    distributed_on: date,
    our_rank: int,
    claim: int | None,
    others: Sequence[dict[str, Any]],
    note: str,
) -> Sale:
    """A sale's result and its distribution, for a second person to approve."""
    _check_actor(actor, seizure.municipality_id)
    s = Seizure.objects.select_for_update().select_related("case", "taxpayer").get(pk=seizure.pk)
    check_case(actor, s.case)
    if s.status != SeizureStatus.ACTIVE:
        raise ValidationError(f"この差押は「{s.get_status_display()}」です（差押中の財産だけ換価できます）")
    if Sale.objects.filter(
        seizure=s, status__in=[CollectionStatus.PENDING, CollectionStatus.BOOKED]
    ).exists():
        raise ValidationError("この差押の換価は既に記録されています（決裁待ちか収納済）")
    if method not in SaleMethod.values:
        raise ValidationError(f"換価の方法 {method!r} は定義されていません")
    if not isinstance(proceeds, int) or isinstance(proceeds, bool) or proceeds <= 0:
        raise ValidationError("換価代金は1円以上の整数で入力してください")
    if sold_on < s.executed_on or distributed_on < sold_on:
        raise ValidationError("換価日は差押日以後、配当日は換価日以後の日付にしてください")
    if not buyer.strip() or not note.strip():
        raise ValidationError("買受人と備考を入力してください")
    if our_rank < 1:
        raise ValidationError("当方の配当順位は1以上にしてください")
    ours_claim = our_claim(s) if claim is None else claim
    if ours_claim <= 0:
        raise ValidationError("当方の債権額がありません（完納なら差押を解除してください）")
    creditors = [*others, {"rank": our_rank, "name": "当方（" + (s.case.municipality.name) + "）", "kind": OUR_KIND,
                           "claim": ours_claim, "ours": True}]  # fmt: skip
    rows, surplus = distribute(proceeds, creditors)
    ours = sum(r["amount"] for r in rows if r.get("ours"))
    sale = Sale.objects.create(
        municipality_id=s.municipality_id, seizure=s, method=method, sold_on=sold_on, buyer=buyer.strip()[:200],
        proceeds=proceeds, creditors=rows, ours=ours, surplus=surplus, distributed_on=distributed_on,
        note=note.strip()[:300], created_by=actor,
    )  # fmt: skip
    sale.request = request_create(
        actor=actor, kind=RequestKind.ENFORCEMENT, reason=note, taxpayer=s.taxpayer, required_right=Right.ENFORCEMENT,
        payload={"action": "distribute", "seizure": s.pk, "sale": sale.pk, "kind": s.get_kind_display(),
                 "description": s.description, "sold_on": sold_on.isoformat(), "proceeds": proceeds, "ours": ours,
                 "creditors": [f"第{r['rank']}順位 {r['name']} {r['amount']:,}円" for r in rows]},
    )  # fmt: skip
    sale.save(update_fields=["request"])
    return sale


def apply_distribution(req: ChangeRequest, approver: User, decided_on: date) -> None:
    from choshu.enforcement.collection import book_collection

    p = req.payload
    sale = Sale.objects.select_for_update().get(pk=p["sale"], municipality_id=req.municipality_id)
    s = Seizure.objects.select_for_update().select_related("case__municipality").get(pk=sale.seizure_id)
    if sale.status != CollectionStatus.PENDING:
        raise ValidationError(f"この換価は既に「{sale.get_status_display()}」です")
    if s.status != SeizureStatus.ACTIVE:
        raise ValidationError(f"この差押は「{s.get_status_display()}」です（差押中の財産だけ換価できます）")
    detail: dict[str, Any] = {"sale": sale.pk, "seizure": s.pk, "request": req.pk, "ours": sale.ours}
    if sale.ours > 0:
        col = Collection.objects.create(
            municipality_id=s.municipality_id, seizure=s, amount=sale.ours, received_on=sale.distributed_on,
            note=f"換価代金の配当（換価#{sale.pk}）", created_by=approver, request=req,
        )  # fmt: skip
        book_collection(collection=col, approver=approver, booked_on=decided_on)
        sale.collection = col
        detail["payments"] = col.payments
    sale.status = CollectionStatus.BOOKED
    sale.save(update_fields=["status", "collection"])
    s.status, s.released_on, s.release_reason = (
        SeizureStatus.RELEASED,
        sale.sold_on,
        f"換価済（換価#{sale.pk}）",
    )
    s.save(update_fields=["status", "released_on", "release_reason"])
    audit_record(
        kind=AuditKind.CHANGE, function="滞納処分（換価・配当）の決裁", municipality=s.case.municipality,
        user=approver, subject_type=AuditSubjectType.TAXPAYER, subject_ids=[s.taxpayer_id], detail=detail,
    )  # fmt: skip


def close_distribution(req: ChangeRequest) -> None:
    Sale.objects.filter(pk=req.payload.get("sale"), status=CollectionStatus.PENDING).update(
        status=CollectionStatus.WITHDRAWN
    )


def distribution_pdf(sale: Sale, *, on: date) -> bytes:
    """配当計算書 (国税徴収法131条): the sale, every creditor in its order with claim and amount, the 残余金."""
    s = sale.seizure
    m = s.case.municipality
    office = getattr(m, "office_name", "") or m.name
    out = io.BytesIO()
    c = new_canvas(out, title=f"配当計算書 換価#{sale.pk}", author=office)
    w, h = A4
    left, width = 20 * mm, w - 40 * mm
    y = h - 20 * mm
    draw_text(c, 10, w - 20 * mm, y, wareki(on), right=True)
    y -= 14 * mm
    draw_text(c, 16, w / 2 - 20 * mm, y, "配当計算書")
    y -= 12 * mm
    y = draw_para(c, 9.5, left, y, (
        "地方税法第331条第6項において例によることとされる国税徴収法第131条の規定により、下記のとおり配当計算書を"
        f"作成しました。この計算書に異議のある者は、配当期日（{wareki(sale.distributed_on)}）までに申し出てください"
        "（同法第133条）。"
    ), width, 5.2 * mm)  # fmt: skip
    y -= 4 * mm
    for label, value in [
        ("滞納者", f"{s.taxpayer.name}（宛名番号 {s.taxpayer.taxpayer_no}）"),
        ("換価財産", f"{s.get_kind_display()} {s.description}"),
        ("換価の方法・換価日", f"{sale.get_method_display()}・{wareki(sale.sold_on)}"),
        ("買受人", sale.buyer),
        ("換価代金", f"{yen(sale.proceeds)}円"),
        ("配当日", wareki(sale.distributed_on)),
    ]:
        draw_text(c, 10, left, y, label)
        y = draw_para(c, 10, left + 40 * mm, y, value, width - 40 * mm, 5.2 * mm)
    y -= 6 * mm
    cols = [left, left + 18 * mm, left + 78 * mm, left + 120 * mm, left + 150 * mm]
    for x, head in zip(cols, ["順位", "債権者", "債権の種類", "債権額", "配当額"], strict=True):
        draw_text(c, 9.5, x, y, head)
    y -= 2 * mm
    c.line(left, y, w - 20 * mm, y)
    y -= 5.5 * mm
    for r in sale.creditors:
        if y < 30 * mm:
            c.showPage()
            y = h - 20 * mm
        draw_text(c, 9.5, cols[0], y, f"第{r['rank']}順位")
        draw_text(c, 9.5, cols[1], y, str(r["name"])[:26])
        draw_text(c, 9.5, cols[2], y, str(r["kind"])[:18])
        draw_text(c, 9.5, cols[3] + 26 * mm, y, f"{yen(r['claim'])}円", right=True)
        draw_text(c, 9.5, w - 20 * mm, y, f"{yen(r['amount'])}円", right=True)
        y -= 6 * mm
    c.line(left, y + 3 * mm, w - 20 * mm, y + 3 * mm)
    y -= 3 * mm
    draw_text(c, 10, left, y, "残余金（滞納者に交付）")
    draw_text(c, 10, w - 20 * mm, y, f"{yen(sale.surplus)}円", right=True)
    y -= 6 * mm
    draw_text(c, 10, left, y, "合計")
    draw_text(c, 10, w - 20 * mm, y, f"{yen(sale.proceeds)}円", right=True)
    y -= 14 * mm
    draw_text(c, 10, w - 20 * mm, y, f"{office}（徴税吏員）", right=True)
    c.showPage()
    c.save()
    return out.getvalue()
