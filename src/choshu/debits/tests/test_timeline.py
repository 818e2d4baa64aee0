"""The steps of issue 17 on the case file's timeline (issue 17 §5; issue 18 §2): the mandate requested,
approved, rejected, ended or suspended with its 口座振替開始通知, the debit requested for an installment,
its result (振替済; 振替不能 with the result code's meaning) and the 振替不能通知 — through the real
services and the result import, shown in the case file of the person only, newest first, under the
filter 口座振替; the case file stays team-scoped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.approvals.services import request_reject
from choshu.cases.selectors import timeline
from choshu.cases.services import case_open
from choshu.core.timeline import provider_labels
from choshu.debits.models import DebitLine, Mandate, MandateStatus
from choshu.debits.requests import debit_request
from choshu.debits.services import mandate_end, mandate_request
from choshu.debits.tests.conftest import approved, entry, request_of
from choshu.debits.tests.zengin_bytes import result_file
from choshu.debits.timeline import debit_events
from choshu.receipts.services import payments_import
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


def _client(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def test_the_debit_steps_appear_on_the_persons_timeline(
    debit_city: Any, people: dict[str, Any], make_user: Callable[..., Any], tmp_path: Path
) -> None:
    officer = make_user("officer_a", role=Role.CASE_OFFICER, municipality=debit_city, team="整理1班")
    outsider = make_user("officer_b", role=Role.CASE_OFFICER, municipality=debit_city, team="整理2班")
    # The 5/31 request: 1002 (ゆうちょ, 10,800円) and 2001 (みずほ, 70,000円); 1002 paid, 2001 code 4
    # (依頼書なし: suspends the mandate by default).
    approved(people, "2001", holder_name="キューポラ", start=D(2024, 5, 1))
    s = debit_request(municipality=debit_city, debit_date=D(2024, 5, 31), out_dir=tmp_path).as_dict()
    raw = Path(s["files"][0]["path"]).read_bytes()
    lines = {ln.taxpayer.taxpayer_no: ln for ln in DebitLine.objects.select_related("taxpayer")}
    codes = {str(lines["1002"].pk): "0", str(lines["2001"].pk): "4"}
    (tmp_path / "result.txt").write_bytes(result_file(raw, codes))
    payments_import(municipality=debit_city, channel="zengin", path=tmp_path / "result.txt")
    # 1002 asks to change the account (rejected), then ends the mandate (廃止届).
    hanako = Taxpayer.objects.get(taxpayer_no="1002")
    old = Mandate.objects.get(taxpayer=hanako)
    change = mandate_request(actor=people["clerk"], taxpayer=hanako, replaces=old, reason="口座変更",
                             data=entry(tax_item="05", received_on=D(2024, 6, 3)))  # fmt: skip
    request_reject(actor=people["chief"], request=request_of(change), comment="名義が違います")
    mandate_end(actor=people["clerk"], mandate=old, end=D(2024, 6, 30), note="廃止届")

    corp = Taxpayer.objects.get(taxpayer_no="2001")
    case = case_open(actor=officer, taxpayer=corp, today=D(2024, 6, 10), reason="振替不能")
    other = case_open(actor=officer, taxpayer=hanako, today=D(2024, 7, 1), reason="口座振替の終了")

    events = timeline(case, ["debit"])
    assert events and {e.kind for e in events} == {"debit"}
    keys = [e.sort_key for e in events]
    assert keys == sorted(keys, reverse=True)
    by_title = {e.title: e for e in events}
    line = lines["2001"]
    i = line.installment
    target = f"{i.levy.levy_year}年度 法人住民税 第{i.installment_no}期"
    assert by_title["口座振替依頼書を受付（新規・全税目）"].at == D(2024, 5, 20)
    assert by_title["口座振替の承認（全税目）"].at == D(2024, 5, 21)
    assert by_title["口座振替の承認（全税目）"].actor == str(people["chief"])
    assert "口座振替開始通知を作成" in by_title
    requested = by_title[f"口座振替を依頼 {target}"]
    assert requested.amount == 70000 and requested.detail == "引落日 2024/05/31"
    failed = by_title[f"口座振替 振替不能（4 預金口座振替依頼書なし） {target}"]
    assert (failed.at, failed.amount, failed.detail) == (D(2024, 5, 31), 70000, "未対応")
    assert f"振替不能通知を作成 {target}" in by_title
    suspended = by_title["口座振替の停止（全税目）"]
    assert suspended.at == D(2024, 5, 31) and "振替結果 4" in suspended.detail
    assert Mandate.objects.get(taxpayer=corp).status == MandateStatus.SUSPENDED
    assert not any("振替済" in t or "軽自動車税" in t for t in by_title)  # 1002's, not this person's

    mine = {e.title: e for e in timeline(other, ["debit"])}
    paid = next(e for t, e in mine.items() if t.startswith("口座振替 振替済 "))
    assert (paid.at, paid.amount) == (D(2024, 5, 31), 10800) and "軽自動車税" in paid.title
    assert mine["口座振替依頼書を受付（変更・軽自動車税(種別割)）"].at == D(2024, 6, 3)
    rejected = mine["口座振替依頼の否認（軽自動車税(種別割)）"]
    assert rejected.detail == "名義が違います" and rejected.actor == str(people["chief"])
    ended = mine["口座振替の終了（軽自動車税(種別割)）"]
    assert (ended.at, ended.detail) == (D(2024, 6, 30), "廃止届")
    assert "ゆうちょ銀行 記号14030" in mine["口座振替依頼書を受付（新規・軽自動車税(種別割)）"].detail
    assert not any("振替不能" in t for t in mine)

    # Two queries for one person (mandates, lines), whatever the rows.
    with CaptureQueriesContext(connection) as q:
        assert len(list(debit_events(debit_city.pk, hanako.pk, None))) == len(mine)
    assert len(q.captured_queries) == 2
    # ``since`` drops the older steps.
    later = [e.title for e in debit_events(debit_city.pk, hanako.pk, D(2024, 6, 1))]
    assert "口座振替の終了（軽自動車税(種別割)）" in later and not any("振替済" in t for t in later)

    # The filter and the screen; another team's officer gets 404.
    assert ("debit", "口座振替") in provider_labels()
    page = _client(officer).get(reverse("cases:case", args=[case.pk])).content.decode()
    assert 'value="debit"' in page and "口座振替の停止（全税目）" in page
    only = _client(officer).get(reverse("cases:timeline", args=[case.pk]), {"kind": "debit"})
    rows = only.content.decode().split("<tbody>")[1]
    assert "預金口座振替依頼書なし" in rows and "70,000円" in rows and "滞納案件の開始" not in rows
    assert (
        _client(outsider).get(reverse("cases:timeline", args=[case.pk]), {"kind": "debit"}).status_code == 404
    )
    assert _client(outsider).get(reverse("cases:case", args=[case.pk])).status_code == 404
