"""督促状の PDF (issue 15 §4): one notice for reissue at the counter, and its screen link.

The PDF's text is read back with pypdf; the barcode is rendered (pypdfium2) and decoded by zxing-cpp,
the OCR lines and eL番号 checked with the independent checkers of ``receipts/tests/test_slip_issue.py``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_DEFAULTS, Right
from choshu.accounts.services import right_set
from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import DunningNotice
from choshu.dunning.notice_pdf import WITHHELD, fiscal_year_name, notice_print, render_notice
from choshu.dunning.services import dunning_fee_set
from choshu.dunning.tests.test_dunning_run import notice_of, run
from choshu.operations.tests.test_pdf_fonts import ENGLISH_KEY, unembedded_fonts
from choshu.receipts.slips import confirmation_no
from choshu.receipts.tests.test_slip_issue import _decode_barcodes, gs1_mod10, ocr_check_digits
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def city(sample_city: Any) -> Any:
    dunning_fee_set(
        actor=None, municipality=sample_city, valid_from=D(2024, 4, 1), yen=100, source="市税条例（例）"
    )
    sample_city.office_name = "川口市 市民生活部 納税課"
    sample_city.office_phone = "048-258-1110"
    sample_city.save()
    return sample_city


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_notice_prints_the_demand_its_basis_the_table_the_deadline_and_a_slip_that_checks(
    city: Any, make_user: Callable[..., Any]
) -> None:
    run(city, "2024-09-24")  # 01 第1期 and 第2期 on one notice
    notice = notice_of("100001")
    clerk = make_user("clerk", role=Role.CLERK, municipality=city)
    pdf = render_notice(notice_print(notice, user=clerk, on=D(2024, 10, 1)))
    assert unembedded_fonts(pdf) == [] and b"IPAexGothic" in pdf and b"HeiseiKakuGo" not in pdf
    assert not ENGLISH_KEY.findall(pdf_text(pdf))
    text = pdf_text(pdf)
    flat = re.sub(r"\s", "", text)
    assert "督促状" in flat
    assert "地方税法第329条第1項の規定により督促します" in flat
    assert "地方税法第331条第1項第1号の規定により、財産の差押えなどの滞納処分" in flat
    assert "川口太郎様" in flat and "埼玉県川口市東川口1-2-3" in flat and "〒333-0801" in flat
    for item in ("令和6年度", "個人住民税(普通徴収)", "第1期", "第2期", "令和6年7月1日", "令和6年9月2日",
                 "30,000", "29,000", "59,000"):  # fmt: skip
        assert item in flat, item
    assert f"督促手数料{notice.fee}円" in flat and f"合計（請求額）{notice.total:,}円" in flat
    assert "指定期限令和6年10月4日" in flat  # 2024-09-24 + 10 days (法331条)
    assert "川口市市民生活部納税課" in flat and "048-258-1110" in flat and "審査請求" in flat
    # the slip: the barcode decoded by an independent reader, the OCR lines and the eL番号 recomputed
    assert notice.slip is not None
    slip_no = notice.slip.slip_no
    (symbol,) = _decode_barcodes(pdf)
    digits = re.sub(r"\D", "", symbol.text)
    assert (
        symbol.symbology_identifier == "]C1"
        and len(digits) == 44
        and gs1_mod10(digits[:43]) == int(digits[43])
    )
    assert digits[13:29] == slip_no and int(digits[37:43]) == notice.total and digits[30:36] == "241004"
    lines = re.findall(r"^\d{39,44}$", text, flags=re.M)
    upper = next(x for x in lines if len(x) == 39)
    lower = next(x for x in lines if len(x) == 44 and x != digits)
    assert ocr_check_digits(upper[2:]) == upper[:2] and int(upper[13:24]) == notice.total
    assert ocr_check_digits(lower[2:]) == lower[:2] and lower[13:29] == slip_no
    conf = confirmation_no(city.code, slip_no)
    assert f"11203{slip_no}{conf}001" in flat


def test_fiscal_years_are_named_as_notices_name_them() -> None:
    assert [fiscal_year_name(y) for y in (2024, 2019, 2018, 1989)] == [
        "令和6年度",
        "令和元年度",
        "平成30年度",
        "平成元年度",
    ]


def test_the_screen_prints_it_logs_it_and_a_protected_address_only_for_who_may_see_it(
    city: Any, make_user: Callable[..., Any]
) -> None:
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    hanako.support_measure_from = D(2024, 1, 1)
    hanako.save()
    run(city, "2024-07-15")
    notice = notice_of("500001")
    assert notice.print_in_office
    clerk = make_user("clerk", role=Role.CLERK, municipality=city)
    client = login_verified(Client(), clerk)
    url = reverse("dunning:notice-pdf", args=[notice.pk])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    flat = re.sub(r"\s", "", pdf_text(response.content))
    assert "鳩ヶ谷花子様" in flat and re.sub(r"\s", "", WITHHELD) in flat
    assert "鳩ヶ谷本町" not in flat and "334" not in flat.split("督促状")[0]
    access = AuditLog.objects.get(kind=AuditKind.ACCESS, function="督促状出力（再発行）")
    export = AuditLog.objects.get(kind=AuditKind.EXPORT, function="督促状出力（再発行）")
    for log in (access, export):
        assert log.subject_ids == [hanako.pk] and log.detail["protected"] is True and log.user == clerk
        assert log.detail["notice"] == notice.pk and log.detail["address_withheld"] is True
        assert "address_shown" not in log.detail
    assert export.detail["sha256"] == hashlib.sha256(response.content).hexdigest()
    # a clerk granted the right sees (and the log says so)
    chief = make_user("chief", role=Role.CHIEF, municipality=city)
    right_set(
        actor=chief, user=clerk, right=Right.PROTECTED_ADDRESS_VIEW, granted=True, reason="窓口で本人に手渡し"
    )
    flat = re.sub(r"\s", "", pdf_text(client.get(url).content))
    assert "鳩ヶ谷本町2-1-1" in flat and re.sub(r"\s", "", WITHHELD) not in flat
    latest = AuditLog.objects.filter(kind=AuditKind.EXPORT, function="督促状出力（再発行）").order_by("-pk")[
        0
    ]
    assert latest.detail["address_shown"] is True and latest.detail["address_withheld"] is False


def test_who_may_print_it(city: Any, other_municipality: Any, make_user: Callable[..., Any]) -> None:
    run(city, "2024-07-15")
    notice = notice_of("100001")
    url = reverse("dunning:notice-pdf", args=[notice.pk])
    for role in Role.values:
        client = login_verified(Client(), make_user(f"u_{role}", role=role, municipality=city))
        status = client.get(url).status_code
        assert status == (200 if Right.SLIP_ISSUE in ROLE_DEFAULTS[role] else 403), role
    stranger = login_verified(
        Client(), make_user("stranger", role=Role.CHIEF, municipality=other_municipality)
    )
    assert stranger.get(url).status_code == 404
    clerk = login_verified(Client(), make_user("c2", role=Role.CLERK, municipality=city))
    missing = max(DunningNotice.objects.values_list("pk", flat=True)) + 1
    assert clerk.get(reverse("dunning:notice-pdf", args=[missing])).status_code == 404
    assert clerk.post(url).status_code in (200, 405)  # never a 5xx
    assert AuditLog.objects.filter(kind=AuditKind.EXPORT, function="督促状出力（再発行）").count() >= 2


def test_the_person_page_links_each_notice_for_who_may_print_it(
    city: Any, make_user: Callable[..., Any]
) -> None:
    run(city, "2024-07-15")
    taro = Taxpayer.objects.get(taxpayer_no="1001")
    page = reverse("web:taxpayer-overview", args=[taro.pk])
    links = {reverse("dunning:notice-pdf", args=[n.pk]) for n in DunningNotice.objects.filter(taxpayer=taro)}
    assert len(links) == 2
    clerk = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=city))
    html = clerk.get(page).content.decode()
    assert all(link in html for link in links)
    window = login_verified(Client(), make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=city))
    html = window.get(page).content.decode()
    assert "督促状（PDF）" not in html and not any(link in html for link in links)


def test_every_key_of_the_print_records_has_a_japanese_name(
    city: Any, make_user: Callable[..., Any], tmp_path: Any
) -> None:
    from choshu.core.labels import key_label
    from choshu.dunning.tests.test_print_data import print_data
    from choshu.web.tests.test_japanese_screens import _keys

    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    hanako.support_measure_from = D(2024, 1, 1)
    hanako.save()
    batch = run(city, "2024-07-15")["batch_id"]
    print_data(city, batch, tmp_path / "out.csv")
    client = login_verified(Client(), make_user("clerk", role=Role.CLERK, municipality=city))
    assert client.get(reverse("dunning:notice-pdf", args=[notice_of("500001").pk])).status_code == 200
    written = AuditLog.objects.filter(function__in=["督促状印刷データ出力", "督促状出力（再発行）"])
    assert written.count() == 3
    keys = {k for detail in written.values_list("detail", flat=True) for k in _keys(detail)}
    assert {"notice", "address_withheld", "replaced", "without_codes"} <= keys
    assert sorted(k for k in keys if key_label(k) == k) == []


def test_a_cancelled_notice_prints_marked_and_without_its_slip(
    city: Any, make_user: Callable[..., Any]
) -> None:
    from choshu.dunning.models import NoticeStatus

    run(city, "2024-07-15")
    notice = notice_of("100001")
    DunningNotice.objects.filter(pk=notice.pk).update(status=NoticeStatus.CANCELLED)
    notice.refresh_from_db()
    clerk = make_user("clerk", role=Role.CLERK, municipality=city)
    pdf = render_notice(notice_print(notice, user=clerk, on=D(2024, 8, 1)))
    flat = re.sub(r"\s", "", pdf_text(pdf))
    assert "督促状（取消）" in flat and "この督促状は取り消されています" in flat
    assert "領収証書" not in flat and _decode_barcodes(pdf) == []
