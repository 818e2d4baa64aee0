"""The 総合振込 (種別 21) file of approved refunds and the bank's result (issue 16 §4; docs/formats.md).

``refund_transfer``: every approved refund with an active account goes into one file, written by
``choshu.formats.zengin.write_transfer_file`` (records streamed a chunk at a time); each refund is sent
(``RefundStatus.SENT``) and its ledger transaction posted (overpayment account debited, cash credited)
in the same database transaction; the file gets its name only when everything is written. A payee name
that cannot be written in the Zengin repertoire refuses the file with the person and the character.

``refund_confirm``: the 振込結果ファイル (``formats.refund_results``) must name exactly the records of
one file sent (count, each record's bank, branch, account and amount); then each refund is paid, or
failed — its ledger transaction reversed and the overpayment back on the list (未処理).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.outfiles import check_out, output_file
from choshu.core.services import job_finish, job_start
from choshu.formats.csvfile import decode_strict, read_bytes
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.refund_results import RESULT_CODES, TransferResult, parse_results
from choshu.formats.zengin import (
    FieldClass,
    KanaError,
    TransferHeader,
    TransferRecord,
    is_bank_business_day,
    to_zengin_kana,
    write_transfer_file,
)
from choshu.levies.ledger import Leg, Posting, post_many
from choshu.levies.models import Account, TxnKind
from choshu.refunds.models import (
    Overpayment,
    OverpaymentStatus,
    Refund,
    RefundStatus,
    RefundTransfer,
    TransferOriginator,
)
from choshu.refunds.services import back_status

CHUNK = 1000
CUSTOMER_CODE_DIGITS = 10  # 顧客コード1: the refund's number (formats-reference.md §1.2)


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


@dataclass
class TransferSummary:
    transfer_date: date
    file: str = ""
    written: bool = False
    count: int = 0
    amount: int = 0
    principal: int = 0
    refund_interest: int = 0
    without_account: int = 0
    transfer_id: int | None = None
    sha256: str = ""
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "transfer_date": self.transfer_date.isoformat(),
            "file": self.file,
            "written": self.written,
            "count": self.count,
            "amount": self.amount,
            "principal": self.principal,
            "refund_interest": self.refund_interest,
            "without_account": self.without_account,
            "transfer_id": self.transfer_id,
            "sha256": self.sha256,
            "job_id": self.job_id,
        }


def originator_set(
    *, municipality: Municipality, code: str, name: str, bank_code: str, branch_code: str, deposit_type: str,
    account_no: str, actor: Any = None,
) -> TransferOriginator:  # fmt: skip
    """Record the municipality's 振込依頼人 (checked as the file will carry it)."""
    problems = []
    if not (code.isascii() and code.isdigit() and len(code) == 10):
        problems.append(f"振込依頼人コード「{code}」は10桁の数字です")
    if not (bank_code.isascii() and bank_code.isdigit() and len(bank_code) == 4):
        problems.append(f"金融機関コード「{bank_code}」は4桁の数字です")
    if not (branch_code.isascii() and branch_code.isdigit() and len(branch_code) == 3):
        problems.append(f"支店コード「{branch_code}」は3桁の数字です")
    if deposit_type not in ("1", "2", "9"):
        problems.append("預金種目は 1（普通）、2（当座）、9（その他）のいずれかです")
    if not (account_no.isascii() and account_no.isdigit() and 1 <= len(account_no) <= 7):
        problems.append(f"口座番号「{account_no}」は7桁以内の数字です")
    kana = ""
    try:
        kana = to_zengin_kana(name, field=FieldClass.NAME, max_bytes=40)
    except KanaError as exc:
        problems.append(f"振込依頼人名: {exc}")
    if problems:
        raise _refused("。".join(problems) + "（何も登録していません）")
    with transaction.atomic():
        row, _ = TransferOriginator.objects.update_or_create(
            municipality=municipality,
            defaults={
                "code": code, "name_kana": kana, "bank_code": bank_code, "branch_code": branch_code,
                "deposit_type": deposit_type, "account_no": account_no.zfill(7), "updated_at": timezone.now(),
            },
        )  # fmt: skip
        audit_record(
            kind=AuditKind.CHANGE, function="振込依頼人の設定", municipality=municipality, user=actor,
            detail={"code": code, "bank_code": bank_code, "branch_code": branch_code},
        )  # fmt: skip
    return row


