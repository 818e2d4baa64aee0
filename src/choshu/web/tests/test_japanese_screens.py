"""Japanese on every screen (issue 13 §6): the guard.

Every screen is fetched with data on it (approvals of each kind, suspense items with a pending
assignment, payments, a reversal, audit records) and its *visible* text (tags, scripts and attributes
stripped) is checked for
- English internal keys: snake_case tokens (``slip_no``, ``taxpayer_edit``), bare code words
  (``created``, ``kind``, ``payload``…), raw ISO dates and timestamps (``2024-06-03``);
- amounts of 1,000 yen or more written without separators (a number before 円, or in a table column
  or a ``<dt>`` whose heading says 円 or 額).

A new screen is one more line in ``_screens`` (name → role, method, url, data).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.models import Role
from choshu.approvals.models import ChangeRequest
from choshu.approvals.services import request_approve
from choshu.audit.models import AuditLog
from choshu.core.labels import key_label
from choshu.dunning.models import DunningNotice, DunningSuppression, ReturnReason, SuppressionReason
from choshu.dunning.returned import ReturnLine, public_notice_record, returned_mail_register
from choshu.dunning.services import dunning_fee_set, dunning_run, suppression_add, suppression_request
from choshu.formats.payments import ELTAX_HEADER
from choshu.levies.models import Installment
from choshu.receipts.models import Payment, SuspenseItem
from choshu.receipts.services import (
    counter_receipt_take,
    payment_reverse,
    payments_import,
    suspense_assign_request,
)
from choshu.receipts.slips import taxpayer_slips
from choshu.relief.models import Relief
from choshu.relief.relief import relief_request
from choshu.rules.check_digits import make_slip_no
from choshu.taxpayers.changes import my_number_link_request, taxpayer_edit_request
from choshu.taxpayers.mailing_changes import MailingValues, mailing_address_request
from choshu.taxpayers.models import Taxpayer
from choshu.web.tests.conftest import by_no

UNKNOWN_SLIP = make_slip_no("444444444444444")

# Words that may appear in visible text although they are lower-case ASCII: the test users' login
# names (shown beside the display name in the audit list) and nothing else.
USER_NAMES = {"chief", "clerk", "auditor", "chief2"}

SNAKE = re.compile(r"(?<![A-Za-z0-9_.@/-])[a-z][a-z0-9]*_[a-z0-9_]+(?![A-Za-z0-9_])")
WORD = re.compile(r"(?<![A-Za-z0-9_.@/-])[a-z]{3,}(?![A-Za-z0-9_])")
ISO = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")
BARE_YEN = re.compile(r"(?<![\d,.])\d{4,}\s*円")
FILE_NAME = re.compile(r"[\w./-]+\.(?:csv|pdf|txt|zip|json)\b")
BARE_NUMBER = re.compile(r"(?<![\d,.#])\d{4,}(?![\d,])")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAR_DIR = tmp_path


@dataclass
class World:
    taro: Taxpayer
    users: dict[str, Any]
    payment: Payment
    reversed_payment: Payment
    item: SuspenseItem
    requests: dict[str, ChangeRequest]


@pytest.fixture
def world(sample_city: Any, make_user: Callable[..., Any], write_csv: Callable[..., Path]) -> World:
    users = {
        name: make_user(name, role=role, municipality=sample_city)
        for name, role in (
            ("clerk", Role.CLERK),
            ("chief", Role.CHIEF),
            ("chief2", Role.CHIEF),
            ("auditor", Role.AUDITOR),
        )
    }
    for user in users.values():
        user.display_name = {"clerk": "収納 一郎", "chief": "課長 花子", "chief2": "係長 次郎"}.get(
            user.username, "監査 三郎"
        )
        user.save(update_fields=["display_name"])
    taro = by_no(sample_city, "1001")
    today = timezone.localdate()
    approved = taxpayer_edit_request(
        actor=users["clerk"], taxpayer=taro, changes={"phone": "048-999-0000"}, reason="電話番号の届出"
    )
    request_approve(actor=users["chief"], request=approved, decided_on=today)
    taro = by_no(sample_city, "1001")
    slips = taxpayer_slips(sample_city, taro.pk)
    payment = counter_receipt_take(
        actor=users["clerk"], municipality=sample_city, slip_no=slips[0].slip_no, amount=12000, paid_on=today
    )
    undone = counter_receipt_take(
        actor=users["clerk"], municipality=sample_city, slip_no=slips[0].slip_no, amount=1500, paid_on=today
    )
    payment_reverse(actor=users["chief"], payment=undone, reason="金額誤り", on=today)
    rows = [
        f"t-1,{sample_city.eltax_agency_no},{UNKNOWN_SLIP},1234,001,25000,2024-05-30,2024-06-03,0",
        f"t-2,{sample_city.eltax_agency_no},{UNKNOWN_SLIP},1235,001,3000,2024-05-30,2024-06-03,0",
    ]
    payments_import(municipality=sample_city, channel="eltax", path=write_csv(",".join(ELTAX_HEADER), rows))
    item = SuspenseItem.objects.get(payment__reference__contains="t-1")
    other = SuspenseItem.objects.get(payment__reference__contains="t-2")
    requests = {
        "taxpayer_edit": taxpayer_edit_request(
            actor=users["clerk"],
            taxpayer=taro,
            changes={"name_kana": "カワグチ タロー", "postal_code": "3330802"},
            reason="氏名カナの誤り",
        ),
        "mailing_address": mailing_address_request(
            actor=users["clerk"],
            taxpayer=taro,
            tax_item="00",
            tax_item_name="全税目",
            operation="save",
            values=MailingValues(
                name="川口 太郎",
                postal_code="3330866",
                address="埼玉県川口市芝新町9-9-9",
                set_reason="納税管理人",
                valid_from=date(2024, 6, 1),
            ),
            reason="送付先届",
            known_tax_items=("01", "02"),
        ),
        "my_number_link": my_number_link_request(
            actor=users["clerk"], taxpayer=by_no(sample_city, "1002"), number="123456789018", reason="届出"
        ),
        "suspense_assign": suspense_assign_request(
            actor=users["clerk"], item=other, slip_no=slips[0].slip_no, reason="納付書の番号違い"
        ),
        "dunning_suppression": suppression_request(
            actor=users["clerk"],
            installment=Installment.objects.get(levy__notice_no="500001"),
            start=date(2024, 7, 1),
            end=None,
            reason="本人から相談中",
        ),
    }
    # 督促 (issue 15): a fee, a suppression and a run, so the person page lists a 督促状 and a 督促停止
    dunning_fee_set(actor=None, municipality=sample_city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    suppression_add(
        actor=users["clerk"],
        installment=Installment.objects.get(levy__notice_no="100001", installment_no=2),
        reason=SuppressionReason.PAYMENT_PLAN,
        start=date(2024, 8, 1),
        note="分納誓約",
    )
    dunning_run(municipality=sample_city, as_of=date(2024, 9, 24), today=today, actor=users["chief"])
    # 緩和制度 (issue 18 §6): a 徴収猶予 waiting for its 決裁, shown on its screen and in 決裁
    hanako_tax = Installment.objects.get(levy__notice_no="500001")
    relief = relief_request(
        actor=users["chief"], taxpayer=hanako_tax.taxpayer, kind="collection_deferral", ground="illness",
        installments=[hanako_tax], start=date(2024, 10, 1), end=date(2025, 3, 31), note="入院のため",
    )  # fmt: skip
    assert relief.request is not None
    requests["relief"] = relief.request
    # 返戻 and 公示送達 (issue 15 §5): 1001's 個人住民税 notice came back and was posted
    taro_notice = DunningNotice.objects.get(taxpayer=taro, tax_item="01")
    assert taro_notice.slip is not None
    returned_mail_register(
        actor=users["chief"],
        municipality=sample_city,
        lines=[ReturnLine(1, taro_notice.slip.slip_no, date(2024, 9, 30), ReturnReason.MOVED_UNKNOWN)],
        today=today,
    )
    public_notice_record(actor=users["chief"], municipality=sample_city, slip_no=taro_notice.slip.slip_no,
                         posted_on=date(2024, 10, 7), today=today, note="本庁舎掲示場")  # fmt: skip
    return World(
        taro, {k: type(v).objects.get(pk=v.pk) for k, v in users.items()}, payment, undone, item, requests
    )


def _screens(w: World) -> dict[str, tuple[str, str, str, dict[str, str]]]:
    """Every screen: name → (role, method, url, data). Add new screens here."""
    tp = w.taro.pk
    screens: dict[str, tuple[str, str, str, dict[str, str]]] = {
        "search": ("chief", "get", reverse("web:search"), {"kana": "カ"}),
        "overview": ("chief", "get", reverse("web:taxpayer-overview", args=[tp]), {}),
        "overview corporation": ("chief", "get", reverse("web:taxpayer-overview", args=[_pk("2001")]), {}),
        "approval queue": ("chief", "get", reverse("approvals:queue"), {}),
        "approval queue all": ("chief", "get", reverse("approvals:queue"), {"status": "all"}),
        "approval queue own": ("clerk", "get", reverse("approvals:queue"), {"status": "all"}),
        "correction form": ("chief", "get", reverse("approvals:taxpayer-edit", args=[tp]), {}),
        "my number link form": ("chief", "get", reverse("approvals:my-number-link", args=[tp]), {}),
        "mailing form": ("chief", "get", reverse("approvals:mailing-address", args=[tp]), {"tax_item": "00"}),
        "suspense list": ("chief", "get", reverse("receipts:suspense-list"), {}),
        "suspense list all": ("chief", "get", reverse("receipts:suspense-list"), {"status": "all"}),
        "suspense detail": ("chief", "get", reverse("receipts:suspense-detail", args=[w.item.pk]), {}),
        "suspense candidates": (
            "chief",
            "get",
            reverse("receipts:suspense-detail", args=[w.item.pk]),
            {"search": "1", "kana": "カワグチ"},
        ),
        "counter": ("chief", "get", reverse("receipts:counter"), {}),
        "counter by number": ("chief", "get", reverse("receipts:counter"), {"taxpayer_no": "1001"}),
        "counter by slip": ("chief", "get", reverse("receipts:counter"), {"slip_no": w.payment.slip_no}),
        "counter result": ("chief", "get", reverse("receipts:counter-result", args=[w.payment.pk]), {}),
        "payment detail": ("chief", "get", reverse("receipts:payment-detail", args=[w.payment.pk]), {}),
        "reversed payment": (
            "chief",
            "get",
            reverse("receipts:payment-detail", args=[w.reversed_payment.pk]),
            {},
        ),
        "daily report": ("chief", "get", reverse("receipts:daily"), {}),
        "daily report import day": ("chief", "get", reverse("receipts:daily"), {"date": "2024-06-03"}),
        "disclosure": ("chief", "post", reverse("web:disclosure", args=[tp]), {}),
        "user list": ("chief", "get", reverse("accounts:user-list"), {}),
        "user detail": ("chief", "get", reverse("accounts:user-detail", args=[w.users["clerk"].pk]), {}),
        "municipality settings": ("chief", "get", reverse("accounts:municipality-settings"), {}),
        "rights changes report": ("chief", "get", reverse("accounts:report-changes"), {}),
        "rights review report": ("chief", "get", reverse("accounts:report-review"), {}),
        **_dunning_mail_screens(),
        "audit log": ("auditor", "get", reverse("audit:log"), {}),
        "dunning run": ("chief", "get", reverse("dunning:run"), {}),
        "reliefs": ("chief", "get", reverse("relief:reliefs"), {}),
        "relief new": ("chief", "get", reverse("relief:relief-new"), {}),
        "relief detail": ("chief", "get", reverse("relief:relief", args=[Relief.objects.get().pk]), {}),
        "prescriptions": ("chief", "get", reverse("relief:prescriptions"), {}),
        "write-offs": ("chief", "get", reverse("relief:write-offs"), {}),
        "settlement": ("chief", "get", reverse("reports:settlement"), {"year": "2024"}),
        "monthly statistics": ("chief", "get", reverse("reports:statistics"), {"month": "2024-06"}),
        "monthly statement": ("chief", "get", reverse("reports:monthly-statement"), {"month": "2024-05"}),
        "certificate form": ("chief", "get", reverse("reports:certificate", args=[tp]), {}),
        "certificate verify": (
            "chief",
            "post",
            reverse("reports:certificate-verify"),
            {"number": "1", "code": "x"},
        ),
        "dunning dry run": ("chief", "post", reverse("dunning:run"), {"as_of": "2024-10-01"}),
    }
    for kind, req in w.requests.items():
        screens[f"approval detail {kind}"] = ("chief", "get", reverse("approvals:detail", args=[req.pk]), {})
    return screens


def _dunning_mail_screens() -> dict[str, tuple[str, str, str, dict[str, str]]]:
    """返戻・公示送達 and 督促停止 (issue 15 §5, §8): each form, and each result with data on it."""
    company = DunningNotice.objects.get(taxpayer__taxpayer_no="2001")
    hanako = DunningNotice.objects.get(taxpayer__taxpayer_no="1002")
    assert company.slip is not None and hanako.slip is not None
    plan = Installment.objects.get(levy__notice_no="300001")
    stop = DunningSuppression.objects.get(reason=SuppressionReason.PAYMENT_PLAN)
    return {
        "returned mail form": ("chief", "get", reverse("dunning:returned-mail"), {}),
        "returned mail registered": ("chief", "post", reverse("dunning:returned-mail"), {
            "lines": f"{company.slip.slip_no}\n{hanako.slip.slip_no},2024-10-01,宛所不明",
            "returned_on": "2024-09-30", "reason": "unclaimed"}),
        "public notice form": ("chief", "get", reverse("dunning:public-notice"), {}),
        "public notice recorded": ("chief", "post", reverse("dunning:public-notice"), {
            "slip_no": company.slip.slip_no, "posted_on": "2024-10-07", "note": "掲示場"}),
        "suppression form": ("chief", "get", reverse("dunning:suppression-new"), {}),
        "suppression registered": ("chief", "post", reverse("dunning:suppression-new"), {
            "slip_no": str(plan.slip_no), "reason": "bankruptcy", "start": "2024-10-01", "note": "破産"}),
        "suppression requested": ("chief", "post", reverse("dunning:suppression-new"), {
            "slip_no": str(plan.slip_no), "reason": "manual", "start": "2024-10-01", "end": "2025-03-31",
            "note": "本人と相談中"}),
        "suppression end": ("chief", "get", reverse("dunning:suppression-end", args=[stop.pk]), {}),
        "suppression ended": ("chief", "post", reverse("dunning:suppression-end", args=[stop.pk]), {
            "end": "2024-12-31", "note": "分納完了"}),
        "suppression list": ("chief", "get", reverse("dunning:suppression-list"), {}),
        "suppression list all": ("chief", "get", reverse("dunning:suppression-list"), {"state": "all"}),
        "suppression list ended": ("chief", "get", reverse("dunning:suppression-list"), {"state": "ended",
                                                                                         "reason": "returned_mail"}),
    }  # fmt: skip


def _pk(taxpayer_no: str) -> int:
    return Taxpayer.objects.get(taxpayer_no=taxpayer_no).pk


class _Visible(HTMLParser):
    """The visible text of a page, and the (heading, cell text) pairs of its tables and lists."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.cells: list[tuple[str, str]] = []
        self._skip = 0
        self._headers: list[list[str]] = []
        self._row: list[str] = []
        self._cell: list[str] | None = None
        self._cell_tag = ""
        self._dt = ""
        self._in_dt = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skip += 1
        elif tag == "table":
            self._headers.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            span = int(dict(attrs).get("colspan") or 1)
            self._cell, self._cell_tag = [], tag
            self._row.extend([""] * (span - 1))
        elif tag == "dt":
            self._in_dt, self._dt = True, ""
        elif tag == "dd":
            self._cell, self._cell_tag = [], "dd"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._skip -= 1
        elif tag == "table" and self._headers:
            self._headers.pop()
        elif tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell)
            column = len(self._row)
            self._row.append(text)
            if self._headers and self._cell_tag == "th" and self._in_thead_row():
                self._headers[-1].append(text)
            elif self._headers and column < len(self._headers[-1]):
                self.cells.append((self._headers[-1][column], text))
            self._cell = None
        elif tag == "tr" and self._headers and not self._headers[-1] and all(self._row):
            pass
        elif tag == "dt":
            self._in_dt = False
        elif tag == "dd" and self._cell is not None:
            self.cells.append((self._dt, "".join(self._cell)))
            self._cell = None

    def _in_thead_row(self) -> bool:
        # a header row: every cell so far is a th (header cells of a body row are row headings)
        return len(self._headers[-1]) == len(self._row) - 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_dt:
            self._dt += data


