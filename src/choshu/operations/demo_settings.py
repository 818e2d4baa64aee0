"""Settings a synthetic (demo / benchmark) city needs before its screens and batches work.

The 督促手数料 is a municipality setting from its 税条例 (``dunning.DunningFeeSetting``); the bundled
``rules/params/dunning_fees.toml`` has no entry for 川口市 (112038) because no source for its ordinance
was found. A synthetic city gets the most common published amount (100 円 per 督促状, law.md §b) from
2000-04-01, recorded with a source that says it is a demo value — a real city registers its own with
``choshu dunning-fee``.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from choshu.core.models import Municipality
from choshu.dunning.models import DunningFeeSetting
from choshu.dunning.services import dunning_fee_set, fee_lookup

DEMO_FEE_FROM = date(2000, 4, 1)
DEMO_FEE_YEN = 100
DEMO_FEE_SOURCE = (
    "デモ用の設定値（合成データの自治体。川口市税条例の督促手数料は未確認のため、"
    "法令調査で最も多い1通100円を仮に設定。本番では税条例の額を登録すること）"
)


def ensure_demo_dunning_fee(municipality: Municipality) -> bool:
    """Give a synthetic city a 督促手数料 setting when it has none (its own rows or the bundled table);
    True when one was registered. Idempotent."""
    if DunningFeeSetting.objects.filter(municipality=municipality).exists():
        return False
    bundled = fee_lookup(municipality)
    if bundled.key in bundled.table.windows:
        return False  # the bundled table knows this city
    dunning_fee_set(
        actor=None,
        municipality=municipality,
        valid_from=DEMO_FEE_FROM,
        yen=DEMO_FEE_YEN,
        source=DEMO_FEE_SOURCE,
    )
    return True


# --- 滞納整理 (issue 18): thresholds, assignment rules and a first cases-run ---------------------------

DEMO_CASE_FROM = date(2000, 4, 1)
DEMO_CASE_AMOUNT = 10000
DEMO_CASE_AGE_DAYS = 30
DEMO_LARGE = 100000


def ensure_demo_cases(municipality: Municipality, *, today: date) -> dict[str, object]:
    """Give a synthetic city the 滞納案件 thresholds (本税 10,000 円 and 30 days past the 指定納期限, a demo
    value), two assignment rules (100,000 円 or more to the demo officer of 整理第2班, the rest to the one
    of 整理第1班; only for the demo users that exist) and run ``cases-run`` on ``today`` (idempotent), so
    that the demo officer has a work list. Returns the run's counts."""
    from choshu.accounts.models import User
    from choshu.cases.models import AssignmentRule, CaseSetting
    from choshu.cases.services import case_setting_set, cases_run

    if not CaseSetting.objects.filter(municipality=municipality).exists():
        case_setting_set(
            actor=None, municipality=municipality, valid_from=DEMO_CASE_FROM, min_amount=DEMO_CASE_AMOUNT,
            min_age_days=DEMO_CASE_AGE_DAYS, note="デモ用の設定値（本番では団体の基準を登録すること）",
        )  # fmt: skip
    if not AssignmentRule.objects.filter(municipality=municipality).exists():
        officers = {
            u.username: u
            for u in User.objects.filter(municipality=municipality, username__in=["officer", "officer2"])
        }
        if "officer2" in officers:
            AssignmentRule.objects.create(
                municipality=municipality, priority=10, name="高額（10万円以上）", min_amount=DEMO_LARGE,
                officer=officers["officer2"], team=officers["officer2"].team,
            )  # fmt: skip
        if "officer" in officers:
            AssignmentRule.objects.create(
                municipality=municipality, priority=100, name="その他すべて", officer=officers["officer"],
                team=officers["officer"].team,
            )  # fmt: skip
    return cases_run(municipality=municipality, as_of=today, today=today).as_dict()


def ensure_demo_plan(municipality: Municipality, *, today: date) -> int | None:
    """One 分納誓約 in the demo (issue 18 §5): the demo officer's oldest open case gets an equal plan
    of 3 monthly instalments over the person's arrears, pledged today (its slips, 督促停止 and 分納中
    follow). Idempotent: nothing when a plan exists; returns the plan's id (None when nothing fits)."""
    from django.core.exceptions import ValidationError

    from choshu.accounts.models import User
    from choshu.cases.models import Case
    from choshu.levies.models import Installment
    from choshu.plans.models import PaymentPlan
    from choshu.plans.services import equal_schedule, monthly_dates, plan_create, plan_pledge, plan_quote

    existing = PaymentPlan.objects.filter(municipality=municipality).order_by("pk").first()
    if existing is not None:
        return existing.pk
    officer = User.objects.filter(municipality=municipality, username="officer").first()
    if officer is None:
        return None
    first_on = today + timedelta(days=10)
    for case in Case.objects.filter(officer=officer, closed_on__isnull=True).select_related("taxpayer")[:20]:
        ids = list(
            Installment.objects.filter(
                taxpayer=case.taxpayer,
                principal_outstanding__gt=0,
                due_date__lt=today,
                extinguished_on__isnull=True,
            ).values_list("pk", flat=True)
        )
        try:
            quote = plan_quote(taxpayer=case.taxpayer, installment_ids=ids, last_on=monthly_dates(first_on, 3)[-1],
                               include_late_charge=False, today=today)  # fmt: skip
            plan = plan_create(actor=officer, taxpayer=case.taxpayer, installment_ids=ids,
                               schedule=equal_schedule(quote.total, 3, first_on), method="equal",
                               include_late_charge=False, note="デモ: 本人来庁、3回の分納を申出", today=today)  # fmt: skip
            plan_pledge(actor=officer, plan=plan, pledged_on=today, today=today)
        except ValidationError:
            continue  # e.g. an installment already covered, or a person under 支援措置: try the next
        return plan.pk
    return None


# --- 納税催告センター (issue 20): this month's target list, for the operator "center" -------------------


def ensure_demo_callcenter(municipality: Municipality, *, today: date) -> str:
    """Export this month's call-centre targets once (all years: the synthetic arrears are spread over
    several) to ``VAR_DIR/callcenter/``, so that the demo operator ``center`` has a list. Returns the line
    to print ("" when the month was exported before)."""
    from django.conf import settings
    from django.core.exceptions import ValidationError

    from choshu.callcenter.criteria import criteria_set
    from choshu.callcenter.export import callcenter_export
    from choshu.callcenter.models import CallCriteria, CallExport

    month = f"{today:%Y-%m}"
    if CallExport.objects.filter(municipality=municipality, month=month).exists():
        return ""
    if not CallCriteria.objects.filter(municipality=municipality).exists():
        criteria_set(actor=None, municipality=municipality, valid_from=date(2000, 4, 1), min_amount=1,
                     current_year_only=False, note="デモ用の設定値（全年度の滞納）")  # fmt: skip
    folder = Path(settings.VAR_DIR) / "callcenter"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"targets-{month}.csv"
    if out.exists():
        return ""
    try:
        s = callcenter_export(municipality=municipality, month=month, out=out, today=today)
    except ValidationError as exc:
        return f"\n納税催告センターの対象者ファイルは作成しませんでした: {' '.join(exc.messages)}"
    return (f"\n納税催告センター: {month} の対象者 {s.targets:,} 人を {out} に出力しました"
            "（center でログインすると当月の架電対象者が見えます）")  # fmt: skip