def _header(o: TransferOriginator, on: date) -> TransferHeader:
    return TransferHeader(
        originator_code=o.code, originator_name=o.name_kana, transfer_date=on, bank_code=o.bank_code,
        branch_code=o.branch_code, deposit_type=o.deposit_type, account=o.account_no,
    )  # fmt: skip


def _sendable(municipality: Municipality) -> Any:
    return (
        Refund.objects.filter(municipality=municipality, status=RefundStatus.APPROVED, account__isnull=False)
        .select_related("account", "overpayment", "taxpayer")
        .order_by("pk")
    )


def _records(
    municipality: Municipality, on: date, transfer: RefundTransfer, actor: Any, job: Job, s: TransferSummary
) -> Iterator[TransferRecord]:
    """The file's records, a chunk of refunds at a time; each chunk's refunds are marked sent and their
    ledger transactions posted before the next is read (all in the caller's database transaction)."""
    last = 0
    while True:
        chunk = list(_sendable(municipality).filter(pk__gt=last)[:CHUNK])
        if not chunk:
            return
        last = chunk[-1].pk
        postings = []
        for r in chunk:
            a = r.account
            assert a is not None
            try:
                payee = to_zengin_kana(a.holder_kana, field=FieldClass.NAME, max_bytes=30)
            except KanaError as exc:
                raise _refused(
                    f"宛名番号 {r.taxpayer.taxpayer_no} の口座名義「{a.holder_kana}」の{exc.position + 1}文字目"
                    f"「{exc.char}」は全銀の文字にできません。口座を入力し直してください（ファイルは作っていません）"
                ) from exc
            yield TransferRecord(
                bank_code=a.bank_code, branch_code=a.branch_code, deposit_type=a.deposit_type, account=a.account_no,
                payee=payee, amount=r.total, customer_code_1=str(r.pk).zfill(CUSTOMER_CODE_DIGITS),
            )  # fmt: skip
            s.count += 1
            s.amount += r.total
            s.principal += r.amount
            s.refund_interest += r.refund_interest
            if r.amount > 0:  # a refund of 還付加算金 alone moves nothing in the tax ledger
                postings.append(_refund_posting(r, on, f"還付#{r.pk} 振込"))
        txn_ids = iter(post_many(municipality=municipality, postings=postings, actor=actor, job=job))
        for r in chunk:
            r.status, r.transfer, r.txn_id = (
                RefundStatus.SENT,
                transfer,
                next(txn_ids) if r.amount > 0 else None,
            )
        Refund.objects.bulk_update(chunk, ["status", "transfer", "txn_id"])
        ops = list(Overpayment.objects.filter(pk__in=[r.overpayment_id for r in chunk]))
        amounts = {r.overpayment_id: r.amount for r in chunk}
        for op in ops:
            op.refunded += amounts[op.pk]
            op.status = OverpaymentStatus.SENT
        Overpayment.objects.bulk_update(ops, ["refunded", "status"])


def _refund_posting(r: Refund, on: date, memo: str, sign: int = 1) -> Posting:
    """還付: the overpayment account debited, cash credited (``sign`` −1: a failed transfer's reversal).
    The 還付加算金 is paid from the 歳出 budget, not from the tax ledger (docs/refunds.md)."""
    return Posting(
        kind=TxnKind.REFUND,
        legal_date=on,
        booking_date=on,
        memo=memo,
        legs=[
            Leg(
                Account.OVERPAYMENT,
                sign * r.amount,
                installment_id=r.overpayment.installment_id,
                taxpayer_id=r.taxpayer_id,
            ),
            Leg(Account.CASH, -sign * r.amount, taxpayer_id=r.taxpayer_id),
        ],
    )


