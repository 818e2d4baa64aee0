"""One real object of every kind a URL takes an id of, made through the real services, and the map from
each ``<int:…>`` path parameter of the URL configuration to its kind.

Shared by the permission battery (another municipality must never open these objects) and the
malformed-input fuzzer (every object page is fuzzed with a real id, not only with one that 404s).
A route that takes an id this map does not know fails ``kinds_of`` with what to add.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from choshu.accounts.models import Role
from choshu.accounts.permissions import ROLE_CEILING, effective_rights
from choshu.accounts.services import right_set
from choshu.cases.models import Case, CaseSetting
from choshu.cases.services import case_setting_set, cases_run, flag_add
from choshu.core.models import Job
from choshu.dunning.models import DunningFeeSetting, DunningNotice, SuppressionReason
from choshu.dunning.reminders import Criteria, exclusion_add, list_save
from choshu.dunning.services import dunning_fee_set, dunning_run, suppression_add
from choshu.formats.payments import ELTAX_HEADER
from choshu.levies.models import Installment
from choshu.receipts.models import SuspenseItem
from choshu.receipts.services import counter_receipt_take, payments_import
from choshu.receipts.slip_issue import slip_issue
from choshu.receipts.slips import taxpayer_slips
from choshu.refunds.models import Overpayment, RefundNotice
from choshu.refunds.services import refunds_run
from choshu.relief.relief import relief_request
from choshu.rules.check_digits import make_slip_no
from choshu.taxpayers.changes import taxpayer_edit_request
from choshu.taxpayers.models import Taxpayer

# (the route up to the parameter, the parameter) → the kind of object its value is the id of
PARAM_KINDS: dict[tuple[str, str], str] = {
    ("taxpayers/", "pk"): "taxpayer",
    ("taxpayers/<int:pk>/late-charge/", "installment_pk"): "installment",
    ("jobs/", "pk"): "job",
    ("approvals/", "pk"): "change_request",
    ("approvals/taxpayers/", "taxpayer_pk"): "taxpayer",
    ("receipts/suspense/", "pk"): "suspense_item",
    ("receipts/counter/", "pk"): "payment",
    ("receipts/payments/", "pk"): "payment",
    ("receipts/slips/issue/", "taxpayer_pk"): "taxpayer",
    ("receipts/slips/", "pk"): "slip_issue",
    ("accounts/users/", "pk"): "user",
    ("dunning/reminders/", "pk"): "reminder_list",
    ("dunning/notice/", "pk"): "dunning_notice",
    ("dunning/suppressions/", "pk"): "dunning_suppression",
    ("relief/reliefs/", "pk"): "relief",
    ("dunning/reminders/<int:pk>/exclusions/", "exclusion_pk"): "reminder_exclusion",
    ("refunds/", "pk"): "overpayment",
    ("refunds/notices/", "pk"): "refund_notice",
    ("debits/taxpayers/", "pk"): "taxpayer",
    ("debits/mandates/", "pk"): "debit_mandate",
    ("debits/runs/", "pk"): "debit_run",
    ("debits/failures/", "pk"): "debit_line",
    ("cases/", "pk"): "case",
    ("cases/<int:pk>/flags/", "flag_pk"): "case_flag",
    ("enforcement/cases/", "case_pk"): "case",
    ("enforcement/seizures/", "pk"): "seizure",
    ("enforcement/claims/", "pk"): "claim",
    ("enforcement/inquiries/", "pk"): "inquiry_batch",
    ("enforcement/inquiries/<int:pk>/letters/", "index"): "letter_index",
    ("enforcement/inquiries/answers/", "pk"): "inquiry",
    ("enforcement/sales/", "pk"): "sale",
    ("reports/taxpayers/", "pk"): "taxpayer",
    ("cases/<int:pk>/plans/", "plan_pk"): "payment_plan",
    ("cases/<int:pk>/plans/<int:plan_pk>/slips/", "no"): "plan_instalment_no",
}
_INT_PARAM = re.compile(r"<int:(\w+)>")
UNKNOWN_SLIP = make_slip_no("444444444444444")
PAID_ON = date(2024, 5, 31)


def kinds_of(route: str) -> dict[str, str]:
    """``{"pk": "job"}`` for ``jobs/<int:pk>/``; ``KeyError`` naming a parameter not in ``PARAM_KINDS``."""
    found = {}
    for match in _INT_PARAM.finditer(route):
        key = (route[: match.start()], match.group(1))
        if key not in PARAM_KINDS:
            raise KeyError(f"{route}: add {key} to object_world.PARAM_KINDS and an object of that kind")
        found[match.group(1)] = PARAM_KINDS[key]
    return found


def fill(route: str, ids: dict[str, int], slug: str = "x") -> str:
    """The route with each id parameter replaced by the id of its kind and other parameters by ``slug``."""
    kinds = kinds_of(route)
    url = _INT_PARAM.sub(lambda m: str(ids[kinds[m.group(1)]]), route)
    url = re.sub(r"<(?:\w+:)?\w+>", slug, url)
    return "/" + url.lstrip("/")


def all_rights_chief(username: str, municipality: Any, make_user: Callable[..., Any]) -> Any:
    """A chief holding every right a chief may hold (a second chief grants those not held by default)."""
    chief = make_user(username, role=Role.CHIEF, municipality=municipality)
    granter = make_user(f"{username}-granter", role=Role.CHIEF, municipality=municipality)
    for right in sorted(ROLE_CEILING[Role.CHIEF] - effective_rights(chief)):
        right_set(actor=granter, user=chief, right=right, granted=True, reason="試験のため全権限")
    chief = type(chief).objects.get(pk=chief.pk)  # effective rights are cached on the instance
    assert effective_rights(chief) == ROLE_CEILING[Role.CHIEF]
    return chief


def objects_of(city: Any, make_user: Callable[..., Any], write_csv: Callable[..., Path]) -> dict[str, int]:
    """One of each kind in ``city`` (the ``sample_city`` fixture): a 決裁 request, a counter payment, a
    suspense item, a 納付書 issue, an import job, a staff user; kind → id."""
    clerk = make_user(f"world-clerk-{city.code}", role=Role.CLERK, municipality=city)
    taro = Taxpayer.objects.get(municipality=city, taxpayer_no="1001")
    hanako = Taxpayer.objects.get(municipality=city, taxpayer_no="1002")
    request = taxpayer_edit_request(
        actor=clerk, taxpayer=taro, changes={"phone": "048-999-0000"}, reason="本人申出"
    )
    payment = counter_receipt_take(
        actor=clerk,
        municipality=city,
        slip_no=taxpayer_slips(city, hanako.pk)[0].slip_no,
        amount=10800,
        paid_on=PAID_ON,
    )
    row = f"world-{city.code},{city.eltax_agency_no},{UNKNOWN_SLIP},1234,001,5000,2024-05-30,2024-06-03,0"
    payments_import(municipality=city, channel="eltax", path=write_csv(",".join(ELTAX_HEADER), [row]))
    item = SuspenseItem.objects.filter(payment__municipality=city).order_by("-pk").first()
    installment = Installment.objects.filter(levy__taxpayer=taro).order_by("pk").first()
    assert item is not None and installment is not None
    today = timezone.localdate()
    issue, _ = slip_issue(
        actor=clerk,
        taxpayer=taro,
        installment_ids=[installment.pk],
        late_charge_as_of=today + timedelta(days=10),
        pay_by=today + timedelta(days=10),
        today=today,
    )
    job = Job.objects.filter(municipality=city, kind__startswith="import-").order_by("pk").first()
    assert job is not None  # the sample city's imports each leave one
    reminders = list_save(
        actor=clerk, municipality=city, name="催告", criteria=Criteria(dunned_only=False), as_of=today,
        pay_by=today + timedelta(days=14), today=today,
    )  # fmt: skip
    exclusion = exclusion_add(actor=clerk, reminder_list=reminders, taxpayer=hanako, reason="納付相談中")
    if not DunningFeeSetting.objects.filter(municipality=city).exists():
        dunning_fee_set(actor=None, municipality=city, valid_from=date(2024, 4, 1), yen=100, source="条例")
    dunning_run(municipality=city, as_of=date(2024, 7, 15), today=date(2024, 7, 15))
    notice = DunningNotice.objects.filter(municipality=city, taxpayer=taro).order_by("pk").first()
    later = Installment.objects.filter(levy__taxpayer=taro).order_by("-due_date").first()
    assert notice is not None and later is not None
    suppression = suppression_add(
        actor=clerk, installment=later, reason=SuppressionReason.BANKRUPTCY, start=date(2024, 7, 1)
    )
    # 過誤納金: hanako pays her slip a second time at the counter (accepted as an overpayment); the run
    # lists it and queues the 過誤納還付通知書.
    counter_receipt_take(
        actor=clerk, municipality=city, slip_no=taxpayer_slips(city, hanako.pk)[0].slip_no, amount=10800,
        paid_on=PAID_ON, overpayment_accepted=True,
    )  # fmt: skip
    refunds_run(municipality=city, as_of=date(2024, 7, 15), today=date(2024, 7, 15))
    overpayment = Overpayment.objects.filter(municipality=city, taxpayer=hanako).order_by("pk").first()
    refund_notice = RefundNotice.objects.filter(municipality=city, taxpayer=hanako).order_by("pk").first()
    assert overpayment is not None and refund_notice is not None
    mandate, run, line = _debits_of(city, clerk, taro, make_user, write_csv)
    if not CaseSetting.objects.filter(municipality=city).exists():
        case_setting_set(actor=None, municipality=city, valid_from=date(2024, 1, 1), min_amount=1, min_age_days=0,
                         note="試験")  # fmt: skip
    cases_run(municipality=city, as_of=today, today=today)
    case = Case.objects.get(taxpayer=taro, closed_on__isnull=True)
    case_chief = make_user(f"world-chief-{city.code}", role=Role.CHIEF, municipality=city, team="整理1班")
    flag = flag_add(actor=case_chief, case=case, kind="", text="付箋", expires_on=None, today=today)
    officer = make_user(f"world-officer-{city.code}", role=Role.CASE_OFFICER, municipality=city)
    relief = relief_request(
        actor=officer, taxpayer=taro, kind="collection_deferral", ground="illness", installments=[later],
        start=date(2024, 8, 1), end=date(2025, 1, 31), note="入院のため",
    )  # fmt: skip
    from choshu.enforcement.services import seizure_request

    seizure = seizure_request(
        actor=case_chief, case=case, kind="deposit", description="川口信用金庫 本店 普通 1234567",
        installment_ids=[installment.pk], executed_on=date(2024, 8, 1), amount=10000, note="預金照会の回答",
        third_party_name="川口信用金庫",
    )  # fmt: skip
    plan = _plan_of(officer, taro, installment, today)
    claim, batch, inquiry, sale = _enforcement_of(city, case, case_chief, installment, make_user)
    return {
        "seizure": seizure.pk,
        "claim": claim,
        "inquiry_batch": batch,
        "letter_index": 0,
        "inquiry": inquiry,
        "sale": sale,
        "payment_plan": plan,
        "plan_instalment_no": 1,
        "overpayment": overpayment.pk,
        "refund_notice": refund_notice.pk,
        "debit_mandate": mandate,
        "debit_run": run,
        "debit_line": line,
        "case": case.pk,
        "case_flag": flag.pk,
        "taxpayer": taro.pk,
        "installment": installment.pk,
        "job": job.pk,
        "change_request": request.pk,
        "suspense_item": item.pk,
        "payment": payment.pk,
        "slip_issue": issue.pk,
        "user": clerk.pk,
        "reminder_list": reminders.pk,
        "reminder_exclusion": exclusion.pk,
        "dunning_notice": notice.pk,
        "dunning_suppression": suppression.pk,
        "relief": relief.pk,
    }


def _enforcement_of(
    city: Any, case: Case, chief: Any, installment: Installment, make_user: Callable[..., Any]
) -> tuple[int, int, int, int]:
    """A 交付要求 (決裁待ち), a 預貯金 inquiry batch to one bank and its inquiry, and the 換価 of an approved
    seizure of land (決裁待ち): ids."""
    from choshu.approvals.services import request_approve
    from choshu.enforcement.claims import claim_request
    from choshu.enforcement.distribution import sale_request
    from choshu.enforcement.inquiries import Recipient, inquiry_batch_build
    from choshu.enforcement.models import Inquiry
    from choshu.enforcement.services import seizure_request

    claim = claim_request(
        actor=chief, case=case, kind="demand", proceeding="bankruptcy", authority="破産管財人 弁護士 川口太郎",
        case_no="令和6年(フ)第1号", property_description="", installment_ids=[installment.pk],
        claimed_on=date(2024, 8, 1), amount=10000, note="破産手続開始の通知",
    )  # fmt: skip
    batch = inquiry_batch_build(
        actor=chief, kind="deposit", as_of=date(2024, 8, 1), case_ids=[case.pk],
        recipients=[Recipient("0001", "みずほ銀行")],
    )  # fmt: skip
    inquiry = Inquiry.objects.filter(batch=batch).order_by("pk").first()
    assert inquiry is not None
    land = seizure_request(
        actor=chief, case=case, kind="real_estate", description="川口市本町1丁目 宅地 120㎡",
        installment_ids=[installment.pk], executed_on=date(2024, 8, 1), amount=900_000, note="登記簿で確認",
    )  # fmt: skip
    approver = make_user(f"world-chief2-{city.code}", role=Role.CHIEF, municipality=city, team="整理1班")
    assert land.request is not None
    request_approve(actor=approver, request=land.request, decided_on=date(2024, 8, 1))
    land.refresh_from_db()
    sale = sale_request(
        actor=chief, seizure=land, method="auction", sold_on=date(2024, 10, 1), buyer="株式会社買受",
        proceeds=100_000, distributed_on=date(2024, 10, 15), our_rank=1, claim=None, others=[], note="期日入札",
    )  # fmt: skip
    return claim.pk, batch.pk, inquiry.pk, sale.pk


def _plan_of(officer: Any, taro: Any, installment: Installment, today: date) -> int:
    """A 分納誓約 of 1001 over its first installment: 2 equal instalments, pledged today (slips issued)."""
    from choshu.plans.services import equal_schedule, plan_create, plan_pledge, plan_quote

    first_on = today + timedelta(days=10)
    quote = plan_quote(taxpayer=taro, installment_ids=[installment.pk], last_on=first_on + timedelta(days=31),
                       include_late_charge=False, today=today)  # fmt: skip
    plan = plan_create(actor=officer, taxpayer=taro, installment_ids=[installment.pk],
                       schedule=equal_schedule(quote.total, 2, first_on), method="equal", include_late_charge=False,
                       note="分納の申出", today=today)  # fmt: skip
    return plan_pledge(actor=officer, plan=plan, pledged_on=today, today=today).pk


def _debits_of(
    city: Any, clerk: Any, taro: Any, make_user: Callable[..., Any], write_csv: Callable[..., Path]
) -> tuple[int, int, int]:
    """An approved 口座振替 of 1001, the 7/1 debit run and its line, failed by the bank (code 1)."""
    from choshu.approvals.services import request_approve
    from choshu.debits.models import DebitLine
    from choshu.debits.requests import debit_request
    from choshu.debits.services import collecting_account_set, mandate_request
    from choshu.debits.tests.zengin_bytes import result_file
    from choshu.formats.debit_mandates import MandateInput

    chief = make_user(f"world-debit-chief-{city.code}", role=Role.CHIEF, municipality=city)
    collecting_account_set(
        actor=chief, municipality=city, bank_code="0001", branch_code="001", deposit_type="1", account="7654321",
        originator_code="1234567890", originator_name="ｶﾜｸﾞﾁｼ", is_default=True,
    )  # fmt: skip
    data = MandateInput(
        tax_item="", bank_code="0001", branch_code="001", deposit_type="1", account="1234567",
        holder_name="ｶﾜｸﾞﾁ ﾀﾛｳ", start=date(2024, 6, 1), end=None, received_on=date(2024, 5, 20),
    )  # fmt: skip
    mandate = mandate_request(actor=clerk, taxpayer=taro, data=data, reason="依頼書受付")
    assert mandate.request is not None
    request_approve(actor=chief, request=mandate.request, decided_on=date(2024, 5, 21))
    out = write_csv("x", []).parent
    summary = debit_request(municipality=city, debit_date=date(2024, 7, 1), out_dir=out)
    line = DebitLine.objects.get(file__run_id=summary.run_id)
    result = out / f"result-{city.code}.txt"
    result.write_bytes(result_file(Path(summary.files[0]["path"]).read_bytes(), {str(line.pk): "1"}))
    payments_import(municipality=city, channel="zengin", path=result)
    return mandate.pk, summary.run_id, line.pk
