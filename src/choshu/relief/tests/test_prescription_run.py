"""``choshu prescription-run`` (issue 18 §7): worked examples of 法18条 / 18条の2 / 民法152条 (law.md §f,
https://i-zisukan.hatenadiary.org/entry/20141107/p1 , https://kt-theif.hatenablog.jp/entry/2021/09/08/230641 ),
with and without 督促 and partial payments; idempotency; the effects of a 消滅 on the counter, the
payment import and the dunning run. Data: ``conftest.py`` of this folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.audit.models import AuditKind, AuditLog
from choshu.dunning.models import DunningNoticeInstallment
from choshu.dunning.services import dunning_run
from choshu.levies.arrears import arrears_by_taxpayer
from choshu.levies.models import Installment
from choshu.receipts.models import Payment
from choshu.receipts.services import counter_receipt_record
from choshu.relief.models import Extinguishment, PrescriptionWatch
from choshu.relief.prescription import EVENT_SOURCES, installment_events, register_event_source
from choshu.relief.tests.conftest import TODAY, D, bank_import, cmd, inst
from choshu.rules.prescription import PrescriptionEvent, PrescriptionEventKind

pytestmark = pytest.mark.django_db


def run(city: Any, as_of: str, *extra: str) -> dict[str, Any]:
    return cmd("prescription_run", "--as-of", as_of, "--municipality", city.code, *extra)


def test_the_dates_come_from_the_due_date_the_dunning_and_the_partial_payment(old_city: Any) -> None:
    out = run(old_city, "2026-12-01")
    # 190001: no event → 5 years from 2019-08-01 end 2024-07-31, extinguished 2024-08-01.
    # 190002: 督促 2019-07-10 → new period from 2019-07-21 (after the day 10 days elapsed) → 2024-07-21.
    assert (inst("190001").extinguished_on, inst("190001").extinguished_reason) == (
        D(2024, 8, 1),
        "prescription",
    )
    assert inst("190002").extinguished_on == D(2024, 7, 21)
    assert (out["extinguished"], out["amount"]) == (2, 30000 + 20000)
    assert out["by_reason"] == {"prescription": {"count": 2, "amount": 50000}}
    # Within 6 months (to 2027-06-01): 210001 (partial payment 2022-03-15 → 2027-03-16) and 220001
    # (2027-05-01); without the payment 210001 would have ended on 2026-06-01.
    assert out["warn_until"] == "2027-06-01"
    assert (out["warned"], out["warned_amount"]) == (2, 5800 + 12000)
    watch = {w.installment.levy.notice_no: w.expected_on for w in PrescriptionWatch.objects.all()}
    assert watch == {"210001": D(2027, 3, 16), "220001": D(2027, 5, 1)}
    assert inst("210001").extinguished_on is None
    ext = Extinguishment.objects.get(installment=inst("190002"))
    assert ext.principal == 20000 and any("督促 2019-07-10" in line for line in ext.trail)
    assert AuditLog.objects.filter(kind=AuditKind.BATCH, function__startswith="時効の判定").count() == 1


def test_the_dunning_moves_the_date_a_day_before_it_is_not_yet_extinguished(old_city: Any) -> None:
    out = run(old_city, "2024-07-20")
    assert out["extinguished"] == 0  # 190002 ends on 07-21 thanks to its 督促 (without: 2024-06-29)
    out = run(old_city, "2024-07-21")
    assert (out["extinguished"], out["amount"]) == (1, 20000)
    assert inst("190002").extinguished_on == D(2024, 7, 21) and inst("190001").extinguished_on is None


def test_the_run_is_idempotent_and_a_dry_run_writes_nothing(old_city: Any) -> None:
    dry = run(old_city, "2026-12-01", "--dry-run")
    assert (dry["dry_run"], dry["extinguished"], dry["warned"]) == (True, 2, 2)
    assert not Installment.objects.filter(extinguished_on__isnull=False).exists()
    assert not Extinguishment.objects.exists() and not PrescriptionWatch.objects.exists()
    first = run(old_city, "2026-12-01")
    again = run(old_city, "2026-12-01")
    assert (first["extinguished"], again["extinguished"], again["amount"]) == (2, 0, 0)
    assert again["warned"] == 2 and PrescriptionWatch.objects.count() == 2
    assert Extinguishment.objects.count() == 2


def test_bad_input_is_refused_with_a_message(old_city: Any) -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run(old_city, "2026/12/01")
    with pytest.raises(CommandError, match="未来の日付"):
        run(old_city, "2026-12-08")
    with pytest.raises(CommandError, match="0〜60"):
        run(old_city, "2026-12-01", "--warn-months", "99")


def test_a_registered_source_of_pledges_renews_the_period(old_city: Any) -> None:
    # 納付誓約 (issue 18 §5, not built yet) enter through register_event_source (民法152条).
    target = inst("190001").pk

    def pledges(ids: Any) -> dict[int, list[PrescriptionEvent]]:
        return (
            {target: [PrescriptionEvent(PrescriptionEventKind.ACKNOWLEDGEMENT, D(2023, 5, 10))]}
            if target in ids
            else {}
        )

    register_event_source(pledges)
    try:
        assert PrescriptionEventKind.ACKNOWLEDGEMENT in {e.kind for e in installment_events([target])[target]}
        out = run(old_city, "2026-12-01")
        assert out["extinguished"] == 1 and inst("190001").extinguished_on is None  # now 2028-05-11
    finally:
        EVENT_SOURCES.remove(pledges)


# --- effects ------------------------------------------------------------------------------------------


def test_the_counter_refuses_a_payment_on_an_extinguished_claim(old_city: Any, make_user: Callable) -> None:
    run(old_city, "2026-12-01")
    clerk = make_user("clerk", role=Role.CLERK, municipality=old_city)
    slip = str(inst("190001").slip_no)
    with pytest.raises(ValidationError, match="徴収権が消滅しています") as refused:
        counter_receipt_record(
            actor=clerk, municipality=old_city, slip_nos=[slip], amount=30000, paid_on=TODAY, entered_on=TODAY
        )
    assert "収納できません" in refused.value.messages[0]
    assert not Payment.objects.filter(slip_no=slip).exists()
    assert inst("190001").principal_outstanding == 30000


def test_an_imported_payment_on_an_extinguished_claim_becomes_an_overpayment(
    old_city: Any, write_csv: Callable[..., Path]
) -> None:
    run(old_city, "2026-12-01")
    bank_import(write_csv, [("190002", 20000, "2026-11-30")])
    p = Payment.objects.get(slip_no=inst("190002").slip_no)
    assert (p.status, p.allocated, p.overpaid) == ("posted", 0, 20000)  # for the refunds queue (過誤納金)
    assert inst("190002").principal_outstanding == 20000  # nothing placed on the extinguished claim


def test_a_payment_dated_before_the_extinction_still_pays_the_claim(
    old_city: Any, write_csv: Callable[..., Path]
) -> None:
    run(old_city, "2026-12-01")
    bank_import(write_csv, [("190001", 10000, "2024-07-31")])  # the last day of the period, imported late
    p = Payment.objects.get(slip_no=inst("190001").slip_no)
    assert (p.allocated, p.overpaid) == (10000, 0)
    assert inst("190001").principal_outstanding == 20000


def test_the_dunning_run_and_the_arrears_skip_extinguished_claims(old_city: Any) -> None:
    run(old_city, "2026-12-01")
    dunning_run(municipality=old_city, as_of=D(2026, 12, 1), today=TODAY)
    assert not DunningNoticeInstallment.objects.filter(installment=inst("190001")).exists()
    assert DunningNoticeInstallment.objects.filter(installment=inst("220001")).exists()  # not extinguished
    a = arrears_by_taxpayer(taxpayer_ids=[inst("190001").taxpayer_id], as_of=D(2026, 12, 1))
    tp = inst("190001").taxpayer_id
    # 2024 01 第1期・第2期, 2024 04, 2022 04 (220001) — 190001 (30,000) left out
    assert a[tp].overdue == 30000 + 29000 + 12000 + 12000
    before = arrears_by_taxpayer(taxpayer_ids=[tp], as_of=D(2024, 7, 31))
    # the day before it ended, 190001 is still owed: with 2024 01 第1期, 2024 04 and 220001
    assert before[tp].overdue == 30000 + 30000 + 12000 + 12000


def test_a_reminder_list_leaves_extinguished_claims_out(old_city: Any, make_user: Callable) -> None:
    from choshu.dunning.reminders import Criteria, list_save, target_installments

    run(old_city, "2026-12-01")
    clerk = make_user("clerk", role=Role.CLERK, municipality=old_city)
    rl = list_save(
        actor=clerk, municipality=old_city, name="催告", criteria=Criteria(dunned_only=False), as_of=D(2026, 12, 1),
        pay_by=D(2026, 12, 15), today=TODAY,
    )  # fmt: skip
    chosen = set(target_installments(rl).values_list("levy__notice_no", flat=True))
    assert "190001" not in chosen and "190002" not in chosen and "210001" in chosen


def test_a_payment_dated_before_the_extinction_imported_later_revives_the_claim(
    old_city: Any, write_csv: Callable[..., Path]
) -> None:
    run(old_city, "2026-12-01")
    assert inst("190001").extinguished_on == D(2024, 8, 1)
    # A partial payment on 2024-07-30 (before the period completed on 07-31) arrives late: it is an
    # acknowledgement (民法152条) — a new period from 2024-07-31 to 2029-07-30: never extinguished.
    bank_import(write_csv, [("190001", 1000, "2024-07-30")])
    out = run(old_city, "2026-12-01")
    assert (out["revived"], out["extinguished"]) == (1, 0)
    i = inst("190001")
    assert (i.extinguished_on, i.extinguished_reason, i.principal_outstanding) == (None, "", 29000)
    assert not Extinguishment.objects.filter(installment=i).exists()
    assert run(old_city, "2026-12-01")["revived"] == 0  # idempotent


def test_amounts_due_owe_nothing_on_an_extinguished_claim_from_the_day_it_ended(old_city: Any) -> None:
    from choshu.levies.selectors import amounts_due, amounts_due_lines

    run(old_city, "2026-12-01")
    i = inst("190001")
    assert i.extinguished_on == D(2024, 8, 1)
    after = {a.installment_id: a for a in amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=D(2026, 12, 1))}
    a = after[i.pk]  # kept (callers look rows up by id), owing nothing, the ledger figure still shown
    assert (a.principal_due, a.late_charge, a.dunning_fee, a.total) == (0, 0, 0, 0)
    assert (a.principal_outstanding, a.extinguished_on) == (30000, D(2024, 8, 1))
    line = {x.installment_id: x for x in amounts_due_lines(installment_ids=[i.pk], as_of=D(2026, 12, 1))}[
        i.pk
    ]
    assert (line.principal_due, line.late_charge, line.dunning_fee) == (0, 0, 0)
    # the day before it ended it was still owed, with its late charge
    before = {a.installment_id: a for a in amounts_due(taxpayer_ids=[i.taxpayer_id], as_of=D(2024, 7, 31))}
    assert before[i.pk].principal_due == 30000 and before[i.pk].total > 30000
    line = amounts_due_lines(installment_ids=[i.pk], as_of=D(2024, 7, 31))[0]
    assert line.principal_due == 30000
