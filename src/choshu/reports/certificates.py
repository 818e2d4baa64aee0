"""納税証明書 (issue 21 §4): a clerk issues, for one person, a certificate of payment status per tax
item and 年度, or the 軽自動車税（継続検査用） certificate.

- What it certifies (地方税法20条の10, 施行令6条の21): per tax item and 年度 the amount to pay (調定額,
  本税), the amount paid and the amount unpaid, as of the issue day (the installments' ledger caches,
  which ``verify-ledger`` proves). An unpaid amount does not stop a payment certificate: it is
  printed, and the certificate carries the annotation 「未納額があります」.
- 軽自動車税（継続検査用）: the 車検 needs proof that the 軽自動車税（種別割） is not in arrears
  (道路運送車両法97条の2). It is refused while any 軽自動車税 of the person up to the year is unpaid
  (an installment whose 徴収権 has been extinguished is not unpaid); its 有効期限 is the next year's
  納期限 of the tax, 5月31日 (the 納期 of 軽自動車税 in 4月 of the ordinance; municipal practice,
  the date is a parameter of this module: ``VEHICLE_VALID_MONTH_DAY``).
- Each certificate has an issue number (年 + 連番) and a verification code: an HMAC-SHA256 of its
  content with the certificate key (``core.keyfile``: ``CHOSHU_CERTIFICATE_KEY`` or
  ``var/certificate.key``), so the verification page proves a presented paper says what was issued.
- 支援措置 (DV): the registered address is printed only for a user who may see it
  (``taxpayers.protection``); the screen shows the warning; the audit record carries the flags.
- 手数料 (手数料条例): ``CertificateFee`` by date; without a row, the demo value ``DEMO_FEE``, recorded
  on the certificate as such.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from reportlab.lib.units import mm

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.keyfile import load_key
from choshu.core.models import Municipality
from choshu.formats.display import wareki, yen
from choshu.levies.models import Installment
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.pdf_font import FONT_NAME, new_canvas, wrap
from choshu.reports.models import Certificate, CertificateFee, CertificateKind
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import may_see_address

VEHICLE_TAX_ITEM = "05"  # 軽自動車税（種別割）, levies.tax_items
VEHICLE_VALID_MONTH_DAY = (5, 31)
DEMO_FEE = 300
DEMO_FEE_SOURCE = "デモ値（手数料条例の額を「証明手数料」に登録してください）"
MAX_YEARS = 5
WITHHELD = "（支援措置のため記載を省略）"
BASIS = {
    CertificateKind.PAYMENT: "地方税法第20条の10、同法施行令第6条の21",
    CertificateKind.VEHICLE: "道路運送車両法第97条の2（軽自動車税種別割の納付の確認）",
}


class CertificateKeyError(RuntimeError):
    pass


def _key() -> bytes:
    return load_key(env="CHOSHU_CERTIFICATE_KEY", file_name="certificate.key", label="納税証明書の照合鍵",
                    error=CertificateKeyError)  # fmt: skip


def sign(municipality_code: str, number: str, content: dict[str, Any]) -> str:
    """The verification code: 16 base32 characters of HMAC-SHA256(key, code | number | content)."""
    body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    mac = hmac.new(_key(), f"{municipality_code}|{number}|{body}".encode(), hashlib.sha256).digest()
    text = base64.b32encode(mac).decode()[:16]
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def fee_on(municipality: Municipality, on: date) -> tuple[int, str]:
    row = (
        CertificateFee.objects.filter(municipality=municipality, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )
    if row is None:
        return DEMO_FEE, DEMO_FEE_SOURCE
    return row.yen, row.source


@dataclass(frozen=True)
class Line:
    tax_item: str
    tax_item_name: str
    year: int
    levied: int
    paid: int
    unpaid: int


def status_lines(taxpayer: Taxpayer, years: list[int], tax_items: list[str] | None, on: date) -> list[Line]:
    """Per tax item and 賦課年度: 調定額, 納付済額, 未納額 (本税; an extinguished claim is not unpaid)."""
    qs = Installment.objects.filter(taxpayer=taxpayer, levy__levy_year__in=years)
    if tax_items:
        qs = qs.filter(levy__tax_item__in=tax_items)
    live = Q(extinguished_on__isnull=True) | Q(extinguished_on__gt=on)
    rows = (
        qs.values("levy__tax_item", "levy__levy_year")
        .annotate(
            lev=Sum("principal_levied"),
            paid=Sum("principal_paid"),
            unpaid=Sum("principal_outstanding", filter=live),
        )  # fmt: skip
        .order_by("levy__tax_item", "levy__levy_year")
    )
    m = taxpayer.municipality_id
    return [
        Line(
            r["levy__tax_item"],
            tax_item_name(m, r["levy__tax_item"]),
            r["levy__levy_year"],
            int(r["lev"] or 0),
            int(r["paid"] or 0),
            max(int(r["unpaid"] or 0), 0),
        )  # fmt: skip
        for r in rows
    ]


def _next_number(municipality: Municipality, on: date) -> str:
    Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
    prefix = f"{on.year}"
    last = (
        Certificate.objects.filter(municipality=municipality, number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{seq:06d}"


def issue_certificate(
    *,
    actor: Any,
    taxpayer: Taxpayer,
    kind: str,
    years: list[int],
    on: date,
    purpose: str = "",
    tax_items: list[str] | None = None,
    vehicle_no: str = "",
) -> Certificate:
    """Issue one certificate (see module); refused with a Japanese reason and nothing written."""
    municipality = actor.municipality
    if taxpayer.municipality_id != municipality.pk:
        raise ValidationError("この宛名は別の団体のものです")
    years = sorted(set(years))
    if not years or len(years) > MAX_YEARS or any(not 2000 <= y <= on.year for y in years):
        raise ValidationError(
            f"証明する年度は {MAX_YEARS} 年度以内で、2000年度から今年度までの西暦で指定してください"
        )
    annotations: list[str] = []
    valid_until = None
    if kind == CertificateKind.VEHICLE:
        if not vehicle_no.strip():
            raise ValidationError("継続検査用の納税証明書には車両番号（標識番号）を入力してください")
        year = years[-1]
        lines = status_lines(taxpayer, list(range(2000, year + 1)), [VEHICLE_TAX_ITEM], on)
        unpaid = [ln for ln in lines if ln.unpaid]
        if unpaid:
            detail = "、".join(f"{ln.year}年度 {yen(ln.unpaid)}円" for ln in unpaid)
            raise ValidationError(
                f"軽自動車税に未納があるため、継続検査用の納税証明書は発行できません（{detail}）。"
                "納付の確認後に発行してください（道路運送車両法第97条の2）"
            )
        lines = [ln for ln in lines if ln.year == year]
        if not lines:
            raise ValidationError(f"{year}年度の軽自動車税の課税がありません。年度を確かめてください")
        valid_until = date(year + 1, *VEHICLE_VALID_MONTH_DAY)
    elif kind == CertificateKind.PAYMENT:
        lines = status_lines(taxpayer, years, tax_items, on)
        if not lines:
            raise ValidationError("指定した年度・税目の課税がありません。年度と税目を確かめてください")
        if any(ln.unpaid for ln in lines):
            annotations.append("未納額があります（上表の未納額欄のとおり）")
    else:
        raise ValidationError("証明書の種類が不正です")
    shown = may_see_address(actor, taxpayer, on)
    fee, fee_source = fee_on(municipality, on)
    content = {
        "kind": kind,
        "taxpayer_no": taxpayer.taxpayer_no,
        "name": taxpayer.name,
        "address": f"{taxpayer.address} {taxpayer.address_extra}".strip() if shown else WITHHELD,
        "years": years,
        "lines": [ln.__dict__ for ln in lines],
        "annotations": annotations,
        "vehicle_no": vehicle_no.strip(),
        "valid_until": valid_until.isoformat() if valid_until else "",
        "issued_on": on.isoformat(),
        "basis": BASIS[CertificateKind(kind)],
    }
    with transaction.atomic():
        number = _next_number(municipality, on)
        cert = Certificate.objects.create(
            municipality=municipality, number=number, kind=kind, taxpayer=taxpayer, issued_on=on,
            issued_by=actor, purpose=purpose.strip(), content=content,
            code=sign(municipality.code, number, content), fee=fee, fee_source=fee_source,
            valid_until=valid_until,
        )  # fmt: skip
        audit_record(
            kind=AuditKind.CHANGE, function="納税証明書の発行", municipality=municipality, user=actor,
            subject_type=AuditSubjectType.TAXPAYER, subject_ids=[taxpayer.pk], shows_address=shown,
            detail={"certificate_no": number, "certificate_kind": kind, "years": years, "fee": fee,
                    "fee_source": fee_source, "unpaid": sum(ln.unpaid for ln in lines)},
        )  # fmt: skip
    return cert


def verify(municipality: Municipality, number: str, code: str) -> Certificate | None:
    """The certificate with this number whose stored content still signs to ``code``, else None."""
    cert = Certificate.objects.filter(municipality=municipality, number=number.strip()).first()
    if cert is None:
        return None
    given = code.strip().upper().replace(" ", "")
    expected = sign(municipality.code, cert.number, cert.content)
    if not (hmac.compare_digest(given, expected) and hmac.compare_digest(cert.code, expected)):
        return None
    return cert


# --- the PDF -----------------------------------------------------------------------------------------

TITLE = {CertificateKind.PAYMENT: "納税証明書", CertificateKind.VEHICLE: "軽自動車税納税証明書（継続検査用）"}


def render_pdf(cert: Certificate) -> bytes:
    """The certificate as an A4 PDF with the embedded IPAex Gothic (receipts.pdf_font)."""
    d = cert.content
    m = cert.municipality
    out = io.BytesIO()
    title = TITLE[CertificateKind(cert.kind)]
    c = new_canvas(out, title=title, author=m.name)
    width, height = c._pagesize  # noqa: SLF001 - reportlab keeps the page size here
    left, right, y = 20 * mm, width - 20 * mm, height - 22 * mm
    c.setFont(FONT_NAME, 9)
    c.drawRightString(right, y, f"証明書番号 {cert.number}")
    c.drawRightString(right, y - 5 * mm, f"照合番号 {cert.code}")
    y -= 18 * mm
    c.setFont(FONT_NAME, 18)
    c.drawCentredString(width / 2, y, title)
    y -= 14 * mm
    c.setFont(FONT_NAME, 10)
    for label, value in (("住所", d["address"]), ("氏名・名称", d["name"]), ("宛名番号", d["taxpayer_no"])):
        c.drawString(left, y, label)
        c.drawString(left + 30 * mm, y, value)
        y -= 6 * mm
    if d.get("vehicle_no"):
        c.drawString(left, y, "車両番号")
        c.drawString(left + 30 * mm, y, d["vehicle_no"])
        y -= 6 * mm
    y -= 4 * mm
    cols = (left, left + 70 * mm, left + 105 * mm, left + 135 * mm, right)
    for x, head in zip(cols[1:], ("調定額（円）", "納付済額（円）", "未納額（円）"), strict=False):
        c.drawRightString(x + 25 * mm if x != right else x, y, head)
    c.drawString(cols[0], y, "年度・税目")
    y -= 6 * mm
    for ln in d["lines"]:
        c.drawString(cols[0], y, f"{ln['year']}年度 {ln['tax_item_name']}")
        c.drawRightString(cols[1] + 25 * mm, y, yen(ln["levied"]))
        c.drawRightString(cols[2] + 25 * mm, y, yen(ln["paid"]))
        c.drawRightString(cols[3] + 25 * mm, y, yen(ln["unpaid"]))
        y -= 6 * mm
    y -= 4 * mm
    for note in d["annotations"]:
        c.drawString(left, y, f"※ {note}")
        y -= 6 * mm
    if d.get("valid_until"):
        c.drawString(left, y, f"有効期限 {wareki(date.fromisoformat(d['valid_until']))}")
        y -= 6 * mm
    y -= 6 * mm
    text = "上記のとおり相違ないことを証明します。" if cert.kind == CertificateKind.PAYMENT else (
        "上記の軽自動車税（種別割）について、未納がないことを証明します。"
    )  # fmt: skip
    for line in wrap(text, 10, right - left):
        c.drawString(left, y, line)
        y -= 6 * mm
    c.drawString(left, y, wareki(cert.issued_on))
    c.drawRightString(right, y, f"{m.name}長")
    y -= 10 * mm
    c.setFont(FONT_NAME, 8)
    for line in wrap(
        f"根拠: {d['basis']}。金額は本税の額です。この証明書の内容は、証明書番号と照合番号により{m.name}で確認できます。",
        8, right - left,
    ):  # fmt: skip
        c.drawString(left, y, line)
        y -= 4.5 * mm
    c.showPage()
    c.save()
    return out.getvalue()
