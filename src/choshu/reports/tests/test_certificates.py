"""納税証明書 (issue 21 §4): content, refusal for the 継続検査用 while unpaid, the PDF read back (text
and a rendered image), the verification code, the fee, the audit record and 支援措置."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pypdfium2
import pytest
from django.core.exceptions import ValidationError
from pypdf import PdfReader

from choshu.accounts.models import Role
from choshu.audit.models import AuditLog
from choshu.operations.tests.test_pdf_fonts import unembedded_fonts
from choshu.refunds.tests.helpers import pay
from choshu.reports.certificates import DEMO_FEE, issue_certificate, render_pdf, sign, verify
from choshu.reports.models import Certificate, CertificateFee
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date
ON = D(2024, 8, 1)


def text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


@pytest.fixture
def clerk(sample_city: Any, make_user: Callable[..., Any]) -> Any:
    return make_user("clerk", role=Role.CLERK, municipality=sample_city)


def tp(no: str) -> Taxpayer:
    return Taxpayer.objects.get(taxpayer_no=no)


def test_a_payment_certificate_states_levied_paid_and_unpaid_and_annotates_the_unpaid(
    clerk: Any, write_csv: Callable[..., Any]
) -> None:
    pay(write_csv, "1001", "100001", 30000, "2024-07-01")  # 01 第1期 paid, 第2期 29,000 open
    cert = issue_certificate(actor=clerk, taxpayer=tp("1001"), kind="payment", years=[2024], on=ON,
                             tax_items=["01"], purpose="融資の申込み")  # fmt: skip
    lines = cert.content["lines"]
    assert [(ln["tax_item"], ln["levied"], ln["paid"], ln["unpaid"]) for ln in lines] == [
        ("01", 59000, 30000, 29000)
    ]
    assert cert.content["annotations"] == ["未納額があります（上表の未納額欄のとおり）"]
    assert cert.fee == DEMO_FEE and "デモ値" in cert.fee_source
    assert re.fullmatch(r"2024\d{6}", cert.number)
    pdf = render_pdf(cert)
    assert unembedded_fonts(pdf) == [] and b"IPAexGothic" in pdf
    t = text(pdf)
    for s in ("納税証明書", cert.number, cert.code, "川口太郎", "59,000", "30,000", "29,000", "未納額があります",
              "地方税法第20条の10"):  # fmt: skip
        assert s in t, s
    # rendered to an image: the page has ink (text drawn, not an empty page)
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=1).to_pil().convert("L")
    assert image.getextrema()[0] < 100
    log = AuditLog.objects.get(function="納税証明書の発行")
    assert log.detail["certificate_no"] == cert.number and log.detail["fee"] == DEMO_FEE
    assert log.subject_ids == [tp("1001").pk]


def test_the_fee_is_the_dated_setting_of_the_issue_day(clerk: Any, sample_city: Any) -> None:
    CertificateFee.objects.create(
        municipality=sample_city, valid_from=D(2024, 4, 1), yen=350, source="手数料条例"
    )
    CertificateFee.objects.create(
        municipality=sample_city, valid_from=D(2024, 9, 1), yen=400, source="手数料条例改正"
    )
    a = issue_certificate(actor=clerk, taxpayer=tp("1001"), kind="payment", years=[2024], on=ON)
    b = issue_certificate(actor=clerk, taxpayer=tp("1001"), kind="payment", years=[2024], on=D(2024, 9, 1))
    assert (a.fee, b.fee) == (350, 400)
    assert b.number == f"2024{int(a.number[4:]) + 1:06d}"


def test_the_vehicle_certificate_is_refused_while_unpaid_and_carries_its_validity_once_paid(
    clerk: Any, write_csv: Callable[..., Any]
) -> None:
    hanako = tp("1002")
    with pytest.raises(ValidationError, match="軽自動車税に未納があるため.*2024年度 10,800円"):
        issue_certificate(
            actor=clerk, taxpayer=hanako, kind="vehicle", years=[2024], on=ON, vehicle_no="川口 480 あ 12-34"
        )
    with pytest.raises(ValidationError, match="車両番号"):
        issue_certificate(actor=clerk, taxpayer=hanako, kind="vehicle", years=[2024], on=ON)
    assert not Certificate.objects.exists()
    pay(write_csv, "1002", "500001", 10800, "2024-05-31")
    cert = issue_certificate(actor=clerk, taxpayer=hanako, kind="vehicle", years=[2024], on=ON,
                             vehicle_no="川口 480 あ 12-34")  # fmt: skip
    assert cert.valid_until == D(2025, 5, 31)
    t = text(render_pdf(cert))
    assert (
        "軽自動車税納税証明書（継続検査用）" in t
        and "有効期限令和7年5月31日" in t
        and "未納がないことを証明します" in t
    )
    assert "川口480あ12-34" in t


def test_verification_matches_the_issued_content_and_nothing_else(clerk: Any, sample_city: Any) -> None:
    cert = issue_certificate(actor=clerk, taxpayer=tp("1001"), kind="payment", years=[2024], on=ON)
    assert verify(sample_city, cert.number, cert.code) == cert
    assert verify(sample_city, cert.number, cert.code.lower()) == cert
    assert verify(sample_city, cert.number, "AAAA-AAAA-AAAA-AAAA") is None
    assert verify(sample_city, "2024999999", cert.code) is None
    # a changed amount no longer signs to the code
    content = dict(cert.content, lines=[dict(cert.content["lines"][0], unpaid=0)])
    assert sign(sample_city.code, cert.number, content) != cert.code


def test_bad_requests_are_refused_and_write_nothing(clerk: Any, other_municipality: Any) -> None:
    taro = tp("1001")
    for years in ([], [1999], [2030], list(range(2015, 2022))):
        with pytest.raises(ValidationError, match="年度"):
            issue_certificate(actor=clerk, taxpayer=taro, kind="payment", years=years, on=ON)
    with pytest.raises(ValidationError, match="課税がありません"):
        issue_certificate(actor=clerk, taxpayer=taro, kind="payment", years=[2020], on=ON)
    with pytest.raises(ValidationError, match="種類"):
        issue_certificate(actor=clerk, taxpayer=taro, kind="other", years=[2024], on=ON)
    assert not Certificate.objects.exists()


def test_a_protected_persons_address_is_not_printed_for_a_clerk(clerk: Any) -> None:
    taro = tp("1001")
    taro.support_measure_from = D(2024, 4, 1)
    taro.save(update_fields=["support_measure_from"])
    cert = issue_certificate(actor=clerk, taxpayer=taro, kind="payment", years=[2024], on=ON)
    t = text(render_pdf(cert))
    assert "支援措置のため記載を省略" in t and "東川口" not in t
    assert AuditLog.objects.get(function="納税証明書の発行").detail.get("protected") is True
