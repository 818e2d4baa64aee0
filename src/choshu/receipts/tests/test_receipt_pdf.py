"""領収証書 PDF: the Japanese font is embedded (IPAex Gothic subset) and the text reads back as written."""

from __future__ import annotations

import base64
import io
import re
import zlib
from datetime import date

from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from choshu.receipts.receipt_pdf import (
    FONT_NAME,
    FONT_PATH,
    ReceiptData,
    ReceiptLine,
    receipt_number,
    register_font,
    render_receipt,
)

RECEIPT = ReceiptData(
    receipt_no=4321,
    municipality_name="川口市",
    taxpayer_no="1002",
    taxpayer_name="鳩ヶ谷 花子",
    slip_no="9000000000001234",
    paid_on=date(2024, 5, 31),
    total=12000,
    clerk_name="窓口 一郎",
    issued_on=date(2024, 6, 3),
    lines=[
        ReceiptLine("軽自動車税(種別割)", 2024, "500001", 1, 10000, 0),
        ReceiptLine("固定資産税・都市計画税", 2023, "400009", 2, 500, 300),
    ],
    overpaid=1200,
)


def _streams(pdf: bytes) -> list[bytes]:
    """Every stream of the PDF, decoded (reportlab writes Flate, sometimes under ASCII85)."""
    out = []
    for match in re.finditer(rb"<<((?:(?!>>\s*stream).)*?)>>\s*stream\r?\n(.*?)endstream", pdf, re.S):
        head, body = match.group(1), match.group(2)
        if b"ASCII85Decode" in head:
            body = base64.a85decode(body.strip().removesuffix(b"~>"))
        if b"FlateDecode" in head:
            body = zlib.decompress(body)
        out.append(body)
    return out


def _unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes: octal escapes and escaped delimiters resolved."""
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def one(m: re.Match[bytes]) -> bytes:
        token = m.group(1)
        if token[:1].isdigit():
            return bytes([int(token, 8)])
        return escapes.get(token, token)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.S)


def pdf_text(pdf: bytes) -> str:
    """The drawn text, mapped to Unicode through the embedded font's ToUnicode table."""
    streams = _streams(pdf)
    to_unicode: dict[int, str] = {}
    for s in streams:
        if b"beginbfchar" in s:
            for code, uni in re.findall(rb"<([0-9A-F]{2})> <([0-9A-F]{4})>", s):
                to_unicode[int(code, 16)] = chr(int(uni, 16))
    lines = []
    for s in streams:
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", s, re.S):
            lines.append("".join(to_unicode.get(b, chr(b)) for b in _unescape(literal)))
    return "\n".join(lines)


def test_the_receipt_embeds_a_subset_of_ipaex_gothic() -> None:
    pdf = render_receipt(RECEIPT)
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf  # an embedded TrueType font program
    assert re.search(rb"/BaseFont /[A-Z]{6}\+IPAexGothic", pdf)  # a subset, named as the standard asks
    assert b"HeiseiKakuGo" not in pdf  # not a CID font the reader would have to supply


def test_the_receipt_number_is_in_the_document_information() -> None:
    pdf = render_receipt(RECEIPT)
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert info.subject == "領収証書（領収番号 第004321号）"  # in Japanese: no English key in a PDF
    assert info.title == "領収証書 第004321号"
    assert receipt_number(4321) == "第004321号"


def test_the_receipt_reads_back_with_the_person_the_lines_and_the_amounts() -> None:
    text = pdf_text(render_receipt(RECEIPT))
    for expected in (
        "領　収　証　書",
        "領収番号 第004321号",
        "宛名番号 1002",
        "鳩ヶ谷 花子　様",
        "￥12,000－",
        "納付番号 9000000000001234",
        "領収日 令和6年5月31日（2024/05/31）",
        "軽自動車税(種別割)",
        "固定資産税・都市計画税",
        "第2期",
        "過誤納金（還付または充当します）",
        "1,200",
        "川口市",
        "取扱者 窓口 一郎",
    ):
        assert expected in text, expected


def test_a_receipt_without_overpayment_does_not_mention_it() -> None:
    text = pdf_text(render_receipt(ReceiptData(**{**RECEIPT.__dict__, "overpaid": 0})))
    assert "過誤納金" not in text and "鳩ヶ谷 花子" in text


def test_the_font_is_vendored_and_registered_once() -> None:
    assert FONT_PATH.is_file() and FONT_PATH.stat().st_size > 1_000_000
    assert register_font() == register_font() == FONT_NAME
    assert pdfmetrics.getRegisteredFontNames().count(FONT_NAME) == 1


def test_a_receipt_of_many_installments_continues_on_a_second_page() -> None:
    many = [
        ReceiptLine("個人住民税(普通徴収)", 2020 + i // 4, f"1000{i:02d}", i % 4 + 1, 1000, 0)
        for i in range(40)
    ]
    pdf = render_receipt(ReceiptData(**{**RECEIPT.__dict__, "lines": many, "total": 40000, "overpaid": 0}))
    assert b"/Count 2" in pdf
    text = pdf_text(pdf)
    assert "100039" in text and "取扱者 窓口 一郎" in text