def visible(page: str) -> _Visible:
    parser = _Visible()
    parser.feed(page)
    return parser


def _around(text: str, token: str) -> str:
    at = text.find(token)
    return text[max(0, at - 30) : at + len(token) + 10]


def problems(page: str) -> list[str]:
    """What in the visible text of ``page`` is not for a Japanese clerk's eyes."""
    seen = visible(page)
    text = re.sub(r"\s+", " ", html.unescape(" ".join(seen.text)))
    text = FILE_NAME.sub("", text)  # a file's name is data (disclosure-1001-….csv), not a key
    found = [f"key {m} in …{_around(text, m)}…" for m in SNAKE.findall(text)]
    found += [f"word {m} in …{_around(text, m)}…" for m in WORD.findall(text) if m not in USER_NAMES]
    found += [f"ISO date {m}" for m in ISO.findall(text)]
    found += [f"amount {m}" for m in BARE_YEN.findall(text)]
    for heading, cell in seen.cells:
        if ("円" in heading or "額" in heading) and (bare := BARE_NUMBER.findall(cell)):
            found.append(f"amount {bare} under {heading.strip()}")
    return found


def test_the_guard_catches_what_it_is_for() -> None:
    page = (
        "<h1>決裁</h1><p>kind：taxpayer_edit created 2024-06-03T10:00</p><p>合計 12000円</p>"
        "<table><thead><tr><th>番号</th><th>金額（円）</th></tr></thead>"
        "<tbody><tr><td>1001</td><td>25000</td></tr></tbody></table>"
        "<dl><div><dt>未納額</dt><dd>3000</dd></div></dl>"
        '<a href="/search/?slip_no=1">戻る</a><script>var my_var = 1;</script>'
    )
    assert [found.split(" in …")[0] for found in problems(page)] == [
        "key taxpayer_edit",
        "word kind",
        "word created",
        "ISO date 2024-06-03T10:00",
        "amount 12000円",
        "amount ['25000'] under 金額（円）",
        "amount ['3000'] under 未納額",
    ]
    clean = (
        "<p>種別：宛名情報の訂正 登録日時 2024/06/03 10:00 令和6年6月3日 R6.6.3</p><p>合計 12,000円</p>"
        "<table><thead><tr><th>宛名番号</th><th>金額（円）</th></tr></thead>"
        "<tbody><tr><td>1001</td><td>25,000</td></tr></tbody></table>"
    )
    assert problems(clean) == []


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {str(k) for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_key_written_into_an_audit_record_has_a_japanese_name(world: World) -> None:
    """The audit list cuts a long detail at 200 characters (and PostgreSQL reorders its keys), so the
    screens alone do not show every key: every record written while building the world is checked."""
    client = login_verified(Client(), world.users["chief"])
    for _name, (role, method, url, data) in _screens(world).items():
        if role == "chief":
            getattr(client, method)(url, data)
    written = {k for detail in AuditLog.objects.values_list("detail", flat=True) for k in _keys(detail)}
    # file names and hashes are keys of the ``files`` detail: data, not names
    unnamed = sorted(k for k in written if key_label(k) == k and not FILE_NAME.fullmatch(k))
    assert unnamed == [], unnamed


def test_no_screen_shows_an_english_key_or_an_amount_without_separators(world: World) -> None:
    clients = {name: login_verified(Client(), user) for name, user in world.users.items()}
    # the audit list shows every record written by fetching the screens above it: fetch it last
    found: dict[str, list[str]] = {}
    for name, (role, method, url, data) in _screens(world).items():
        response = getattr(clients[role], method)(url, data, follow=True)
        assert response.status_code == 200, (name, response.status_code)
        assert response["Content-Type"].startswith("text/html"), name
        if bad := problems(response.content.decode()):
            found[name] = bad
    assert not found, "\n".join(f"{name}: {bad}" for name, bad in found.items())
