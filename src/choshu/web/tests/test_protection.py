"""支援措置 (issue 12 §5): a protected person's every screen warns in red; the address (住所・方書・送付先)
is shown only to a user holding the explicit right, on every screen, HTMX fragment and search; the
disclosure export refuses the person and writes no file; every access is logged as protected."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import login_verified
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_DEFAULTS, Right, has_right
from choshu.accounts.services import right_set
from choshu.approvals.models import ChangeRequest
from choshu.approvals.services import request_approve
from choshu.audit.models import AuditKind, AuditLog
from choshu.formats.payments import ELTAX_HEADER
from choshu.formats.taxpayers_csv import HEADER
from choshu.operations.disclosure import disclosure_export
from choshu.receipts.models import Payment, SuspenseItem
from choshu.receipts.receipt_pdf import ReceiptData
from choshu.receipts.services import counter_receipt_take, payments_import
from choshu.receipts.slips import taxpayer_slips
from choshu.rules.check_digits import make_slip_no
from choshu.taxpayers import protection
from choshu.taxpayers.changes import taxpayer_edit_request
from choshu.taxpayers.models import MailingAddress, Taxpayer
from choshu.taxpayers.services import taxpayers_import
from choshu.web.tests.conftest import by_no

# 川口 太郎 (1001) as sample_city has him, now with a 送付先 and under 支援措置 since 2020
TARO = (
    "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,メゾン東川口202,"
    "048-111-2222,621498320257,,1,"
)
ADDRESS_BITS = ("東川口1-2-3", "メゾン東川口", "3330801", "333-0801", "芝新町9-9-9", "3330866", "333-0866")
PROTECTED_SINCE = "2020-01-01"
UNKNOWN_SLIP = make_slip_no("444444444444444")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAR_DIR = tmp_path


@dataclass
class World:
    city: Any
    taro: Taxpayer
    users: dict[str, Any]
    payment: Payment
    item: SuspenseItem
    request: ChangeRequest


def _protect(
    city: Any, write_csv: Callable[..., Path], since: str = PROTECTED_SINCE, until: str = ""
) -> None:
    row = f"{TARO},{since},{until},JUKI01,2019-12-27,16:30:00"
    taxpayers_import(municipality=city, path=write_csv(",".join(HEADER), [row]))


@pytest.fixture
def world(sample_city: Any, make_user: Callable[..., Any], write_csv: Callable[..., Path]) -> World:
    users = {
        "window": make_user("window", role=Role.WINDOW_CONTRACTOR, municipality=sample_city),
        "clerk": make_user("clerk", role=Role.CLERK, municipality=sample_city),
        "chief": make_user("chief", role=Role.CHIEF, municipality=sample_city),
        "chief_granted": make_user("chief2", role=Role.CHIEF, municipality=sample_city),
        "clerk_granted": make_user("clerk2", role=Role.CLERK, municipality=sample_city),
    }
    for name in ("chief_granted", "clerk_granted"):
        right_set(
            actor=users["chief"],
            user=users[name],
            right=Right.PROTECTED_ADDRESS_VIEW,
            granted=True,
            reason="DV担当",
        )
    taro = by_no(sample_city, "1001")
    # a 送付先 set through the two-person check, before the 支援措置 began
    edit = taxpayer_edit_request(
        actor=users["clerk"],
        taxpayer=taro,
        changes={"mailing_postal_code": "3330866", "mailing_address": "埼玉県川口市芝新町9-9-9"},
        reason="送付先届",
    )
    request_approve(actor=users["chief"], request=edit, decided_on=date(2024, 6, 1))
    _protect(sample_city, write_csv)
    taro = by_no(sample_city, "1001")
    slip = taxpayer_slips(sample_city, taro.pk)[0].slip_no
    payment = counter_receipt_take(
        actor=users["clerk"],
        municipality=sample_city,
        slip_no=slip,
        amount=1000,
        paid_on=timezone.localdate(),
    )
    row = f"t-1,{sample_city.eltax_agency_no},{UNKNOWN_SLIP},1234,001,700,2024-05-30,2024-06-03,0"
    payments_import(municipality=sample_city, channel="eltax", path=write_csv(",".join(ELTAX_HEADER), [row]))
    item = SuspenseItem.objects.get(payment__reference__contains="t-1")
    # a pending correction of his address by someone who may see it
    pending = taxpayer_edit_request(
        actor=users["chief_granted"],
        taxpayer=taro,
        changes={"address": "埼玉県川口市東川口1-2-3 改", "address_extra": ""},
        reason="転居",
    )
    return World(sample_city, taro, {k: _reload(v) for k, v in users.items()}, payment, item, pending)


def _reload(user: Any) -> Any:
    """The user read again (rights are cached on the instance)."""
    return type(user).objects.get(pk=user.pk)


def _client(user: Any) -> Client:
    return login_verified(Client(), user)


def _first_installment(w: World) -> int:
    from choshu.levies.models import Installment

    return Installment.objects.filter(taxpayer=w.taro).order_by("pk").values_list("pk", flat=True)[0]


def _screens(w: World) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Every screen showing 川口 太郎: name → (method, url, data)."""
    tp = w.taro.pk
    slip = w.payment.slip_no
    return {
        "search by kana": ("get", reverse("web:search"), {"kana": "カワグチ"}),
        "overview": ("get", reverse("web:taxpayer-overview", args=[tp]), {}),
        "late charge derivation": (
            "get",
            reverse("web:late-charge-derivation", args=[tp, _first_installment(w)]),
            {"as_of": "2026-01-31"},
        ),
        "counter by number": ("get", reverse("receipts:counter"), {"taxpayer_no": "1001"}),
        "counter by slip": ("get", reverse("receipts:counter"), {"slip_no": slip}),
        "counter result": ("get", reverse("receipts:counter-result", args=[w.payment.pk]), {}),
        "payment detail": ("get", reverse("receipts:payment-detail", args=[w.payment.pk]), {}),
        "suspense candidates": (
            "get",
            reverse("receipts:suspense-detail", args=[w.item.pk]),
            {"search": "1", "kana": "カワグチ"},
        ),
        "approval queue": ("get", reverse("approvals:queue"), {"status": "all"}),
        "approval detail": ("get", reverse("approvals:detail", args=[w.request.pk]), {}),
        "correction form": ("get", reverse("approvals:taxpayer-edit", args=[tp]), {}),
        "my number link form": ("get", reverse("approvals:my-number-link", args=[tp]), {}),
        "my number reveal": (
            "post",
            reverse("web:my-number-reveal", args=[tp]),
            {"purpose": "identity_check"},
        ),
        "disclosure": ("post", reverse("web:disclosure", args=[tp]), {}),
        "slip issue form": ("get", reverse("receipts:slip-issue", args=[tp]), {}),
        "slip issue": (
            "post",
            reverse("receipts:slip-issue", args=[tp]),
            {
                "installments": [str(i) for i in w.taro.installments.values_list("pk", flat=True)],  # type: ignore[dict-item]
                "late_charge_as_of": timezone.localdate().isoformat(),
                "pay_by": timezone.localdate().isoformat(),
            },
        ),
    }


