"""納付書の発行・再発行 (issue 13 §4): amounts with the 延滞金 of the stated day, the printed codes checked
by independent checkers, 発行履歴, 支援措置, and the permission matrix of the new screens.

The independent checkers: the barcode is rendered from the PDF (pypdfium2) and decoded by zxing-cpp,
whose GS1 reading needs FNC1 in the first position (symbology identifier ``]C1``); the OCR lines and
the eL番号 are read back from the PDF text (pypdf) and their check digits recomputed here with the
loops of formats-reference §2.1 and §5, not with ``rules.check_digits``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from conftest import LEVIES_BOOKED_ON, LEVY_HEADER, TAXPAYER_HEADER, login_verified
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_CEILING, ROLE_DEFAULTS, Right
from choshu.audit.models import AuditKind, AuditLog
from choshu.formats.slipcodes import ocr_upper
from choshu.levies.models import Installment
from choshu.receipts.models import PaymentSlip, SlipIssue
from choshu.receipts.slip_issue import slip_issue
from choshu.receipts.slip_pdf import barcode_symbol
from choshu.receipts.slips import confirmation_no
from choshu.rules.late_charge import compute_late_charge
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import ProtectedPersonRefused


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- independent checkers (formats-reference §2.1 and §5, written out again here) -----------------


def gs1_mod10(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def ocr_check_digits(body: str) -> str:
    s10 = s11 = 0
    w10, w11 = 9, 3
    for i, ch in enumerate(body):
        d = int(ch)
        if i % 2 == 0:
            s10 += d * w10
            w10 = 9 if w10 == 2 else w10 - 1
            s11 += d
        else:
            s10 += d
            s11 += d * w11
            w11 = 2 if w11 == 9 else w11 + 1
    cd2 = s10 % 10
    cd1 = (s11 + 2 * cd2) % 11
    return f"{0 if cd1 == 10 else cd1}{cd2}"


def test_the_independent_checkers_agree_with_the_published_vectors() -> None:
    assert gs1_mod10("91" + "912345" + "0123456789012345678901" + "010331" + "0" + "123000") == 3
    assert ocr_check_digits("0000000000000000003600226000033421101") == "61"
    assert ocr_check_digits("100250881102000000061050501000000000000000") == "22"


def test_reportlab_encodes_fnc1_first_and_every_digit_pair_in_code_set_c() -> None:
    digits = "91912345012345678901234567890101033101230003"
    symbol = barcode_symbol(digits)
    symbol.validate()
    encoded = symbol.encode()
    # Start C (105), FNC1 (102), then 22 pairs as their values, the mod-103 check, Stop (106)
    pairs = [int(digits[i : i + 2]) for i in range(0, 44, 2)]
    assert encoded[:2] == [105, 102] and encoded[2:24] == pairs and encoded[-1] == 106
    check = (105 + sum(i * v for i, v in enumerate([102, *pairs], start=1))) % 103
    assert encoded[24] == check and len(encoded) == 26


def test_the_upper_ocr_line_carries_the_amount_the_city_and_the_era_year() -> None:
    line = ocr_upper(amount=123456, municipality_code="112038", tax_item="01", levy_year=2026)
    assert len(line) == 39 and ocr_check_digits(line[2:]) == line[:2]
    body = line[2:]
    assert body[:11] == "0" * 11 and int(body[11:22]) == 123456 and body[22] == "2"
    assert body[23:28] == "11203" and body[28:32] == "0001" and body[32:34] == "08"  # 令和8年度
    assert ocr_upper(amount=1, municipality_code="112038", tax_item="04", levy_year=2018)[2:][32:34] == "30"
    for bad in ({"amount": 0}, {"tax_item": "99"}, {"municipality_code": "1120"}, {"levy_year": 1900}):
        args: dict[str, Any] = {
            "amount": 1,
            "municipality_code": "112038",
            "tax_item": "01",
            "levy_year": 2026,
        }
        with pytest.raises(ValueError):
            ocr_upper(**(args | bad))


# --- the slip ----------------------------------------------------------------------------------------


def _taro(city: Any) -> Taxpayer:
    return Taxpayer.objects.get(municipality=city, taxpayer_no="1001")


def _residents(city: Any) -> list[Installment]:
    """川口 太郎's two 個人住民税 期別 (30,000 due 2024-07-01, 29,000 due 2024-09-02)."""
    return list(Installment.objects.filter(taxpayer=_taro(city), levy__tax_item="01").order_by("due_date"))


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _decode_barcodes(pdf: bytes) -> list[Any]:
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=600 / 72).to_pil()
    return [r for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.Code128]