def refund_transfer(
    *, municipality: Municipality, transfer_date: date, out: str | Path, today: date, actor: Any = None
) -> TransferSummary:
    """Write the 総合振込 file of every approved refund with an account (module docstring)."""
    if transfer_date < today:
        raise _refused(
            f"振込指定日 {transfer_date:%Y-%m-%d} が過去の日付です（本日 {today:%Y-%m-%d} 以降を指定してください）"
        )
    if not is_bank_business_day(transfer_date):
        raise _refused(
            f"振込指定日 {transfer_date:%Y-%m-%d} は金融機関の休業日です。営業日を指定してください"
        )
    originator = TransferOriginator.objects.filter(municipality=municipality).first()
    if originator is None:
        raise _refused(
            "振込依頼人（委託者コード・払出口座）が設定されていません。`choshu refund-originator` で設定してください"
        )
    path = Path(out)
    check_out(path)
    s = TransferSummary(transfer_date=transfer_date, file=path.name)
    s.without_account = Refund.objects.filter(
        municipality=municipality, status=RefundStatus.APPROVED, account__isnull=True
    ).count()
    if not _sendable(municipality).exists():
        return s
    with output_file(path) as f, transaction.atomic():
        job = job_start(
            municipality=municipality, kind=Job.Kind.REFUND_TRANSFER, actor=actor, file_name=path.name,
            parameters={"transfer_date": transfer_date.isoformat()},
        )  # fmt: skip
        transfer = RefundTransfer.objects.create(
            municipality=municipality, transfer_date=transfer_date, file_name=path.name, file_sha256="",
            count=0, amount=0, job=job, created_at=timezone.now(),
        )  # fmt: skip
        try:
            totals = write_transfer_file(
                cast(BinaryIO, f),
                _header(originator, transfer_date),
                _records(municipality, transfer_date, transfer, actor, job, s),
            )
        except ValueError as exc:  # KanaError is one: a field the writer cannot write
            raise _refused(f"振込ファイルを作れません: {exc}（ファイルは作っていません）") from exc
        assert (totals.count, totals.amount) == (s.count, s.amount)
        s.sha256 = f.sha256
        transfer.file_sha256, transfer.count, transfer.amount = s.sha256, s.count, s.amount
        transfer.save(update_fields=["file_sha256", "count", "amount"])
        s.transfer_id, s.job_id, s.written = transfer.pk, job.pk, True
        job_finish(job, status=Job.Status.SUCCEEDED, counts=s.as_dict())
        audit_record(
            kind=AuditKind.EXPORT, function="還付金の振込ファイル作成", municipality=municipality, user=actor,
            job=job, detail=s.as_dict(),
        )  # fmt: skip
        f.publish()
    return s


@dataclass
class ConfirmSummary:
    transfer_id: int
    paid_count: int = 0
    paid_amount: int = 0
    failed_count: int = 0
    failed_amount: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "paid_count": self.paid_count,
            "paid_amount": self.paid_amount,
            "failed_count": self.failed_count,
            "failed_amount": self.failed_amount,
            "failures": self.failures,
            "job_id": self.job_id,
        }


def _compare(rows: list[TransferResult], sent: dict[int, Refund], errors: list[RowError]) -> None:
    for row in rows:
        r = sent.get(row.customer_code)
        if r is None:
            errors.append(
                RowError(
                    row.line,
                    "customer_code",
                    "送った振込ファイルにない顧客コードです",
                    str(row.customer_code),
                )
            )
            continue
        a = r.account
        assert a is not None
        for name, mine, theirs in (
            ("bank_code", a.bank_code, row.bank_code),
            ("branch_code", a.branch_code, row.branch_code),
            ("deposit_type", a.deposit_type, row.deposit_type),
            ("account_no", a.account_no, row.account_no),
        ):
            if mine != theirs:
                errors.append(RowError(row.line, name, f"送った内容（{mine}）と違います", theirs))
        if row.amount != r.total:
            errors.append(RowError(row.line, "amount", f"送った金額（{r.total}）と違います", str(row.amount)))