def _fetch(client: Client, method: str, url: str, data: dict[str, str], **extra: Any) -> Any:
    return getattr(client, method)(url, data, **extra)


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


SEES_ADDRESS = {"window": False, "clerk": False, "chief": False, "chief_granted": True, "clerk_granted": True}


@pytest.mark.parametrize("role", list(SEES_ADDRESS))
def test_no_page_of_a_protected_person_holds_the_address_for_a_role_without_the_right(
    world: World, role: str
) -> None:
    """The guard: every screen of the person, as each role, grepped for any piece of the address."""
    client = _client(world.users[role])
    shown = warned = 0
    for name, (method, url, data) in _screens(world).items():
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = _fetch(client, method, url, data, **extra)
            assert response.status_code in (200, 302, 403, 404, 409), (name, response.status_code)
            if response.status_code not in (200, 409):
                continue
            shown += 1
            page = response.content.decode()
            # every page naming him warns (a fragment is swapped into a page that does)
            if "川口 太郎" in page and (not extra or name.startswith("search")):
                warned += 1
                assert protection.WARNING in page, name  # the red warning, with the period
                assert "支援措置期間 2020/01/01〜（終了日の定めなし）" in page, name
            if not SEES_ADDRESS[role]:
                leaked = [bit for bit in ADDRESS_BITS if bit in page]
                assert not leaked, (role, name, leaked)
    assert shown >= 6 and warned >= 4, role  # every role reaches several of the screens