def test_a_combined_slip_prints_the_late_charge_of_the_day_and_codes_that_check(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    today = timezone.localdate()
    as_of = today + timedelta(days=10)
    first, second = _residents(sample_city)
    issue, pdf = slip_issue(
        actor=clerk,
        taxpayer=_taro(sample_city),
        installment_ids=[first.pk, second.pk],
        late_charge_as_of=as_of,
        pay_by=as_of,
        today=today,
    )
    # 延滞金 as rules.late_charge computes it for the stated day (no payment made)
    expected = [
        compute_late_charge(
            principal=i.principal_levied, due_date=i.due_date, until=as_of, payments=[]
        ).late_charge
        for i in (first, second)
    ]
    assert sum(expected) > 0
    assert [line["late_charge"] for line in issue.printed["lines"]] == expected
    assert (issue.principal, issue.late_charge, issue.total) == (59000, sum(expected), 59000 + sum(expected))
    assert PaymentSlip.objects.get(slip_no=issue.slip_no).installments.count() == 2  # a combined slip
    assert not issue.reissue and issue.issued_by == clerk

    text = _pdf_text(pdf)
    assert "領収証書" in text and "領収済通知書" in text and "納付書" in text
    assert "川口 太郎" in text and "東川口1-2-3" in text  # 宛名 (registered address: no 送付先)
    assert f"{issue.total:,}円" in text and f"{issue.late_charge:,}円" in text
    assert "令和" in text  # 和暦

    # the barcode, decoded from the rendered page by an independent reader
    (symbol,) = _decode_barcodes(pdf)
    assert symbol.symbology_identifier == "]C1"  # GS1-128: FNC1 in the first position
    digits = re.sub(r"\D", "", symbol.text)
    assert symbol.text.startswith("(91)") and len(digits) == 44
    assert gs1_mod10(digits[:43]) == int(digits[43])
    assert digits[2:8] == "912345" and digits[8:13] == "11203" and digits[13:29] == issue.slip_no
    assert digits[29] == "0"  # 再発行区分: the first issue
    assert digits[30:36] == as_of.strftime("%y%m%d") and int(digits[37:43]) == issue.total

    # the OCR lines: 39 and 44 digits, check digits recomputed here
    lines = re.findall(r"^\d{39,44}$", text, flags=re.M)
    upper = next(x for x in lines if len(x) == 39)
    lower = next(x for x in lines if len(x) == 44 and x != digits)
    assert ocr_check_digits(upper[2:]) == upper[:2] and int(upper[13:24]) == issue.total
    assert ocr_check_digits(lower[2:]) == lower[:2]
    assert lower[13:29] == issue.slip_no and lower[29:33] == confirmation_no(sample_city.code, issue.slip_no)

    # the eL番号: 収納機関番号 + 納付番号 + 確認番号 + 納付区分
    match = re.search(r"eL番号\s*\n?([\d ]{28,40})", text)
    assert match is not None
    el = match.group(1).replace(" ", "")
    assert el == f"11203{issue.slip_no}{confirmation_no(sample_city.code, issue.slip_no)}001"
    assert gs1_mod10(issue.slip_no[:15]) == int(issue.slip_no[15])  # the 納付番号's own check digit

    log = AuditLog.objects.get(kind=AuditKind.CHANGE, function="納付書発行")
    assert log.detail["slip_issue"] == issue.pk and log.detail["late_charge_as_of"] == as_of.isoformat()


def test_a_single_installment_keeps_its_number_and_a_reissue_needs_a_reason(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    today = timezone.localdate()
    first = _residents(sample_city)[0]
    args = {"actor": clerk, "taxpayer": _taro(sample_city), "installment_ids": [first.pk], "today": today}
    issue, _ = slip_issue(late_charge_as_of=today, pay_by=today, **args)
    assert issue.slip_no == first.slip_no and issue.payment_slip is None
    with pytest.raises(ValidationError, match="再発行の理由"):
        slip_issue(late_charge_as_of=today, pay_by=today, **args)
    again, pdf = slip_issue(late_charge_as_of=today, pay_by=today, reason="紛失", **args)
    assert again.reissue and again.reason == "紛失" and again.reissue_no == 1
    (symbol,) = _decode_barcodes(pdf)
    assert re.sub(r"\D", "", symbol.text)[29] == "1"  # 再発行区分
    assert "再発行" in _pdf_text(pdf)
    assert SlipIssue.objects.filter(taxpayer=first.taxpayer).count() == 2


def test_bad_input_is_refused_in_japanese_and_issues_nothing(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    today = timezone.localdate()
    taro = _taro(sample_city)
    first = _residents(sample_city)[0]
    other = Installment.objects.filter(taxpayer__taxpayer_no="1002").first()
    assert other is not None
    cases = [
        ([], today, today, "1件以上"),
        ([first.pk], today - timedelta(days=1), today - timedelta(days=1), "今日以降"),
        ([first.pk], today, today + timedelta(days=1), "計算基準日以前"),
        ([first.pk, other.pk], today, today, "この宛名の期別ではありません"),
    ]
    for ids, as_of, pay_by, message in cases:
        with pytest.raises(ValidationError, match=message):
            slip_issue(
                actor=clerk, taxpayer=taro, installment_ids=ids, late_charge_as_of=as_of, pay_by=pay_by
            )
    window = make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city)
    with pytest.raises(PermissionDenied):
        slip_issue(
            actor=window, taxpayer=taro, installment_ids=[first.pk], late_charge_as_of=today, pay_by=today
        )
    assert not SlipIssue.objects.exists() and not PaymentSlip.objects.exists()


def test_a_protected_person_gets_no_slip_and_the_refusal_is_logged(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    taro = _taro(sample_city)
    today = timezone.localdate()
    Taxpayer.objects.filter(pk=taro.pk).update(support_measure_from=date(2020, 1, 1))  # 支援措置 since 2020
    taro = _taro(sample_city)
    assert taro.is_protected(today)
    with pytest.raises(ProtectedPersonRefused, match="支援措置"):
        slip_issue(
            actor=clerk,
            taxpayer=taro,
            installment_ids=[_residents(sample_city)[0].pk],
            late_charge_as_of=today,
            pay_by=today,
        )
    assert not SlipIssue.objects.exists()
    log = AuditLog.objects.get(function="納付書発行")
    assert "支援措置" in log.detail["refused"]


# --- screens -----------------------------------------------------------------------------------------


def test_issuing_slips_is_a_right_of_staff_with_sensible_defaults() -> None:
    for role in (Role.CLERK, Role.CASE_OFFICER, Role.CHIEF):
        assert Right.SLIP_ISSUE in ROLE_DEFAULTS[role] and Right.SLIP_ISSUE in ROLE_CEILING[role]
    for role in (Role.WINDOW_CONTRACTOR, Role.CALLCENTER_OPERATOR, Role.SUPPORT_CONTRACTOR, Role.AUDITOR):
        assert Right.SLIP_ISSUE not in ROLE_DEFAULTS[role] and Right.SLIP_ISSUE not in ROLE_CEILING[role]


@pytest.fixture
def issued(sample_city: Any, make_user: Callable[..., Any], write_csv: Callable[..., Path]) -> dict[str, Any]:
    from choshu.core.services import municipality_create
    from choshu.levies.services import levies_import
    from choshu.taxpayers.services import taxpayers_import

    other = municipality_create(code="112232", name="蕨市", eltax_agency_no="11223")
    taxpayers_import(
        municipality=other,
        path=write_csv(
            TAXPAYER_HEADER,
            ["1001,individual,蕨 三郎,ワラビ サブロウ,1980-01-01,1,3350002,埼玉県蕨市塚越1-1-1,,,,,1,"],
        ),
    )
    levies_import(
        municipality=other,
        path=write_csv(LEVY_HEADER, ["01,2024,100001,1001,1,2024-07-01,30000,"]),
        booking_date=LEVIES_BOOKED_ON,
    )
    users = {role: make_user(str(role), role=role, municipality=sample_city) for role in Role}
    other_clerk = make_user("warabi", role=Role.CLERK, municipality=other)
    today = timezone.localdate()
    mine, _ = slip_issue(
        actor=users[Role.CLERK], taxpayer=_taro(sample_city), installment_ids=[_residents(sample_city)[0].pk],
        late_charge_as_of=today, pay_by=today,
    )  # fmt: skip
    warabi_tp = Taxpayer.objects.get(municipality=other, taxpayer_no="1001")
    theirs, _ = slip_issue(
        actor=other_clerk, taxpayer=warabi_tp, installment_ids=list(warabi_tp.installments.values_list("pk", flat=True)),
        late_charge_as_of=today, pay_by=today,
    )  # fmt: skip
    return {"users": users, "mine": mine, "theirs": theirs, "taro": _taro(sample_city), "warabi": warabi_tp}


def _urls(w: dict[str, Any], own: bool) -> dict[str, tuple[str, str]]:
    tp = w["taro"] if own else w["warabi"]
    issue = w["mine"] if own else w["theirs"]
    return {
        Right.SLIP_ISSUE: ("get", reverse("receipts:slip-issue", args=[tp.pk])),
        Right.TAXPAYER_VIEW: ("get", reverse("receipts:slip-issue-detail", args=[issue.pk])),
        "pdf": ("get", reverse("receipts:slip-issue-pdf", args=[issue.pk])),
    }


def test_the_new_screens_need_sign_in_the_right_and_the_same_municipality(issued: dict[str, Any]) -> None:
    for _method, url in _urls(issued, own=True).values():
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url
    rights = {
        Right.SLIP_ISSUE: Right.SLIP_ISSUE,
        Right.TAXPAYER_VIEW: Right.TAXPAYER_VIEW,
        "pdf": Right.SLIP_ISSUE,
    }
    for role, user in issued["users"].items():
        client = login_verified(Client(), user)
        for key, (_method, url) in _urls(issued, own=True).items():
            allowed = rights[key] in ROLE_DEFAULTS[role]
            assert client.get(url).status_code == (200 if allowed else 403), (role, key)
        if Right.SLIP_ISSUE in ROLE_DEFAULTS[role]:
            for key, (_method, url) in _urls(issued, own=False).items():
                assert client.get(url).status_code == 404, (role, key)  # another municipality's


def test_a_clerk_issues_a_slip_from_the_person_page_and_sees_it_in_the_history(
    issued: dict[str, Any],
) -> None:
    clerk = issued["users"][Role.CLERK]
    client = login_verified(Client(), clerk)
    taro = issued["taro"]
    page = client.get(reverse("web:taxpayer-overview", args=[taro.pk])).content.decode()
    assert "納付書の発行履歴" in page and reverse("receipts:slip-issue", args=[taro.pk]) in page
    assert issued["mine"].slip_no in page
    form = client.get(reverse("receipts:slip-issue", args=[taro.pk]))
    assert "発行済み（再発行）" in form.content.decode()
    assert "個人住民税(普通徴収) 2024年度" in re.sub(r"<[^>]+>|\s+", " ", form.content.decode())  # 税目 named
    today = timezone.localdate().isoformat()
    second = _residents(issued["mine"].municipality)[1]
    response = client.post(
        reverse("receipts:slip-issue", args=[taro.pk]),
        {"installments": [str(second.pk)], "late_charge_as_of": today, "pay_by": today},
    )
    assert response.status_code == 302
    issue = SlipIssue.objects.latest("pk")
    assert response["Location"] == reverse("receipts:slip-issue-detail", args=[issue.pk])
    assert list(issue.installments.all()) == [second]
    pdf = client.get(reverse("receipts:slip-issue-pdf", args=[issue.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert AuditLog.objects.filter(kind=AuditKind.EXPORT, function="納付書出力").count() == 1
    # a reissue without a reason: a Japanese error, nothing issued
    response = client.post(
        reverse("receipts:slip-issue", args=[taro.pk]),
        {"installments": [str(second.pk)], "late_charge_as_of": today, "pay_by": today},
    )
    assert response.status_code == 400 and "再発行の理由を入力してください" in response.content.decode()
    assert SlipIssue.objects.filter(taxpayer=taro).count() == 2
    bad = client.post(
        reverse("receipts:slip-issue", args=[taro.pk]), {"late_charge_as_of": "x", "pay_by": ""}
    )
    assert bad.status_code == 400 and "期別を1件以上選んでください" in bad.content.decode()