def refund_confirm(
    *, municipality: Municipality, path: str | Path, on: date, actor: Any = None
) -> ConfirmSummary:
    """Enter the bank's result of one transfer file (module docstring); refused whole on any mismatch."""
    name = Path(path).name
    text = decode_strict(read_bytes(path), name).text
    errors: list[RowError] = []
    rows = list(parse_results(text, errors, name))
    if errors:
        raise FileRefused(errors, name)
    if not rows:
        raise FileRefused([RowError(2, "", "結果の行がありません")], name)
    dates = {r.transfer_date for r in rows}
    if len(dates) != 1:
        raise FileRefused(
            [RowError(rows[0].line, "transfer_date", "1つのファイルには1回の振込の結果だけを入れてください")],
            name,
        )
    with transaction.atomic():
        refunds = {
            r.pk: r
            for r in Refund.objects.select_for_update(of=("self",))
            .filter(municipality=municipality, pk__in=[row.customer_code for row in rows])
            .select_related("account", "overpayment", "transfer")
        }
        transfers = {r.transfer_id for r in refunds.values() if r.transfer_id is not None}
        if len(transfers) != 1 or any(r.transfer_id is None for r in refunds.values()):
            raise FileRefused(
                [RowError(rows[0].line, "customer_code", "送った1つの振込ファイルの還付と一致しません")], name
            )
        transfer = RefundTransfer.objects.select_for_update().get(pk=next(iter(transfers)))
        if transfer.confirmed_at is not None:
            raise FileRefused(
                [RowError(1, "", f"振込#{transfer.pk}（{transfer.transfer_date}）の結果は取込済みです")], name
            )
        if transfer.transfer_date not in dates:
            raise FileRefused(
                [
                    RowError(
                        rows[0].line,
                        "transfer_date",
                        f"送った振込指定日（{transfer.transfer_date}）と違います",
                        str(next(iter(dates))),
                    )
                ],
                name,
            )
        sent = {
            r.pk: r for r in Refund.objects.filter(transfer=transfer).select_related("account", "overpayment")
        }
        seen: set[int] = set()
        for row in rows:
            if row.customer_code in seen:
                errors.append(
                    RowError(row.line, "customer_code", "同じ顧客コードが2回あります", str(row.customer_code))
                )
            seen.add(row.customer_code)
        _compare(rows, sent, errors)
        if len(rows) != transfer.count or seen != set(sent):
            errors.append(
                RowError(
                    1,
                    "",
                    f"行数 {len(rows)} 件が送った件数 {transfer.count} 件と一致しません（全件の結果を入れてください）",
                )
            )
        if errors:
            raise FileRefused(errors, name)
        return _apply_results(municipality, transfer, rows, sent, on, actor)


def _apply_results(
    municipality: Municipality, transfer: RefundTransfer, rows: list[TransferResult], sent: dict[int, Refund],
    on: date, actor: Any,
) -> ConfirmSummary:  # fmt: skip
    job = job_start(
        municipality=municipality, kind=Job.Kind.REFUND_CONFIRM, actor=actor, file_name=transfer.file_name
    )
    s = ConfirmSummary(transfer_id=transfer.pk, job_id=job.pk)
    failed = []
    for row in rows:
        r = sent[row.customer_code]
        if row.paid:
            r.status, r.result = RefundStatus.PAID, RESULT_CODES[row.result_code]
            s.paid_count += 1
            s.paid_amount += r.total
        else:
            r.status, r.result = RefundStatus.FAILED, RESULT_CODES[row.result_code]
            failed.append(r)
            s.failed_count += 1
            s.failed_amount += r.total
            s.failures[r.result] = s.failures.get(r.result, 0) + 1
    if failed:  # the money did not leave: the refund's transaction is reversed, the overpayment is open again
        post_many(
            municipality=municipality,
            postings=[
                _refund_posting(r, on, f"還付#{r.pk} 振込不能", sign=-1) for r in failed if r.amount > 0
            ],
            actor=actor,
            job=job,
        )
        ops = {op.pk: op for op in Overpayment.objects.filter(pk__in=[r.overpayment_id for r in failed])}
        for r in failed:
            ops[r.overpayment_id].refunded -= r.amount
            ops[r.overpayment_id].status = back_status(ops[r.overpayment_id])
        Overpayment.objects.bulk_update(list(ops.values()), ["refunded", "status"])
    Refund.objects.bulk_update(list(sent.values()), ["status", "result"])
    paid_ops = [r.overpayment_id for r in sent.values() if r.status == RefundStatus.PAID]
    Overpayment.objects.filter(pk__in=paid_ops).update(status=OverpaymentStatus.PAID)
    transfer.confirmed_at = timezone.now()
    transfer.save(update_fields=["confirmed_at"])
    job_finish(job, status=Job.Status.SUCCEEDED, counts=s.as_dict())
    audit_record(
        kind=AuditKind.CHANGE, function="還付金の振込結果の取込", municipality=municipality, user=actor, job=job,
        detail=s.as_dict(),
    )  # fmt: skip
    return s
