"""The plan's papers: the 分納誓約書 (the person signs it) and one 納付書 per instalment.

Both use the receipts app's PDF helpers (``receipts.pdf_font``: the embedded IPAex Gothic; the slip
itself is ``receipts.slip_pdf.render_slip``, the same 3連 with barcode and OCR lines as every other
slip). A person under 支援措置 (or whose addressee is) gets neither: the Japanese reason is raised as
``ProtectedPersonRefused`` and nothing is written.
"""

from __future__ import annotations

import io
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from choshu.formats.display import wareki, yen
from choshu.formats.slipcodes import ocr_upper, slip_codes
from choshu.levies.tax_items import tax_item_name
from choshu.plans.models import PaymentPlan, PlanInstalment
from choshu.receipts.pdf_font import draw_para as _para
from choshu.receipts.pdf_font import draw_text as _text
from choshu.receipts.pdf_font import new_canvas
from choshu.receipts.slip_pdf import SlipData, SlipLine, render_slip
from choshu.receipts.slips import confirmation_no
from choshu.taxpayers.addressee import addressee_for
from choshu.taxpayers.protection import ProtectedPersonRefused, refuse_reason

_W, _H = A4
_L = 20 * mm
PLEDGE_TEXT = (
    "私は、上記の市税等を滞納していることを認め、下記の納付計画のとおり分割して納付することを誓約します。"
    "納付計画のとおり納付しないとき（各回の納付予定日から{grace}日を過ぎて未納が{misses}回となったとき）は、"
    "この誓約が取り消され、滞納処分（財産の差押え等）を受けても異議はありません。"
    "また、分割納付の期間中も延滞金は法律の定めにより計算され、{late}"
)
LATE_INCLUDED = "その見込額（最終回の納付予定日まで）を上記の総額に含めています。"
LATE_EXCLUDED = "本誓約の総額には含まれていないため、完納後に別途納付します。"


def _check_printable(plan: PaymentPlan, on: date, document: str) -> None:
    tp = plan.taxpayer
    reason = refuse_reason(tp, on, document)
    if reason is not None:
        raise ProtectedPersonRefused(reason)


def pledge_pdf(plan: PaymentPlan, *, on: date, grace_days: int, misses: int) -> bytes:
    """分納誓約書 (A4): the person, the installments covered with their amounts, the schedule, the
    pledge text and the signature line; later pages when the lists are long."""
    _check_printable(plan, on, "分納誓約書")
    tp = plan.taxpayer
    out = io.BytesIO()
    c = new_canvas(out, title=f"分納誓約書 {plan.pk}", author=plan.municipality.name)
    c.setSubject(f"分納誓約書（分納誓約#{plan.pk}・宛名番号 {tp.taxpayer_no}）")
    y = _H - 20 * mm
    _text(c, 16, _W / 2 - 20 * mm, y, "分 納 誓 約 書")
    y -= 10 * mm
    _text(c, 10, _W - _L, y, f"{plan.municipality.name}長　様", right=True)
    y -= 10 * mm
    _text(c, 10, _L, y, f"宛名番号　{tp.taxpayer_no}")
    y -= 6 * mm
    _text(c, 10, _L, y, f"氏名・名称　{tp.name}")
    y -= 6 * mm
    y = _para(c, 10, _L, y, f"住所　{tp.address}{(' ' + tp.address_extra) if tp.address_extra else ''}",
              _W - 2 * _L, 5 * mm)  # fmt: skip
    y -= 4 * mm
    late = LATE_INCLUDED if plan.include_late_charge else LATE_EXCLUDED
    y = _para(
        c, 10, _L, y, PLEDGE_TEXT.format(grace=grace_days, misses=misses, late=late), _W - 2 * _L, 5.5 * mm
    )
    y -= 4 * mm
    _text(c, 11, _L, y, "1　分納の対象（期別）")
    y -= 6 * mm
    heads = ("税目", "年度", "通知書番号", "期別", "納期限", "本税（円）")
    xs = (_L, _L + 45 * mm, _L + 62 * mm, _L + 92 * mm, _L + 105 * mm, _W - _L)
    for x, h in zip(xs, heads, strict=True):
        _text(c, 9, x, y, h, right=x == xs[-1])
    y -= 5 * mm
    for inst in plan.installments.select_related("levy").order_by("due_date", "pk"):
        if y < 40 * mm:
            c.showPage()
            y = _H - 20 * mm
        cells = (tax_item_name(plan.municipality_id, inst.levy.tax_item), f"{inst.levy.levy_year}",
                 inst.levy.notice_no, f"第{inst.installment_no}期", wareki(inst.due_date),
                 yen(inst.principal_outstanding))  # fmt: skip
        for x, cell in zip(xs, cells, strict=True):
            _text(c, 9, x, y, cell, right=x == xs[-1])
        y -= 5 * mm
    y -= 2 * mm
    _text(c, 10, _L, y, f"本税 {yen(plan.principal)}円　督促手数料 {yen(plan.fee)}円　"
                        f"延滞金（見込み） {yen(plan.late_charge)}円　総額 {yen(plan.total)}円")  # fmt: skip
    y -= 9 * mm
    _text(c, 11, _L, y, "2　納付計画")
    y -= 6 * mm
    for x, h in zip((_L, _L + 25 * mm, _L + 100 * mm), ("回", "納付予定日", "金額（円）"), strict=True):
        _text(c, 9, x, y, h, right=h.startswith("金額"))
    y -= 5 * mm
    for i in plan.instalments.order_by("no"):
        if y < 40 * mm:
            c.showPage()
            y = _H - 20 * mm
        _text(c, 9, _L, y, f"第{i.no}回")
        _text(c, 9, _L + 25 * mm, y, wareki(i.due_on))
        _text(c, 9, _L + 100 * mm, y, yen(i.amount), right=True)
        y -= 5 * mm
    if y < 50 * mm:
        c.showPage()
        y = _H - 20 * mm
    y -= 10 * mm
    signed = wareki(plan.pledged_on) if plan.pledged_on else "　　　　年　　月　　日"
    _text(c, 10, _L, y, f"誓約日　{signed}")
    y -= 12 * mm
    _text(c, 10, _L + 70 * mm, y, "署名　______________________________　印")
    y -= 12 * mm
    _text(c, 8, _L, y, f"分納誓約#{plan.pk}　作成 {wareki(plan.created_at.date())}　（この誓約は債務の承認であり、"
                       "時効は誓約日から新たに進行します：民法152条・地方税法18条3項）")  # fmt: skip
    c.showPage()
    c.save()
    return out.getvalue()


