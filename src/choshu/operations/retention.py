"""Retention and deletion (保存期間経過後の消去): the yearly purge promised by the privacy impact assessment.

A person's data is deleted when the municipality's retention period (default 7 years) has passed
since their last settlement — the latest legal date of a payment, correction, refund, appropriation
or write-off of theirs, or the end of the fiscal year of their latest levy, whichever is later —
and nothing keeps it alive: outstanding arrears, money held for them (overpayment), or a hold
registered by another app (a delinquency case, a payment plan, a prescription renewal; those apps
add their check to ``HOLDS``). The audit log keeps its own retention and is purged separately,
leaving an anchor so the hash chain still verifies.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from choshu.accounts.permissions import Right, has_right
from choshu.approvals.models import ChangeRequest, RequestKind
from choshu.approvals.services import register, register_field_labels, request_approve, request_create
from choshu.audit.models import AuditKind
from choshu.audit.sealing import purge_before, seal_all
from choshu.audit.services import audit_record
from choshu.cases.models import Assignment, Case, CaseFlag, ContactLog, StageChange
from choshu.core.models import Job, Municipality
from choshu.core.services import job_finish, job_start
from choshu.dunning.models import (
    DunningNotice,
    DunningNoticeInstallment,
    DunningSuppression,
    PublicNotice,
    ReminderExclusion,
    ReminderLetter,
    ReminderLetterInstallment,
    ReturnedMail,
)
from choshu.formats.csv_safe import neutralise_cell
from choshu.levies.ledger import forget_breakdowns, purge_transactions
from choshu.levies.models import Account, Installment, LedgerEntry, Levy, TxnKind
from choshu.levies.verify import forget_installments
from choshu.receipts.models import Payment, PaymentSlip, SuspenseItem
from choshu.refunds.models import Appropriation, Overpayment, Refund, RefundAccount, RefundNotice
from choshu.taxpayers.models import IdentityLink, Taxpayer, TaxpayerRevision

# Other apps register functions returning {taxpayer_id: reason} for people they keep alive.
HOLDS: list[Callable[[Municipality, list[int]], dict[int, str]]] = []
CHUNK = 1000


@dataclass
class PurgeReport:
    examined: int = 0
    deleted: int = 0
    kept: int = 0
    kept_reasons: dict[str, int] = field(default_factory=dict)
    audit_deleted: int = 0
    dry_run: bool = False
    report_file: str = ""
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def keep(self, reason: str) -> None:
        self.kept += 1
        self.kept_reasons[reason] = self.kept_reasons.get(reason, 0) + 1


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _reasons_to_keep(municipality: Municipality, ids: list[int], as_of: date) -> dict[int, str]:
    keep: dict[int, str] = {}
    arrears = (
        Installment.objects.filter(taxpayer_id__in=ids, principal_outstanding__gt=0)
        .values_list("taxpayer_id", flat=True)
        .distinct()
    )
    keep.update({tp: "arrears" for tp in arrears})
    held = (
        LedgerEntry.objects.filter(taxpayer_id__in=ids, account=Account.OVERPAYMENT)
        .values("taxpayer_id")
        .annotate(total=Sum("amount"))
    )
    keep.update(
        {
            row["taxpayer_id"]: "overpayment_held"
            for row in held
            if row["total"] and row["taxpayer_id"] not in keep
        }
    )
    open_cases = Case.objects.filter(taxpayer_id__in=ids, closed_on__isnull=True).values_list(
        "taxpayer_id", flat=True
    )
    for tp in open_cases:
        keep.setdefault(tp, "open_case")
    for hold in HOLDS:
        for tp, reason in hold(municipality, ids).items():
            keep.setdefault(tp, reason)
    # The levy transaction's date is when it was booked here (an import date); settlement is what
    # happened to the claim since: payments, corrections, refunds, appropriations, write-offs.
    last_txn = dict(
        LedgerEntry.objects.filter(taxpayer_id__in=ids)
        .exclude(txn__kind=TxnKind.LEVY)
        .values("taxpayer_id")
        .annotate(last=Max("txn__legal_date"))
        .values_list("taxpayer_id", "last")
    )
    last_levy = dict(
        Levy.objects.filter(taxpayer_id__in=ids)
        .values("taxpayer_id")
        .annotate(last=Max("levy_year"))
        .values_list("taxpayer_id", "last")
    )
    years = municipality.retention_years
    updated = dict(Taxpayer.objects.filter(id__in=ids).values_list("id", "updated_at"))
    for tp in ids:
        if tp in keep:
            continue
        settled = last_txn.get(tp)
        if tp in last_levy:
            levy_end = date(int(last_levy[tp]) + 1, 3, 31)  # end of the levy's fiscal year
            settled = max(settled, levy_end) if settled else levy_end
        if settled is None:
            settled = updated[tp].date()
        if add_years(settled, years) >= as_of:
            keep[tp] = "within_retention"
    return keep


def _delete_people(ids: list[int]) -> None:
    payments = list(
        Payment.objects.filter(taxpayer_id__in=ids).values_list("id", "txn_id", "reversal_txn_id")
    )
    pay_txns = {t for _, txn, rev in payments for t in (txn, rev) if t}
    txn_ids = set(LedgerEntry.objects.filter(taxpayer_id__in=ids).values_list("txn_id", flat=True))
    txn_ids |= pay_txns
    # Every transaction is one business event of one person: whole transactions go, through the
    # ledger's own purge (the only deletion the ledger allows); no posted row of anyone else changes.
    SuspenseItem.objects.filter(payment__taxpayer_id__in=ids).delete()
    Payment.objects.filter(taxpayer_id__in=ids).delete()
    # 督促状 and 督促停止 (the run's DunningBatch holds counts only and stays)
    ReturnedMail.objects.filter(taxpayer_id__in=ids).delete()  # with its links to the suppressions
    PublicNotice.objects.filter(taxpayer_id__in=ids).delete()
    DunningNoticeInstallment.objects.filter(notice__taxpayer_id__in=ids).delete()
    DunningNotice.objects.filter(taxpayer_id__in=ids).delete()
    DunningSuppression.objects.filter(taxpayer_id__in=ids).delete()
    # 滞納案件 (closed: an open one keeps the person) with their history and contact log
    ContactLog.objects.filter(case__taxpayer_id__in=ids).delete()
    CaseFlag.objects.filter(case__taxpayer_id__in=ids).delete()
    StageChange.objects.filter(case__taxpayer_id__in=ids).delete()
    Assignment.objects.filter(case__taxpayer_id__in=ids).delete()
    Case.objects.filter(taxpayer_id__in=ids).delete()
    # 催告書 and hand exclusions (the lists hold criteria and counts only and stay)
    ReminderLetterInstallment.objects.filter(letter__taxpayer_id__in=ids).delete()
    ReminderLetter.objects.filter(taxpayer_id__in=ids).delete()
    ReminderExclusion.objects.filter(taxpayer_id__in=ids).delete()
    PaymentSlip.objects.filter(taxpayer_id__in=ids).delete()
    # 過誤納・充当・還付 (a transfer file's record holds counts only and stays)
    Appropriation.objects.filter(taxpayer_id__in=ids).delete()
    RefundNotice.objects.filter(taxpayer_id__in=ids).delete()
    Refund.objects.filter(taxpayer_id__in=ids).delete()
    RefundAccount.objects.filter(taxpayer_id__in=ids).delete()
    Overpayment.objects.filter(taxpayer_id__in=ids).delete()
    purge_transactions(txn_ids=txn_ids, taxpayer_ids=set(ids))
    installments = list(Installment.objects.filter(taxpayer_id__in=ids).values_list("id", flat=True))
    forget_installments(installments)
    forget_breakdowns(installments)
    Installment.objects.filter(taxpayer_id__in=ids).delete()
    Levy.objects.filter(taxpayer_id__in=ids).delete()
    TaxpayerRevision.objects.filter(taxpayer_id__in=ids).delete()
    IdentityLink.objects.filter(taxpayer_id__in=ids).delete()
    IdentityLink.objects.filter(linked_id__in=ids).delete()
    Taxpayer.objects.filter(id__in=ids).delete()


def purge_run(*, municipality: Municipality, as_of: date, dry_run: bool, actor: Any = None) -> PurgeReport:
    """Examine every taxpayer; delete those past retention with nothing keeping them (unless dry-run)."""
    report = PurgeReport(dry_run=dry_run)
    job = job_start(
        municipality=municipality,
        kind=Job.Kind.PURGE,
        actor=actor,
        parameters={"as_of": as_of.isoformat(), "dry_run": dry_run},
    )
    rows: list[tuple[str, str, str]] = []
    all_ids = list(
        Taxpayer.objects.filter(municipality=municipality).order_by("id").values_list("id", flat=True)
    )
    for start in range(0, len(all_ids), CHUNK):
        ids = all_ids[start : start + CHUNK]
        keep = _reasons_to_keep(municipality, ids, as_of)
        report.examined += len(ids)
        for reason in keep.values():
            report.keep(reason)
        doomed = [tp for tp in ids if tp not in keep]
        if not doomed:
            continue
        rows.extend(Taxpayer.objects.filter(id__in=doomed).values_list("taxpayer_no", "kind", "updated_at"))  # type: ignore[arg-type]
        report.deleted += len(doomed)
        if not dry_run:
            with transaction.atomic():
                _delete_people(doomed)
    if not dry_run:
        report.audit_deleted = purge_audit_log(as_of=as_of)
    report.report_file = str(_write_report(municipality, as_of, rows, dry_run))
    report.job_id = job.pk
    job_finish(job, status=Job.Status.SUCCEEDED, counts=report.as_dict())
    audit_record(
        kind=AuditKind.BATCH,
        function="保存期間経過データ消去" + ("（試行）" if dry_run else ""),
        municipality=municipality,
        user=actor,
        job=job,
        detail=report.as_dict(),
    )
    return report


def _write_report(
    municipality: Municipality, as_of: date, rows: list[tuple[str, str, Any]], dry_run: bool
) -> Path:
    """The deletion report (消去記録): which 宛名番号 were (or would be) deleted. No names or numbers."""
    folder = Path(settings.VAR_DIR) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    path = folder / f"purge-{municipality.code}-{as_of.isoformat()}-{stamp}{'-dryrun' if dry_run else ''}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["taxpayer_no", "kind", "last_updated", "action"])
        for no, kind, updated in rows:
            cells = [no, kind, updated.date().isoformat(), "would_delete" if dry_run else "deleted"]
            writer.writerow([neutralise_cell(c) for c in cells])  # opened in a spreadsheet too
    return path


def purge_audit_log(*, as_of: date) -> int:
    """Delete audit records older than the audit retention (``CHOSHU_AUDIT_RETENTION_YEARS``, default 10).

    Each municipality's chain loses a prefix; the purge is a signed line in the checkpoint file
    (``audit.sealing.purge_before``). Records still waiting to be sealed are sealed first.
    """
    cutoff = add_years(as_of, -settings.CHOSHU_AUDIT_RETENTION_YEARS)
    seal_all()
    return purge_before(cutoff)


# ---------------------------------------------------------------------------------------------------
# 二人目の確認 (issue 14 §6): a real purge runs only when a second person approves the request.
# ---------------------------------------------------------------------------------------------------

PURGE_LABELS = {
    "as_of": "基準日",
    "examined": "対象（人）",
    "would_delete": "消去予定（人）",
    "kept": "保存（人）",
    "kept_reasons": "保存の理由",
    "report_file": "消去予定の一覧（宛名番号のみ）",
}


def purge_request(*, actor: Any, municipality: Municipality, as_of: date, reason: str) -> ChangeRequest:
    """Ask for a real purge: a dry run now shows what will go; nothing is deleted until a different
    person with the approval right approves (``approvals`` screens or ``purge --approve``).

    ``actor`` must hold the purge right (権限: 保存期間経過データの削除) in ``municipality``."""
    if not has_right(actor, Right.PURGE) or actor.municipality_id != municipality.pk:
        raise PermissionDenied(f"{actor.username} には保存期間経過データの削除の権限がありません")
    preview = purge_run(municipality=municipality, as_of=as_of, dry_run=True, actor=actor)
    payload = {
        "as_of": as_of.isoformat(),
        "examined": preview.examined,
        "would_delete": preview.deleted,
        "kept": preview.kept,
        "kept_reasons": preview.kept_reasons,
        "report_file": preview.report_file,
    }
    return request_create(
        actor=actor,
        kind=RequestKind.PURGE,
        reason=reason,
        payload=payload,
        required_right=Right.PURGE,
    )


def purge_approve(*, actor: Any, request_id: int, comment: str = "") -> tuple[ChangeRequest, dict[str, Any]]:
    """Approve a purge request from the command line (the same check as the approvals screen); the
    approved request and the report of the purge it ran."""
    req = ChangeRequest.objects.filter(pk=request_id, kind=RequestKind.PURGE).first()
    if req is None or req.municipality_id != actor.municipality_id:
        raise ValidationError(f"消去の申請 #{request_id} は見つかりません")
    req = request_approve(actor=actor, request=req, decided_on=timezone.localdate(), comment=comment)
    job = Job.objects.filter(municipality_id=req.municipality_id, kind=Job.Kind.PURGE).order_by("-id").first()
    return req, dict(job.counts) if job is not None else {}


@register(RequestKind.PURGE)
def _apply_purge(req: ChangeRequest, approver: Any, decided_on: date) -> None:
    """The approved purge runs now, as the approver (the requester is in the request and the log)."""
    as_of = date.fromisoformat(str(req.payload["as_of"]))
    purge_run(municipality=req.municipality, as_of=as_of, dry_run=False, actor=approver)


register_field_labels(RequestKind.PURGE, lambda name: PURGE_LABELS.get(name, name))