@pytest.mark.parametrize("role", ["chief_granted", "clerk_granted"])
def test_a_user_granted_the_right_sees_the_address_and_the_warning(world: World, role: str) -> None:
    client = _client(world.users[role])
    page = _text(client.get(reverse("web:taxpayer-overview", args=[world.taro.pk])))
    assert "〒3330801 埼玉県川口市東川口1-2-3 メゾン東川口202" in page
    assert "〒3330866 埼玉県川口市芝新町9-9-9" in page
    assert protection.WARNING in page and protection.MASK not in page


@pytest.mark.parametrize("role", ["window", "clerk", "chief"])
def test_the_overview_and_the_search_row_say_the_address_is_masked(world: World, role: str) -> None:
    client = _client(world.users[role])
    overview = _text(client.get(reverse("web:taxpayer-overview", args=[world.taro.pk])))
    assert overview.count(protection.MASK) >= 2  # 住所 and 送付先
    row = _text(client.get(reverse("web:search"), {"kana": "カワグチ"}, HTTP_HX_REQUEST="true"))
    assert "川口 太郎" in row and protection.MASK in row
    other = _text(client.get(reverse("web:search"), {"kana": "ハトガヤ"}, HTTP_HX_REQUEST="true"))
    assert "埼玉県川口市鳩ヶ谷本町2-1-1" in other and protection.MASK not in other  # others as before


def test_a_search_by_address_does_not_find_a_protected_person_without_the_right(world: World) -> None:
    for role, found in (("clerk", False), ("window", False), ("chief", False), ("chief_granted", True)):
        page = _text(_client(world.users[role]).get(reverse("web:search"), {"address": "東川口1"}))
        assert ("川口 太郎" in page) is found, role
    log = AuditLog.objects.filter(function="宛名検索").order_by("pk").last()
    assert log is not None and log.subject_ids == [world.taro.pk]
    assert log.detail["protected"] is True and log.detail["address_shown"] is True


def test_every_access_to_the_person_is_logged_as_protected(world: World) -> None:
    clerk = _client(world.users["clerk"])
    clerk.get(reverse("web:taxpayer-overview", args=[world.taro.pk]))
    log = AuditLog.objects.filter(function="個人別収納状況照会").latest("pk")
    assert log.detail["protected"] is True and log.detail["protected_ids"] == [world.taro.pk]
    assert "address_shown" not in log.detail
    _client(world.users["chief_granted"]).get(reverse("web:taxpayer-overview", args=[world.taro.pk]))
    log = AuditLog.objects.filter(function="個人別収納状況照会").latest("pk")
    assert log.detail["protected"] is True and log.detail["address_shown"] is True
    # the counter shows no address: protected, never address_shown, even for one who may see it
    _client(world.users["chief_granted"]).get(reverse("receipts:counter"), {"taxpayer_no": "1001"})
    log = AuditLog.objects.filter(function="窓口収納（納付書照会）").latest("pk")
    assert log.detail["protected"] is True and "address_shown" not in log.detail
    # someone else's record says nothing of the kind
    clerk.get(reverse("web:taxpayer-overview", args=[by_no(world.city, "1002").pk]))
    log = AuditLog.objects.filter(function="個人別収納状況照会").latest("pk")
    assert "protected" not in log.detail