def instalment_slip_pdf(instalment: PlanInstalment, *, on: date) -> bytes:
    """The instalment's 納付書 (its combined slip number, amount = the instalment, 使用期限 = its date)."""
    plan = instalment.plan
    slip = instalment.slip
    if slip is None:
        raise ValueError("この回の納付書はまだ発行されていません（誓約の記録で発行されます）")
    _check_printable(plan, on, "納付書")
    municipality = plan.municipality
    covered = list(plan.installments.select_related("levy").order_by("due_date", "pk"))
    tax_items = sorted({i.levy.tax_item for i in covered})
    addressee = addressee_for(plan.taxpayer, tax_items[0] if len(tax_items) == 1 else "00", on)
    if addressee.protected_taxpayer_id != plan.taxpayer_id:
        from choshu.taxpayers.models import Taxpayer  # noqa: PLC0415 - the addressee's own record

        other = Taxpayer.objects.filter(pk=addressee.protected_taxpayer_id).first()
        reason = refuse_reason(other, on, "納付書") if other is not None else None
        if reason is not None:
            raise ProtectedPersonRefused(reason)
    conf = confirmation_no(municipality.code, slip.slip_no)
    codes = slip_codes(
        slip_no=slip.slip_no, confirmation_no=conf, amount=instalment.amount, pay_by=instalment.due_on,
        tax_item=covered[0].levy.tax_item, company_code=municipality.conveni_company_code,
        client_code=municipality.conveni_client_code, agency_no=municipality.eltax_agency_no,
    )  # fmt: skip
    upper = ocr_upper(amount=instalment.amount, municipality_code=municipality.code,
                      tax_item=covered[0].levy.tax_item, levy_year=min(i.levy.levy_year for i in covered))  # fmt: skip
    first = covered[0]
    data = SlipData(
        municipality_name=municipality.name, slip_no=slip.slip_no, confirmation_no=conf,
        taxpayer_no=plan.taxpayer.taxpayer_no, taxpayer_name=plan.taxpayer.name, addressee_name=addressee.name,
        postal_code=addressee.postal_code, address=addressee.address, address_extra=addressee.address_extra,
        addressee_via=addressee.via, issued_on=slip.issued_on, late_charge_as_of=instalment.due_on,
        pay_by=instalment.due_on, barcode=codes.barcode, el_number=codes.el_number, ocr_upper=upper,
        ocr_lower=codes.ocr_lower, issue_no=instalment.pk,
        lines=[
            SlipLine(
                tax_item_name=f"分納金 第{instalment.no}回（分納誓約#{plan.pk}）", levy_year=first.levy.levy_year,
                notice_no=first.levy.notice_no, installment_no=instalment.no, due_date=instalment.due_on,
                principal=instalment.amount, late_charge=0,
            )
        ],
    )  # fmt: skip
    return render_slip(data)
