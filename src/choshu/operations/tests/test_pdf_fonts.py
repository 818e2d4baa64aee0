"""Every PDF the system writes embeds its fonts and speaks Japanese (issue 13 §6).

The PDFs: 領収証書 (``receipts.receipt_pdf``), 納付書 (``receipts.slip_pdf`` through ``slip_issue``) and
the 開示請求 PDF (``operations.disclosure``). Each is read with pypdf, which walks every font of every
page (and of the forms a page draws): a font is embedded when its descriptor — the descendant's, for a
composite (Type0) font — carries a font program (``/FontFile``, ``/FontFile2`` or ``/FontFile3``), as
``pdffonts`` reports it ("emb yes"). A standard Type 1 font (Helvetica) or a CID font the reader must
supply (HeiseiKakuGo-W5) has none.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.utils import timezone
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.levies.models import Installment
from choshu.operations.disclosure import disclosure_export
from choshu.receipts.receipt_pdf import ReceiptData, ReceiptLine, render_receipt
from choshu.receipts.slip_issue import slip_issue
from choshu.taxpayers.models import Taxpayer

FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")
ENGLISH_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b|choshu receipt")  # slip_no, ocr_lower, late_charge …


def _fonts(resources: Any, seen: set[int]) -> Iterator[tuple[str, DictionaryObject]]:
    if resources is None:
        return
    resources = resources.get_object()
    for name, ref in (resources.get("/Font") or {}).items():
        yield name, ref.get_object()
    for ref in (resources.get("/XObject") or {}).values():
        xobject = ref.get_object()
        if id(xobject) not in seen and xobject.get("/Subtype") == "/Form":
            seen.add(id(xobject))
            yield from _fonts(xobject.get("/Resources"), seen)


def _embedded(font: DictionaryObject) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs are drawn by the document itself
    if font.get("/Subtype") == "/Type0":
        descendants: Any = font["/DescendantFonts"]
        font = descendants.get_object()[0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(key in descriptor.get_object() for key in FONT_FILES)


def unembedded_fonts(pdf: bytes) -> list[str]:
    """The base names of every font used and not embedded (``pdffonts``' "emb no")."""
    missing = []
    seen: set[int] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for _name, font in _fonts(page.get("/Resources"), seen):
            if not _embedded(font):
                missing.append(str(font.get("/BaseFont")))
    return missing


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    meta: dict[str, Any] = dict(reader.metadata or {})
    return "\n".join([*(page.extract_text() for page in reader.pages), *(str(v) for v in meta.values())])


def test_the_checker_catches_a_font_that_is_only_named() -> None:
    for font in ("Helvetica", "HeiseiKakuGo-W5"):
        if font.startswith("Heisei") and font not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(font))
        out = io.BytesIO()
        c = canvas.Canvas(out)
        c.setFont(font, 10)
        c.drawString(100, 100, "保有個人情報" if font.startswith("Heisei") else "receipt")
        c.save()
        assert font in " ".join(unembedded_fonts(out.getvalue())), font


def _receipt_pdf() -> bytes:
    line = ReceiptLine("個人住民税(普通徴収)", 2024, "100001", 1, 30000, 1200)
    data = ReceiptData(
        receipt_no=1,
        municipality_name="川口市",
        taxpayer_no="1001",
        taxpayer_name="川口 太郎",
        slip_no="1234567890123452",
        paid_on=date(2026, 12, 7),
        total=31200,
        clerk_name="窓口 一郎",
        issued_on=date(2026, 12, 7),
        lines=[line],
    )
    return render_receipt(data)


def test_every_pdf_the_system_writes_embeds_every_font_and_has_no_english_key(
    sample_city: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=sample_city)
    taro = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")
    today = timezone.localdate()
    disclosure = disclosure_export(actor=chief, taxpayer=taro, folder=tmp_path, as_of=today)
    ids = list(Installment.objects.filter(taxpayer=taro).values_list("pk", flat=True))
    _issue, slip = slip_issue(
        actor=chief, taxpayer=taro, installment_ids=ids, late_charge_as_of=today, pay_by=today
    )
    pdfs = {"領収証書": _receipt_pdf(), "開示請求": disclosure.pdf_path.read_bytes(), "納付書": slip}
    for name, pdf in pdfs.items():
        assert pdf.startswith(b"%PDF"), name
        assert unembedded_fonts(pdf) == [], name
        assert b"IPAexGothic" in pdf and b"HeiseiKakuGo" not in pdf, name
        assert not ENGLISH_KEY.findall(_text(pdf)), (name, ENGLISH_KEY.findall(_text(pdf)))


def test_the_disclosure_pdf_keeps_every_row_whole_and_carries_a_reception_number(
    sample_city: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    chief = make_user("chief", role=Role.CHIEF, municipality=sample_city)
    taro = Taxpayer.objects.get(municipality=sample_city, taxpayer_no="1001")
    as_of = date(2026, 11, 26)  # long after the 納期限: every row of 調定・収納 ends with its 延滞金
    first = disclosure_export(actor=chief, taxpayer=taro, folder=tmp_path / "a", as_of=as_of)
    second = disclosure_export(actor=chief, taxpayer=taro, folder=tmp_path / "b", as_of=as_of)
    assert first.reception_no != second.reception_no
    assert re.fullmatch(rf"{timezone.localdate():%Y%m%d}-\d{{4}}", first.reception_no)
    text = _text(first.pdf_path.read_bytes())
    flat = re.sub(r"\s+", "", text)
    assert f"受付番号{first.reception_no}" in flat
    rows = list(csv.reader(io.StringIO(first.csv_path.read_bytes().decode("utf-8-sig"))))
    assert ["受付", "受付番号", first.reception_no] in rows
    ledger = [r for r in rows if r[0] == "調定・収納"]
    assert ledger and all("本税（未納）" in r[2] and "延滞金" in r[2] and "合計" in r[2] for r in ledger)
    for _section, item, value in rows[2:]:
        assert re.sub(r"\s+", "", f"{item}：{value}") in flat, (item, value)  # nothing cut off
    log = AuditLog.objects.filter(function="開示請求出力").order_by("pk").first()
    assert log is not None and log.detail["reception_no"] == first.reception_no