def test_accesses_after_the_period_ended_are_ordinary(
    sample_city: Any, make_user: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    _protect(sample_city, write_csv, since="2020-01-01", until="2020-12-31")
    clerk = make_user("clerk", role=Role.CLERK, municipality=sample_city)
    page = _client(clerk).get(reverse("web:taxpayer-overview", args=[by_no(sample_city, "1001").pk]))
    text = page.content.decode()
    assert protection.WARNING not in text and "東川口1-2-3" in text
    assert "protected" not in AuditLog.objects.filter(function="個人別収納状況照会").latest("pk").detail


def test_the_disclosure_export_refuses_the_person_and_writes_no_file(world: World, tmp_path: Path) -> None:
    client = _client(world.users["chief_granted"])
    response = client.post(reverse("web:disclosure", args=[world.taro.pk]))
    assert response.status_code == 409
    text = _text(response)
    assert "支援措置対象者のため、開示請求用の出力（CSV・PDF）を作成しません" in text
    assert "手作業で対応してください" in text
    assert not [p for p in (tmp_path / "exports").rglob("*") if p.is_file()]
    log = AuditLog.objects.get(kind=AuditKind.EXPORT, function="開示請求出力")
    assert (
        log.detail["files"] == {} and "支援措置" in log.detail["refused"] and log.detail["protected"] is True
    )


def test_the_disclosure_service_and_command_refuse_too(world: World, tmp_path: Path) -> None:
    with pytest.raises(protection.ProtectedPersonRefused, match="手作業"):
        disclosure_export(
            actor=world.users["chief"], taxpayer=world.taro, folder=tmp_path / "a", as_of=date(2026, 1, 5)
        )
    assert not (tmp_path / "a").exists()
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "disclosure_export", "--taxpayer", "1001", "--operator", "chief", "--output", str(tmp_path / "b"),
            "--json", stdout=out,
        )  # fmt: skip
    assert caught.value.returncode == 2
    assert '"refused": true' in out.getvalue() and "支援措置対象者" in out.getvalue()
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_the_receipt_prints_no_address_so_a_protected_person_gets_one(world: World) -> None:
    assert not {"address", "postal_code", "mailing_address"} & {f.name for f in fields(ReceiptData)}
    response = _client(world.users["clerk"]).get(reverse("receipts:receipt-pdf", args=[world.payment.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert not any(bit.encode() in response.content for bit in ADDRESS_BITS)


def test_the_correction_form_leaves_out_an_address_the_user_may_not_see(world: World) -> None:
    page = _client(world.users["clerk"]).get(reverse("approvals:taxpayer-edit", args=[world.taro.pk]))
    assert 'name="address"' not in page.content.decode() and 'name="phone"' in page.content.decode()
    with pytest.raises(Exception, match="住所の表示権限"):
        taxpayer_edit_request(
            actor=world.users["clerk"], taxpayer=world.taro, changes={"address": "どこか"}, reason="x"
        )
    granted = _client(world.users["clerk_granted"]).get(
        reverse("approvals:taxpayer-edit", args=[world.taro.pk])
    )
    assert 'value="埼玉県川口市東川口1-2-3"' in granted.content.decode()


def test_the_approval_screens_mask_a_correction_of_the_address(world: World) -> None:
    chief = _client(world.users["chief"])
    detail = _text(chief.get(reverse("approvals:detail", args=[world.request.pk])))
    assert protection.MASK in detail and "東川口1-2-3 改" not in detail
    granted = _text(
        _client(world.users["chief_granted"]).get(reverse("approvals:detail", args=[world.request.pk]))
    )
    assert "埼玉県川口市東川口1-2-3 改" in granted


def test_no_role_holds_the_right_by_default_and_the_rights_screen_names_it(world: World) -> None:
    assert not any(Right.PROTECTED_ADDRESS_VIEW in rights for rights in ROLE_DEFAULTS.values())
    assert has_right(world.users["clerk_granted"], Right.PROTECTED_ADDRESS_VIEW)
    assert not has_right(world.users["window"], Right.PROTECTED_ADDRESS_VIEW)
    page = _client(world.users["chief"]).get(reverse("accounts:user-detail", args=[world.users["clerk"].pk]))
    assert "支援措置対象者の住所の表示" in page.content.decode()


def test_a_mailing_address_row_is_masked_by_the_helper(world: World) -> None:
    row = MailingAddress(
        municipality=world.city,
        taxpayer=world.taro,
        tax_item="01",
        postal_code="3330866",
        address="埼玉県川口市芝新町9-9-9",
        changed_at=timezone.now(),
    )
    today = timezone.localdate()
    masked = protection.shown_mailing_address(row, user=world.users["clerk"], on=today)
    assert (masked.postal_code, masked.address, masked.masked) == (protection.MASK, protection.MASK, True)
    shown = protection.shown_mailing_address(row, user=world.users["clerk_granted"], on=today)
    assert shown.address == "埼玉県川口市芝新町9-9-9" and not shown.masked


def test_printable_and_the_refusal_reason_follow_the_period(world: World) -> None:
    assert not protection.printable(world.taro, date(2026, 1, 5))
    reason = protection.refuse_reason(world.taro, date(2026, 1, 5), "督促状")
    assert (
        reason is not None
        and "川口 太郎（宛名番号 1001）は支援措置対象者のため、督促状を作成しません" in reason
    )
    assert protection.printable(world.taro, date(2019, 12, 31))
    assert protection.refuse_reason(world.taro, date(2019, 12, 31)) is None
    assert protection.printable(by_no(world.city, "1002"), date(2026, 1, 5))
