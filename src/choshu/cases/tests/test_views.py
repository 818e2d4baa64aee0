"""The case screens (issue 18 §2–§4): every view's right, the team scope (another team's officer gets
404, the chief sees all), access logging, the case file, the contact log's quick entry with bad input,
the work list, the chief's workload view and bulk reassignment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.audit.models import AuditLog
from choshu.cases.models import Assignment, AssignmentRule, Case, CaseFlag, ContactLog, Stage, StageChange
from choshu.cases.services import ContactInput, cases_run, contact_add
from choshu.cases.tests.conftest import AS_OF
from choshu.dunning.models import DunningFeeSetting
from choshu.dunning.services import dunning_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(city: Any, staff: dict[str, Any], rules: list[AssignmentRule]) -> dict[str, Case]:
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    return {c.taxpayer.taxpayer_no: c for c in Case.objects.select_related("taxpayer")}


def _client(user: Any) -> Client:
    from conftest import login_verified

    return login_verified(Client(), user)


def _urls(case: Case, flag: CaseFlag | None = None) -> list[tuple[str, str]]:
    return [
        ("get", reverse("cases:work-list")),
        ("get", reverse("cases:list")),
        ("get", reverse("cases:workload")),
        ("post", reverse("cases:reassign")),
        ("post", reverse("cases:open")),
        ("get", reverse("cases:case", args=[case.pk])),
        ("get", reverse("cases:timeline", args=[case.pk])),
        ("get", reverse("cases:contact-new", args=[case.pk])),
        ("post", reverse("cases:contact-new", args=[case.pk])),
        ("post", reverse("cases:flag-new", args=[case.pk])),
        ("post", reverse("cases:flag-remove", args=[case.pk, flag.pk if flag else 1])),
        ("post", reverse("cases:stage", args=[case.pk])),
    ]


def test_every_view_refuses_a_clerk_and_the_anonymous(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    clerk = _client(staff["clerk"])
    anonymous = Client()
    for method, url in _urls(cases["1001"]):
        assert getattr(clerk, method)(url).status_code == 403, url
        response = getattr(anonymous, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_the_workload_and_reassignment_are_the_chiefs(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    officer = _client(staff["a"])
    assert officer.get(reverse("cases:workload")).status_code == 403
    assert officer.post(reverse("cases:reassign"), {"case": [cases["1001"].pk]}).status_code == 403
    assert _client(staff["chief"]).get(reverse("cases:workload")).status_code == 200


def test_another_teams_officer_gets_404_on_every_case_route(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    corp = cases["2001"]  # team 2
    assert corp.team == "整理2班"
    flag = CaseFlag.objects.create(case=corp, text="付箋", created_at=timezone.now())
    a = _client(staff["a"])  # team 1
    before = AuditLog.objects.filter(function="滞納案件（ケースファイル）").count()
    for method, url in _urls(corp, flag)[5:]:
        assert getattr(a, method)(url).status_code == 404, url
    assert AuditLog.objects.filter(function="滞納案件（ケースファイル）").count() == before
    assert CaseFlag.objects.get(pk=flag.pk).removed_at is None
    # the list and the work list never show it
    assert "2001" not in a.get(reverse("cases:list")).content.decode()
    # its own team's officer and the chief open it, and the view is access-logged with the person
    for user in (staff["b"], staff["chief"]):
        response = _client(user).get(reverse("cases:case", args=[corp.pk]))
        assert response.status_code == 200
        log = AuditLog.objects.filter(function="滞納案件（ケースファイル）", user=user).latest("pk")
        assert corp.taxpayer_id in log.subject_ids


def test_an_officer_without_a_team_sees_no_case(cases: dict[str, Case], city: Any, make_user: Any) -> None:
    from choshu.accounts.models import Role

    loner = make_user("loner", role=Role.CASE_OFFICER, municipality=city, team="")
    c = _client(loner)
    assert c.get(reverse("cases:case", args=[cases["1001"].pk])).status_code == 404
    assert "#" + str(cases["1001"].pk) not in c.get(reverse("cases:list")).content.decode()


def test_the_case_file_shows_identity_arrears_with_late_charge_and_prescription(
    cases: dict[str, Case], staff: dict[str, Any], city: Any
) -> None:
    from choshu.formats.display import yen
    from choshu.levies.selectors import amounts_due

    taro = cases["1001"]
    page = _client(staff["a"]).get(reverse("cases:case", args=[taro.pk])).content.decode()
    assert "川口 太郎" in page and "048-111-2222" in page and "埼玉県川口市東川口1-2-3" in page
    today = timezone.localdate()
    dues = [d for d in amounts_due(taxpayer_ids=[taro.taxpayer_id], as_of=today) if d.total > 0]
    for d in dues:
        assert yen(d.late_charge) in page  # the live 延滞金, the counter's figure
    assert "時効（見込み）" in page and "見込み" in page
    assert "催告中" in page


def test_prescription_estimate_follows_the_first_dunning(cases: dict[str, Case], city: Any) -> None:
    from choshu.cases.selectors import arrears

    if not DunningFeeSetting.objects.filter(municipality=city).exists():
        from choshu.dunning.services import dunning_fee_set

        dunning_fee_set(actor=None, municipality=city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=city, as_of=date(2024, 7, 15), today=date(2024, 7, 15))
    lines = {(x.due.tax_item, x.due.installment_no): x for x in arrears(cases["1001"], date(2024, 8, 15))}
    # 01 第1期: 法定納期限 2024-07-01, not dunned on 2024-07-15 (指定納期限 not passed yet? it is: dunned)
    first = lines[("01", 1)]
    # dunned 2024-07-15 → a new period from 2024-07-26 (11 days later): 5 years end 2029-07-25, extinguished 2029-07-26
    assert first.prescription_on == date(2029, 7, 26)
    # 01 第2期 (2024-09-02) not yet due on the dunning date: 5 years from 2024-09-03 → 2029-09-03
    assert lines[("01", 2)].prescription_on == date(2029, 9, 3)


def _contact(**extra: Any) -> dict[str, Any]:
    now = timezone.localtime()
    data = {
        "contacted_at": now.strftime("%Y-%m-%dT%H:%M"),
        "channel": "visit",
        "counterpart": "本人",
        "summary": "臨戸し本人と面談。来月末までに納付すると約束。",
        "promise_amount": "20000",
        "promise_on": (now.date() + timedelta(days=10)).isoformat(),
        "next_action": "入金確認",
        "follow_up_on": (now.date() + timedelta(days=11)).isoformat(),
    }
    data.update(extra)
    return data


def test_a_contact_with_a_promise_is_recorded_and_shown_in_the_timeline(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    taro = cases["1001"]
    c = _client(staff["a"])
    url = reverse("cases:contact-new", args=[taro.pk])
    response = c.post(url, _contact(), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="timeline"' in body and 'hx-swap-oob="true"' in body
    assert "納付約束 20,000円" in body
    log = ContactLog.objects.get(case=taro)
    assert (log.channel, log.promise_amount, log.recorded_by) == ("visit", 20000, staff["a"])
    taro.refresh_from_db()
    assert taro.follow_up_on == log.follow_up_on
    assert AuditLog.objects.filter(function="経過記録の登録").exists()
    # without HTMX: back to the case page
    response = c.post(url, _contact(channel="phone", promise_amount="", promise_on=""))
    assert response.status_code == 302 and response["Location"].endswith(f"/cases/{taro.pk}/#timeline")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"promise_on": ""}, "金額と約束日の両方"),
        ({"promise_amount": ""}, "金額と約束日の両方"),
        ({"promise_amount": "abc"}, "半角数字"),
        ({"promise_amount": "-5"}, "1 円以上"),
        ({"channel": "fax"}, "一覧から選んで"),
        ({"summary": "  "}, "内容を入力"),
        ({"contacted_at": "2024-13-40T25:00"}, "YYYY-MM-DD HH:MM"),
        ({"contacted_at": "2099-01-01T10:00"}, "未来"),
        ({"promise_on": "2000-01-01"}, "対応日より前"),
        ({"follow_up_on": "2000-01-01"}, "対応日より前"),
        ({"template": "999999"}, "一覧から選んで"),
    ],
)
def test_bad_contact_input_is_refused_with_its_reason_and_records_nothing(
    cases: dict[str, Case], staff: dict[str, Any], extra: dict[str, str], message: str
) -> None:
    taro = cases["1001"]
    c = _client(staff["a"])
    url = reverse("cases:contact-new", args=[taro.pk])
    response = c.post(url, _contact(**extra))
    assert response.status_code == 400
    assert message in response.content.decode()
    htmx = c.post(url, _contact(**extra), headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and message in htmx.content.decode()
    assert not ContactLog.objects.exists()


def test_a_template_fills_the_quick_entry_form(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    from choshu.cases.models import ContactTemplate

    t = ContactTemplate.objects.get(name="臨戸（不在・差置）")
    response = _client(staff["a"]).get(
        reverse("cases:contact-new", args=[cases["1001"].pk]), {"template": t.pk}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "催告文書を差し置いた" in body
    follow = (timezone.localdate() + timedelta(days=7)).isoformat()
    assert follow in body


def test_the_timeline_is_newest_first_and_filters_by_kind(
    cases: dict[str, Case], staff: dict[str, Any], city: Any
) -> None:
    from choshu.cases.selectors import timeline

    taro = cases["1001"]
    DunningFeeSetting.objects.get_or_create(municipality=city, valid_from=date(2024, 4, 1),
                                            defaults={"yen": 100, "source": "条例"})  # fmt: skip
    dunning_run(municipality=city, as_of=date(2024, 7, 15), today=date(2024, 7, 15))
    contact_add(actor=staff["a"], case=taro, data=ContactInput(
        contacted_at=timezone.now(), channel="phone", summary="電話"))  # fmt: skip
    events = timeline(taro)
    kinds = [e.kind for e in events]
    assert {"contact", "document", "case"} <= set(kinds)
    keys = [e.sort_key for e in events]
    assert keys == sorted(keys, reverse=True)
    assert kinds[0] == "contact"  # the newest
    only = timeline(taro, ["document"])
    assert only and {e.kind for e in only} == {"document"}
    c = _client(staff["a"])
    partial = c.get(
        reverse("cases:timeline", args=[taro.pk]), {"kind": "document"}, headers={"HX-Request": "true"}
    )
    body = partial.content.decode()
    assert "督促状を発付" in body and "電話" not in body.split("<tbody>")[1]


def test_flags_and_sticky_notes_expire(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    taro = cases["1001"]
    c = _client(staff["a"])
    today = timezone.localdate()
    url = reverse("cases:flag-new", args=[taro.pk])
    assert c.post(url, {"kind": "caution", "text": "犬に注意", "expires_on": ""}).status_code == 302
    assert c.post(url, {"kind": "", "text": "月末に給与", "expires_on": today.isoformat()}).status_code == 302
    assert c.post(url, {"kind": "", "text": ""}).status_code == 400  # a sticky note needs its text
    assert c.post(url, {"kind": "", "text": "x", "expires_on": "2000-01-01"}).status_code == 400
    from choshu.cases.selectors import active_flags

    assert [f.text for f in active_flags(taro, today)] == ["月末に給与", "犬に注意"]
    assert [f.text for f in active_flags(taro, today + timedelta(days=1))] == ["犬に注意"]
    flag = CaseFlag.objects.get(text="犬に注意")
    assert c.post(reverse("cases:flag-remove", args=[taro.pk, flag.pk])).status_code == 302
    assert [f.text for f in active_flags(taro, today)] == ["月末に給与"]


def test_stage_changes_keep_their_history(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    taro = cases["1001"]
    c = _client(staff["a"])
    url = reverse("cases:stage", args=[taro.pk])
    assert c.post(url, {"stage": "negotiating", "note": "納付相談"}).status_code == 302
    assert c.post(url, {"stage": "negotiating"}).status_code == 400  # already
    assert c.post(url, {"stage": "closed", "note": ""}).status_code == 400  # a reason is needed
    assert c.post(url, {"stage": "bogus"}).status_code == 400
    taro.refresh_from_db()
    assert taro.stage == Stage.NEGOTIATING
    assert list(StageChange.objects.filter(case=taro).order_by("pk").values_list("from_stage", "to_stage")) == [
        ("", "dunning"), ("dunning", "negotiating")]  # fmt: skip


def test_the_work_list(cases: dict[str, Case], staff: dict[str, Any], city: Any) -> None:
    taro = cases["1001"]
    today = timezone.localdate()
    c = _client(staff["a"])
    page = c.get(reverse("cases:work-list")).content.decode()
    # opened on 2024-08-15: not new any more; no follow-up, promise or returned mail yet
    assert f"案件 #{taro.pk}を開く" not in page
    Case.objects.filter(pk=taro.pk).update(opened_on=today)
    page = c.get(reverse("cases:work-list")).content.decode()
    assert f"案件 #{taro.pk}を開く" in page.split('id="new-cases"')[1].split("</section>")[0]
    # a promise of 20,000 by yesterday, nothing paid → broken; the follow-up date today → due
    contact_add(actor=staff["a"], case=taro, data=ContactInput(
        contacted_at=timezone.now() - timedelta(days=5), channel="phone", summary="約束", promise_amount=20000,
        promise_on=today - timedelta(days=1), follow_up_on=today))  # fmt: skip
    page = c.get(reverse("cases:work-list")).content.decode()
    assert "約束 20,000円 のうち納付 0円" in page.split('id="broken-promises"')[1].split("</section>")[0]
    assert f"案件 #{taro.pk}を開く" in page.split('id="follow-ups"')[1].split("</section>")[0]
    assert f"案件 #{taro.pk}を開く" not in page.split('id="new-cases"')[1].split("</section>")[0]
    assert AuditLog.objects.filter(function="滞納整理 作業一覧", user=staff["a"]).exists()
    # officer b's work list does not show officer a's cases
    assert f"案件 #{taro.pk}" not in _client(staff["b"]).get(reverse("cases:work-list")).content.decode()


def test_the_chief_reassigns_cases_in_bulk(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    chief = _client(staff["chief"])
    workload = chief.get(reverse("cases:workload")).content.decode()
    assert "整理1班" in workload and "整理2班" in workload and "42,000円" in workload
    ids = [cases["1001"].pk, cases["2001"].pk]
    url = reverse("cases:reassign")
    assert chief.post(url, {"case": ids, "officer": staff["b"].pk, "reason": ""}).status_code == 400
    assert chief.post(url, {"case": ids, "officer": staff["clerk"].pk, "reason": "x"}).status_code == 400
    assert chief.post(url, {"officer": staff["b"].pk, "reason": "異動"}).status_code == 400
    assert set(Case.objects.values_list("team", flat=True)) == {"整理1班", "整理2班"}
    response = chief.post(url, {"case": ids, "officer": staff["b"].pk, "reason": "異動"})
    assert response.status_code == 302
    assert set(Case.objects.values_list("officer", "team")) == {(staff["b"].pk, "整理2班")}
    assert Assignment.objects.filter(reason="異動").count() == 2
    log = AuditLog.objects.get(function="滞納案件の担当替え")
    assert sorted(log.subject_ids) == sorted(c.taxpayer_id for c in cases.values())
    # officer a lost the case with the team
    assert _client(staff["a"]).get(reverse("cases:case", args=[ids[0]])).status_code == 404


def test_the_case_list_sorts_and_pages_on_the_server(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    chief = _client(staff["chief"])
    body = chief.get(reverse("cases:list"), {"sort": "-amount"}).content.decode()
    assert body.index("株式会社キューポラ") < body.index("川口 太郎")
    body = chief.get(reverse("cases:list"), {"sort": "amount"}).content.decode()
    assert body.index("川口 太郎") < body.index("株式会社キューポラ")
    odd = chief.get(reverse("cases:list"), {"sort": "nonsense", "page": "x", "state": "bogus"})
    assert odd.status_code == 200
    officer_a = _client(staff["a"]).get(reverse("cases:list")).content.decode()
    assert "川口 太郎" in officer_a and "株式会社キューポラ" not in officer_a


def test_opening_a_case_by_hand(cases: dict[str, Case], staff: dict[str, Any]) -> None:
    c = _client(staff["a"])
    url = reverse("cases:open")
    assert c.post(url, {"taxpayer_no": "1002", "reason": ""}).status_code == 400
    assert c.post(url, {"taxpayer_no": "9999", "reason": "相談"}).status_code == 400
    assert c.post(url, {"taxpayer_no": "1001", "reason": "相談"}).status_code == 400  # already open
    refused = c.post(url, {"taxpayer_no": "10\x0002", "reason": "相談"})  # a NUL: refused before any query
    assert refused.status_code == 400 and not Case.objects.filter(taxpayer__taxpayer_no="1002").exists()
    response = c.post(url, {"taxpayer_no": "1002", "reason": "本人から相談"})
    assert response.status_code == 302
    case = Case.objects.get(taxpayer__taxpayer_no="1002")
    assert (case.officer, case.team, case.amount) == (staff["a"], "整理1班", 10800)


def test_the_quick_entry_form_alone_for_htmx_and_as_a_page_without(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    c = _client(staff["a"])
    url = reverse("cases:contact-new", args=[cases["1001"].pk])
    fragment = c.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="contact-panel"')
    page = c.get(url)
    assert page.status_code == 200 and "<!DOCTYPE html>" in page.content.decode()


def test_the_work_list_warns_of_a_prescription_within_six_months(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    from choshu.cases.selectors import work_list
    from choshu.levies.models import Installment
    from choshu.relief.prescription import prescription_run

    taro = cases["1001"]
    today = timezone.localdate()
    prescription_run(municipality=taro.municipality, as_of=today, today=today)
    assert work_list(staff["a"], today).prescriptions == []  # 2024 levies: 時効 in 2029
    inst = Installment.objects.filter(taxpayer_id=taro.taxpayer_id, levy__tax_item="04").get()
    # 法定納期限 five years and a month ago, never dunned nor partly paid: extinguished in about a month
    statutory = date(today.year - 5, today.month, 1) + timedelta(days=40)
    Installment.objects.filter(pk=inst.pk).update(statutory_due_date=statutory)
    # the work list reads the latest prescription run (relief.PrescriptionWatch), not a live estimate
    assert work_list(staff["a"], today).prescriptions == []
    prescription_run(municipality=taro.municipality, as_of=today, today=today)
    items = work_list(staff["a"], today).prescriptions
    assert [w.case.pk for w in items] == [taro.pk]
    assert items[0].on == date(statutory.year + 5, statutory.month, statutory.day) + timedelta(days=1)
    assert "時効見込み" in items[0].reason
    page = _client(staff["a"]).get(reverse("cases:work-list")).content.decode()
    assert f"案件 #{taro.pk}を開く" in page.split('id="prescriptions"')[1]


def test_a_long_work_list_section_shows_the_most_urgent_and_counts_the_rest(
    cases: dict[str, Case], staff: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from choshu.cases import selectors

    today = timezone.localdate()
    Case.objects.filter(closed_on__isnull=True).update(officer=staff["a"], team=staff["a"].team)
    mine = Case.objects.filter(officer=staff["a"], closed_on__isnull=True).order_by("pk")
    assert mine.count() >= 2
    for n, c in enumerate(mine):
        Case.objects.filter(pk=c.pk).update(follow_up_on=today - timedelta(days=n))
    monkeypatch.setattr(selectors, "SECTION_LIMIT", 1)
    wl = selectors.work_list(staff["a"], today)
    oldest = mine.order_by("follow_up_on", "pk").first()
    assert [w.case.pk for w in wl.follow_ups] == [oldest.pk]  # type: ignore[union-attr]
    assert wl.total("follow_ups") == mine.count()
    page = _client(staff["a"]).get(reverse("cases:work-list")).content.decode()
    assert f"次回対応日が来た案件（{mine.count()}件）" in page and "急ぐものから 1 件を表示" in page


def test_a_later_app_adds_its_events_by_registering_a_provider(
    cases: dict[str, Case], staff: dict[str, Any]
) -> None:
    """The timeline is a registry (core.timeline): a provider registered by another app (here a stand-in
    for refunds) shows in the case file and in the filter, without cases knowing it."""
    from choshu.core import timeline as registry

    def refunds(m: int, taxpayer_id: int, since: date | None) -> list[registry.TimelineEvent]:
        return [
            registry.TimelineEvent(at=date(2025, 1, 10), kind="refund", title="還付金の支払", amount=1234)
        ]

    saved = dict(registry._REGISTRY)
    try:
        registry.register_provider("refund", "還付・充当", refunds, order=50)
        body = _client(staff["a"]).get(reverse("cases:case", args=[cases["1001"].pk])).content.decode()
        assert "還付金の支払" in body and "1,234円" in body and 'value="refund"' in body
        only = _client(staff["a"]).get(reverse("cases:timeline", args=[cases["1001"].pk]), {"kind": "refund"})
        rows = only.content.decode().split("<tbody>")[1]
        assert "還付金の支払" in rows and "滞納案件の開始" not in rows
    finally:
        registry._REGISTRY.clear()
        registry._REGISTRY.update(saved)
