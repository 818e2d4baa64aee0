"""cases-run (issue 18 §1): cases open on the thresholds (amount and age), close on full payment, the run
is idempotent, assignment rules give each new case its officer and team; the command's JSON."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.audit.models import AuditLog
from choshu.cases.models import Assignment, AssignmentRule, Case, CaseRun, CloseReason, Stage, StageChange
from choshu.cases.services import case_setting_set, cases_run
from choshu.cases.tests.conftest import AS_OF
from choshu.receipts.services import counter_receipt_take
from choshu.receipts.slips import taxpayer_slips
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def _tp(city: Any, no: str) -> Taxpayer:
    return Taxpayer.objects.get(municipality=city, taxpayer_no=no)


def test_cases_open_for_the_people_past_both_thresholds(city: Any) -> None:
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    # 1001: 30,000 (2024-07-01) + 12,000 (2024-04-30) past due = 42,000, oldest 107 days → opened.
    # 1002: 10,800 < 20,000 → not. 2001: 70,000 since 2024-05-31 (76 days) → opened.
    assert (s.opened, s.closed, s.open_total, s.amount_total) == (2, 0, 2, 112000)
    cases = {c.taxpayer.taxpayer_no: c for c in Case.objects.select_related("taxpayer")}
    assert set(cases) == {"1001", "2001"}
    taro = cases["1001"]
    assert (taro.amount, taro.oldest_due, taro.stage, taro.opened_on) == (
        42000,
        date(2024, 4, 30),
        Stage.DUNNING,
        AS_OF,
    )
    assert StageChange.objects.filter(case=taro, from_stage="", to_stage=Stage.DUNNING).count() == 1
    run = CaseRun.objects.get()
    assert run.counts["opened"] == 2
    assert AuditLog.objects.filter(function="滞納案件の一括処理").count() == 1


def test_the_age_threshold_holds_back_recent_arrears(city: Any) -> None:
    # 2024-06-20: 2001 owes 70,000 only 20 days after its 指定納期限 (< 30); 1001 owes 12,000 (< 20,000).
    s = cases_run(municipality=city, as_of=date(2024, 6, 20), today=date(2024, 6, 20))
    assert s.opened == 0 and not Case.objects.exists()
    # exactly 30 days after 2024-05-31 → opened
    s = cases_run(municipality=city, as_of=date(2024, 6, 30), today=date(2024, 6, 30))
    assert s.opened == 1
    assert Case.objects.get().taxpayer.taxpayer_no == "2001"


def test_the_amount_threshold_is_dated(city: Any) -> None:
    case_setting_set(actor=None, municipality=city, valid_from=date(2024, 8, 1), min_amount=50000, min_age_days=0,
                     note="引上げ")  # fmt: skip
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    assert (s.min_amount, s.opened) == (50000, 1)  # only 2001 (70,000)
    s = cases_run(municipality=city, as_of=date(2024, 7, 31), today=AS_OF)
    assert (s.min_amount, s.opened) == (20000, 1)  # the earlier setting: 1001 now too


def test_a_second_run_changes_nothing(city: Any) -> None:
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    before = list(Case.objects.order_by("pk").values())
    history = StageChange.objects.count()
    again = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    assert (again.opened, again.closed, again.open_total, again.amount_total) == (0, 0, 2, 112000)
    assert list(Case.objects.order_by("pk").values()) == before
    assert StageChange.objects.count() == history


def test_a_dry_run_keeps_nothing(city: Any) -> None:
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF, dry_run=True)
    assert (s.opened, s.open_total, s.run_id) == (2, 2, None)
    assert not Case.objects.exists() and not CaseRun.objects.exists()


def test_full_payment_closes_the_case_and_a_new_arrear_opens_a_new_one(
    city: Any, staff: dict[str, Any]
) -> None:
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    corp = _tp(city, "2001")
    slip = taxpayer_slips(city, corp.pk)[0].slip_no
    counter_receipt_take(
        actor=staff["clerk"], municipality=city, slip_no=slip, amount=70000, paid_on=date(2024, 8, 20)
    )
    s = cases_run(municipality=city, as_of=date(2024, 8, 31), today=date(2024, 8, 31))
    assert (s.closed, s.opened, s.open_total) == (1, 0, 1)
    closed = Case.objects.get(taxpayer=corp)
    assert (closed.closed_on, closed.close_reason, closed.stage, closed.amount) == (
        date(2024, 8, 31), CloseReason.PAID, Stage.CLOSED, 0)  # fmt: skip
    assert (
        StageChange.objects.filter(case=closed, to_stage=Stage.CLOSED, from_stage=Stage.DUNNING).count() == 1
    )
    # a partly paid person stays open with the new amount
    taro = Case.objects.get(taxpayer__taxpayer_no="1001")
    assert taro.closed_on is None and taro.amount == 42000


def test_partial_payment_keeps_the_case_open_with_the_new_amount(city: Any, staff: dict[str, Any]) -> None:
    cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    corp = _tp(city, "2001")
    slip = taxpayer_slips(city, corp.pk)[0].slip_no
    counter_receipt_take(
        actor=staff["clerk"], municipality=city, slip_no=slip, amount=50000, paid_on=date(2024, 8, 20)
    )
    s = cases_run(municipality=city, as_of=date(2024, 8, 31), today=date(2024, 8, 31))
    assert s.closed == 0
    assert Case.objects.get(taxpayer=corp).amount == 20000  # below the threshold now: still open


def test_assignment_rules_in_priority_order(
    city: Any, staff: dict[str, Any], rules: list[AssignmentRule]
) -> None:
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    assert (s.assigned, s.unassigned) == (2, 0)
    assert s.by_rule == {"法人住民税": 1, "東川口地区": 1}
    taro = Case.objects.get(taxpayer__taxpayer_no="1001")
    corp = Case.objects.get(taxpayer__taxpayer_no="2001")
    assert (taro.officer, taro.team) == (staff["a"], "整理1班")
    assert (corp.officer, corp.team) == (staff["b"], "整理2班")
    assert Assignment.objects.get(case=corp).rule == rules[0]


def test_an_amount_rule_and_an_unmatched_case(city: Any, staff: dict[str, Any]) -> None:
    AssignmentRule.objects.create(municipality=city, priority=5, name="高額", min_amount=50000, officer=staff["b"],
                                  team="整理2班")  # fmt: skip
    AssignmentRule.objects.create(municipality=city, priority=6, name="無効", officer=staff["a"], team="整理1班",
                                  is_active=False)  # fmt: skip
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    assert (s.assigned, s.unassigned) == (1, 1)
    assert Case.objects.get(taxpayer__taxpayer_no="2001").team == "整理2班"
    taro = Case.objects.get(taxpayer__taxpayer_no="1001")
    assert taro.team == "" and taro.officer is None


def test_a_district_rule_with_like_characters_matches_literally(city: Any, staff: dict[str, Any]) -> None:
    AssignmentRule.objects.create(municipality=city, priority=1, name="記号", district="埼玉県%", officer=staff["a"],
                                  team="整理1班")  # fmt: skip
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    assert s.assigned == 0


def test_refusals(city: Any, other_municipality: Any) -> None:
    with pytest.raises(ValidationError, match="未来"):
        cases_run(municipality=city, as_of=date(2024, 9, 1), today=AS_OF)
    with pytest.raises(ValidationError, match="開始基準"):
        cases_run(municipality=other_municipality, as_of=AS_OF, today=AS_OF)
    with pytest.raises(ValidationError, match="既に登録"):
        case_setting_set(actor=None, municipality=city, valid_from=date(2024, 1, 1), min_amount=1, min_age_days=0,
                         note="")  # fmt: skip


def test_the_command_prints_the_json_keys(city: Any) -> None:
    out = StringIO()
    call_command("cases_run", "--as-of", "2024-08-15", "--json", "--municipality", city.code, stdout=out)
    d = json.loads(out.getvalue().strip().splitlines()[-1])
    assert {k: d[k] for k in ("opened", "closed", "open_total", "amount_total")} == {
        "opened": 2, "closed": 0, "open_total": 2, "amount_total": 112000}  # fmt: skip
    out = StringIO()
    call_command(
        "cases_run", "--as-of", "2024-08-15", "--dry-run", "--json", "--municipality", city.code, stdout=out
    )
    assert json.loads(out.getvalue().strip().splitlines()[-1])["opened"] == 0
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("cases_run", "--as-of", "2024-13-01", "--municipality", city.code)


def test_the_rule_command_adds_lists_and_deactivates(city: Any, staff: dict[str, Any]) -> None:
    out = StringIO()
    common = ("--json", "--municipality", city.code)
    call_command("cases_rule", "--add", "--name", "法人", "--team", "整理2班", "--officer", "officer_b",
                 "--tax-item", "03", "--priority", "5", *common, stdout=out)  # fmt: skip
    rule = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (rule["officer"], rule["team"], rule["tax_item"], rule["active"]) == (
        "officer_b",
        "整理2班",
        "03",
        True,
    )
    for args, message in [
        (["--name", "x", "--team", "整理1班", "--officer", "officer_b"], "同じ班"),
        (["--name", "x", "--team", "整理1班", "--officer", "clerk"], "担当にできません"),
        (["--name", "x", "--team", "整理1班", "--tax-item", "99"], "税目マスタ"),
        (["--name", "x", "--team", ""], "班を指定"),
        (["--name", "x", "--team", "整理1班", "--min-amount", "0"], "1 円以上"),
    ]:
        with pytest.raises(CommandError, match=message):
            call_command("cases_rule", "--add", *args, *common)
    s = cases_run(municipality=city, as_of=AS_OF, today=AS_OF)
    assert s.by_rule == {"法人": 1}
    out = StringIO()
    call_command("cases_rule", "--deactivate", str(rule["id"]), *common, stdout=out)
    assert AssignmentRule.objects.get(pk=rule["id"]).is_active is False
    out = StringIO()
    call_command("cases_rule", "--list", *common, stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["rules"][0]["active"] is False
