"""差押調書 (国税徴収法146条: the record of a seizure) and 差押通知書 (債権差押通知書 to the third party,
国税徴収法62条; 差押書 to the taxpayer for other assets, 68条 etc.) as PDF with the embedded IPAex
Gothic (``receipts.pdf_font``, as every document of the system).

Both carry the 滞納者's name and address: for a person under 支援措置 (DV etc.) on the day they are
written they are refused (``taxpayers.protection.refuse_reason``: no document with a protected
person's address leaves the system; the office handles it by hand under the 支援措置 procedure).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from choshu.enforcement.models import Seizure
from choshu.formats.display import wareki, yen
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.pdf_font import draw_text as _text
from choshu.receipts.pdf_font import new_canvas, wrap
from choshu.taxpayers.protection import ProtectedPersonRefused, refuse_reason

RECORD = "record"
NOTICE = "notice"
TITLES = {RECORD: "差押調書", NOTICE: "差押通知書"}
_W, _H = A4
_L = 20 * mm
_WIDTH = _W - 40 * mm


@dataclass(frozen=True)
class _Line:
    text: str
    amount: int


def _para(c: canvas.Canvas, size: float, y: float, text: str, lead: float = 5.2 * mm) -> float:
    for line in wrap(text, size, _WIDTH):
        _text(c, size, _L, y, line)
        y -= lead
    return y


def seizure_document(seizure: Seizure, document: str, *, on: date) -> bytes:
    """The PDF of ``document`` (RECORD or NOTICE) for an approved seizure, dated ``on``."""
    if document not in TITLES:
        raise ValueError(document)
    tp = seizure.taxpayer
    refused = refuse_reason(tp, on, TITLES[document])
    if refused:
        raise ProtectedPersonRefused(refused)
    m = seizure.case.municipality
    office = getattr(m, "office_name", "") or m.name
    title = TITLES[document]
    if document == NOTICE and seizure.is_claim:
        title = "債権差押通知書"
    elif document == NOTICE:
        title = "差押書"
    out = io.BytesIO()
    c = new_canvas(out, title=f"{title} 差押#{seizure.pk}", author=office)
    y = _H - 20 * mm
    _text(c, 10, _W - _L, y, f"{office} 第{seizure.pk}号", right=True)
    y -= 6 * mm
    _text(c, 10, _W - _L, y, wareki(on), right=True)
    y -= 12 * mm
    if document == NOTICE and seizure.is_claim:
        _text(c, 11, _L, y, f"{seizure.third_party_name} 様（第三債務者）")
        y -= 5.5 * mm
        if seizure.third_party_address:
            _text(c, 9, _L, y, seizure.third_party_address)
            y -= 5.5 * mm
    elif document == NOTICE:
        _text(c, 11, _L, y, f"{tp.name} 様")
        y -= 5.5 * mm
    y -= 6 * mm
    _text(c, 18, _W / 2 - 30 * mm, y, title)
    y -= 14 * mm
    if document == RECORD:
        body = (
            "地方税法第331条第1項及び同条第6項において例によることとされる国税徴収法の規定により、"
            "次の滞納者の財産を差し押さえたので、国税徴収法第146条の規定によりこの調書を作成する。"
        )
    elif seizure.is_claim:
        body = (
            "滞納者に対する次の地方団体の徴収金を徴収するため、地方税法第331条の規定により、滞納者があなたに"
            "対して有する次の債権を差し押さえたので、国税徴収法第62条の規定により通知します。"
            "この通知を受けた後は、この債権について滞納者に支払をすることはできません。"
            "履行期限までに当団体へ支払ってください（国税徴収法第67条）。"
        )
    else:
        body = (
            "滞納者に対する次の地方団体の徴収金を徴収するため、地方税法第331条の規定により、"
            "次の財産を差し押さえたので通知します。"
        )
    y = _para(c, 10, y, body) - 4 * mm
    rows = [
        ("滞納者の住所", f"{tp.address} {tp.address_extra}".strip()),
        ("滞納者の氏名・名称", f"{tp.name}（宛名番号 {tp.taxpayer_no}）"),
        ("差押財産の種類", seizure.get_kind_display()),
        ("差押財産の表示", seizure.description),
        ("差押年月日", wareki(seizure.executed_on)),
        ("差押金額" if seizure.is_claim else "見積価額", f"{yen(seizure.amount)}円"),
    ]
    if seizure.is_claim:
        rows.insert(4, ("第三債務者", f"{seizure.third_party_name} {seizure.third_party_address}".strip()))
    if seizure.salary:
        s = seizure.salary
        rows.append(
            ("差押禁止額（国税徴収法76条）", f"{yen(int(s['exempt']))}円（支給額 {yen(int(s['pay']))}円）")
        )
    for label, value in rows:
        _text(c, 9, _L, y, label)
        lines = wrap(value, 10, _WIDTH - 45 * mm) or [""]
        for k, line in enumerate(lines):
            _text(c, 10, _L + 45 * mm, y - k * 5 * mm, line)
        y -= 5 * mm * len(lines) + 2 * mm
    y -= 4 * mm
    _text(c, 10, _L, y, "滞納処分に係る地方団体の徴収金")
    y -= 6 * mm
    total = 0
    for i in seizure.installments.select_related("levy").order_by("due_date", "pk"):
        name = tax_item_name(i.municipality_id, i.levy.tax_item)
        line = f"{i.levy.levy_year}年度 {name} 第{i.installment_no}期 納期限 {wareki(i.due_date)}"
        _text(c, 9, _L + 4 * mm, y, line)
        _text(c, 9, _W - _L, y, f"本税 {yen(i.principal_outstanding)}円", right=True)
        total += i.principal_outstanding
        y -= 5 * mm
        if y < 40 * mm:
            c.showPage()
            y = _H - 20 * mm
    _text(c, 9, _W - _L, y, f"本税計 {yen(total)}円（ほかに延滞金・督促手数料）", right=True)
    y -= 12 * mm
    _text(c, 10, _L, max(y, 25 * mm), f"{office}　徴税吏員")
    c.showPage()
    c.save()
    return out.getvalue()
