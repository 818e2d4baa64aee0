"""振替結果: the bank's 種別91 result file through the payment engine (``import-payments --channel zengin``).

Registered with receipts as a file channel (``receipts.services.FileChannel``), so the file takes the
same path as every payment file: one transaction, the job, the engine's staging, decisions and ledger.

1. ``formats.zengin.read_debit_file`` checks the whole file (formats-reference §1.3: structure,
   lengths, order, repertoire, trailer counts and sums, result totals) — a malformed file is refused.
2. The records are staged and compared with the request lines the office sent (set-based): an unknown
   or repeated 顧客番号, a different amount, bank, branch, 預金種目 or account, a line of a voided
   request, a debit date or 委託者コード other than the request's, or a line already given a different
   result refuses the whole file.
3. Code ``0`` records become payments on the debit date (channel 口座振替, reference ``zengin:<line>``):
   the engine decides them like any other (a second import finds them ``already``).
4. ``finish`` (same transaction): lines collected / failed with the code and its meaning, 振替不能通知
   queued, mandates ended or suspended per ``DebitSettings``, the 督促停止 of every line ended.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db import connection

from choshu.core.bulk import copy_rows
from choshu.core.models import Job, Municipality
from choshu.debits.models import DebitRun, FailureAction, LineStatus, MandateStatus, NoticeState, RunStatus
from choshu.debits.services import debit_settings
from choshu.dunning.models import SuppressionReason
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.payments import PaymentRecord, RecordKind
from choshu.formats.zengin import RESULT_CODES_91, read_debit_file
from choshu.receipts.models import Channel
from choshu.receipts.services import ChannelStream, FileChannel, register_file_channel

RESULT = "choshu_debit_result"
CHUNK = 5000
MAX_ERRORS = 200
MAX_LINE_ID = 2**63 - 1


def register_channel() -> None:
    register_file_channel(
        FileChannel(
            name="zengin",
            payment_channel=Channel.DIRECT_DEBIT,
            job_kind=Job.Kind.IMPORT_PAYMENTS_ZENGIN,
            open=open_result,
        )
    )


def reference(line_id: int) -> str:
    return f"zengin:{line_id}"


def open_result(municipality: Municipality, data: bytes, file_name: str, today: date) -> ChannelStream:
    """The result file as a payment stream; ``today`` is the processing day (the file's MMDD is
    resolved to the request written nearest to it)."""
    header, records = read_debit_file(data, around=today, kind="result")
    h = header.header
    debit_date = _request_date(municipality, h.debit_date, today, file_name)

    def staged() -> Iterator[PaymentRecord]:
        _stage(records, file_name)
        _check(municipality, debit_date, h.originator_code, h.bank_code, file_name)
        yield from _payments(municipality, debit_date)

    def finish(job: Job, actor: Any) -> dict[str, Any]:
        return _finish(municipality, job, debit_date)

    return ChannelStream(
        channel=Channel.DIRECT_DEBIT.value,
        encoding="cp932",
        sha256=hashlib.sha256(data).hexdigest(),
        records=staged(),
        errors=[],
        finish=finish,
    )


def _request_date(municipality: Municipality, resolved: date, today: date, file_name: str) -> date:
    """The 引落日 of the request this result answers. The file says only MMDD: of the runs written
    for that month and day, the one nearest to today (the reader's year is a guess around today)."""
    runs = DebitRun.objects.filter(
        municipality=municipality,
        status=RunStatus.WRITTEN,
        debit_date__month=resolved.month,
        debit_date__day=resolved.day,
    ).values_list("debit_date", flat=True)
    found = min(runs, key=lambda d: abs((d - today).days), default=None)
    if found is None:
        raise FileRefused(
            [
                RowError(
                    1,
                    "引落日",
                    f"引落日 {resolved:%m月%d日} の口座振替依頼データがありません（作成済みの依頼の結果だけを取り込めます）",
                    resolved.strftime("%m%d"),
                )
            ],
            file_name,
        )
    return found


def _stage(records: Iterator[Any], file_name: str) -> None:
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {RESULT}")
        cur.execute(
            f"""CREATE TEMP TABLE {RESULT} (rec_no integer NOT NULL, line_id bigint NOT NULL,
                customer_no varchar(20) NOT NULL, bank_code varchar(4) NOT NULL, branch_code varchar(3) NOT NULL,
                deposit_type varchar(1) NOT NULL, account varchar(7) NOT NULL, amount bigint NOT NULL,
                result_code varchar(1) NOT NULL)"""
        )
    batch: list[tuple[Any, ...]] = []
    for n, r in enumerate(records, start=2):  # record 1 is the header
        digits = r.customer_no.strip()
        line_id = int(digits) if digits.isdigit() and int(digits) <= MAX_LINE_ID else 0
        batch.append((n, line_id, r.customer_no, r.bank_code, r.branch_code, r.deposit_type, r.account,
                      r.amount, r.result_code))  # fmt: skip
        if len(batch) >= CHUNK:
            copy_rows(RESULT, _COLUMNS, batch)
            batch = []
    copy_rows(RESULT, _COLUMNS, batch)
    with connection.cursor() as cur:
        cur.execute(f"CREATE INDEX {RESULT}_line ON {RESULT} (line_id)")
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {RESULT}")


_COLUMNS = ("rec_no", "line_id", "customer_no", "bank_code", "branch_code", "deposit_type", "account", "amount",
            "result_code")  # fmt: skip


def _check(municipality: Municipality, debit_date: date, originator: str, bank: str, file_name: str) -> None:
    """Every way the result can differ from the request the office sent (module docstring, 2.)."""
    d = debit_date if connection.vendor == "postgresql" else debit_date.isoformat()
    p = {"m": municipality.pk, "d": d, "orig": originator, "bank": bank}
    checks = [
        ("customer_no", "顧客番号が同じレコードが複数あります（{n}件目にも）",
         f"""SELECT r.rec_no, r.customer_no, (SELECT MIN(x.rec_no) FROM {RESULT} x WHERE x.line_id = r.line_id
                                              AND x.rec_no <> r.rec_no)
             FROM {RESULT} r WHERE r.line_id IN (SELECT line_id FROM {RESULT} GROUP BY line_id HAVING COUNT(*) > 1)"""),
        ("customer_no", "この顧客番号の振替依頼は送っていません（他団体・他のファイルの結果ではありませんか）",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r
             LEFT JOIN debits_debitline l ON l.id = r.line_id AND l.municipality_id = %(m)s
             WHERE l.id IS NULL"""),
        ("customer_no", "この依頼は再作成で取り消されています（新しい依頼データの結果を取り込んでください）",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
             WHERE l.municipality_id = %(m)s AND l.status = '{LineStatus.VOID.value}'"""),
        ("debit_date", "引落日が依頼データと異なります",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
             WHERE l.municipality_id = %(m)s AND l.debit_date <> %(d)s"""),
        ("originator_code", "委託者コードまたは取引銀行が依頼データと異なります",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
             JOIN debits_debitfile f ON f.id = l.file_id JOIN debits_collectingaccount c ON c.id = f.collecting_id
             WHERE l.municipality_id = %(m)s AND (c.originator_code <> %(orig)s OR c.bank_code <> %(bank)s)"""),
        ("amount", "引落金額が依頼データと異なります",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
             WHERE l.municipality_id = %(m)s AND l.amount <> r.amount"""),
        ("account", "引落口座（金融機関・支店・預金種目・口座番号）が依頼データと異なります",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
             WHERE l.municipality_id = %(m)s AND (l.bank_code <> r.bank_code OR l.branch_code <> r.branch_code
                   OR l.deposit_type <> r.deposit_type OR l.account <> r.account)"""),
        ("result_code", "この依頼には別の振替結果を取込済みです",
         f"""SELECT r.rec_no, r.customer_no, NULL FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
             WHERE l.municipality_id = %(m)s AND l.status IN ('{LineStatus.COLLECTED.value}',
                   '{LineStatus.FAILED.value}') AND l.result_code <> r.result_code"""),
    ]  # fmt: skip
    errors: list[RowError] = []
    with connection.cursor() as cur:
        for column, reason, sql in checks:
            cur.execute(sql + f" ORDER BY 1 LIMIT {MAX_ERRORS}", p)  # noqa: S608 - constants only
            for rec_no, customer_no, other in cur.fetchall():
                errors.append(RowError(int(rec_no), column, reason.format(n=other), str(customer_no)))
    if errors:
        raise FileRefused(sorted(errors, key=lambda e: e.line)[:MAX_ERRORS], file_name)


def _payments(municipality: Municipality, debit_date: date) -> Iterator[PaymentRecord]:
    """The code-0 records as payments on the debit date, in file order (keyset batches)."""
    last = 0
    detail_code = RESULT_CODES_91.get("0", "振替済")
    while True:
        with connection.cursor() as cur:
            cur.execute(
                f"""SELECT r.rec_no, r.line_id, r.customer_no, r.amount, i.slip_no, v.tax_item, r.bank_code,
                           r.branch_code
                    FROM {RESULT} r JOIN debits_debitline l ON l.id = r.line_id
                    JOIN levies_installment i ON i.id = l.installment_id JOIN levies_levy v ON v.id = i.levy_id
                    WHERE r.result_code = '0' AND r.rec_no > %s ORDER BY r.rec_no LIMIT {CHUNK}""",  # noqa: S608
                [last],
            )
            rows = cur.fetchall()
        if not rows:
            return
        for rec_no, line_id, customer_no, amount, slip_no, tax_item, bank, branch in rows:
            yield PaymentRecord(
                line=int(rec_no), channel=Channel.DIRECT_DEBIT.value, kind=RecordKind.FINAL,
                reference=reference(int(line_id)), slip_no=slip_no or "", confirmation_no="", tax_item=tax_item,
                amount=int(amount), paid_on=debit_date, booked_on=debit_date,
                detail={"customer_no": customer_no, "result_code": "0", "result": detail_code,
                        "bank_code": bank, "branch_code": branch},
            )  # fmt: skip
        last = int(rows[-1][0])


def _finish(municipality: Municipality, job: Job, debit_date: date) -> dict[str, Any]:
    """The lines, mandates and suppressions after the engine wrote the payments (module docstring, 4.)."""
    m = municipality.pk
    pending = LineStatus.PENDING.value
    out: dict[str, Any] = {}
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT r.result_code, COUNT(*), COALESCE(SUM(r.amount), 0) FROM {RESULT} r
                JOIN debits_debitline l ON l.id = r.line_id WHERE l.status = %s GROUP BY r.result_code""",  # noqa: S608
            [pending],
        )
        by_code = {code: (int(n), int(a)) for code, n, a in cur.fetchall()}
        cur.execute(
            f"""UPDATE debits_debitline SET status = '{LineStatus.COLLECTED.value}', result_code = '0',
                    result_job_id = %(job)s,
                    payment_id = (SELECT p.id FROM receipts_payment p WHERE p.municipality_id = %(m)s
                                  AND p.channel = '{Channel.DIRECT_DEBIT.value}'
                                  AND p.reference = 'zengin:' || CAST(debits_debitline.id AS varchar(20)))
                WHERE status = '{pending}' AND id IN (SELECT line_id FROM {RESULT} WHERE result_code = '0')""",  # noqa: S608
            {"job": job.pk, "m": m},
        )
        cur.execute(
            f"""UPDATE debits_debitline SET status = '{LineStatus.FAILED.value}', result_job_id = %(job)s,
                    notice = '{NoticeState.QUEUED.value}',
                    result_code = (SELECT r.result_code FROM {RESULT} r WHERE r.line_id = debits_debitline.id)
                WHERE status = '{pending}' AND id IN (SELECT line_id FROM {RESULT} WHERE result_code <> '0')""",  # noqa: S608
            {"job": job.pk},
        )
        settings = debit_settings(m)
        ended = suspended = 0
        for code in ("2", "3", "4"):
            action = settings.action_for(code)
            if action == FailureAction.KEEP:
                continue
            status = MandateStatus.ENDED if action == FailureAction.END else MandateStatus.SUSPENDED
            note = f"振替結果 {code} {RESULT_CODES_91.get(code, '')}（{debit_date:%Y-%m-%d}）"
            end_sql = ', "end" = %(d)s' if status == MandateStatus.ENDED else ""
            cur.execute(
                f"""UPDATE debits_mandate SET status = %(status)s, status_note = %(note)s{end_sql}
                    WHERE status = '{MandateStatus.ACTIVE.value}' AND id IN (
                        SELECT l.mandate_id FROM debits_debitline l JOIN {RESULT} r ON r.line_id = l.id
                        WHERE r.result_code = %(code)s AND l.result_job_id = %(job)s)""",  # noqa: S608
                {"status": status.value, "note": note, "d": debit_date if connection.vendor == "postgresql"
                 else debit_date.isoformat(), "code": code, "job": job.pk},
            )  # fmt: skip
            if status == MandateStatus.ENDED:
                ended += cur.rowcount
            else:
                suspended += cur.rowcount
        d = debit_date if connection.vendor == "postgresql" else debit_date.isoformat()
        cur.execute(
            f"""UPDATE dunning_dunningsuppression SET "end" = %(d)s, end_note = %(note)s
                WHERE reason = '{SuppressionReason.DIRECT_DEBIT.value}' AND "end" IS NULL AND start <= %(d)s
                  AND installment_id IN (SELECT l.installment_id FROM debits_debitline l
                                         JOIN {RESULT} r ON r.line_id = l.id)""",  # noqa: S608
            {"d": d, "note": "口座振替の結果を取込"},
        )
        out["suppressions_ended"] = cur.rowcount
        cur.execute(
            f"""UPDATE debits_debitfile SET result_job_id = %s WHERE id IN (SELECT l.file_id FROM debits_debitline l
                    JOIN {RESULT} r ON r.line_id = l.id) AND run_id IN (SELECT id FROM debits_debitrun
                    WHERE status = '{RunStatus.WRITTEN.value}')""",  # noqa: S608
            [job.pk],
        )
        cur.execute(f"DROP TABLE IF EXISTS {RESULT}")
    collected = by_code.pop("0", (0, 0))
    out.update(
        debit_collected=collected[0],
        debit_collected_amount=collected[1],
        debit_failed=sum(n for n, _ in by_code.values()),
        debit_failed_amount=sum(a for _, a in by_code.values()),
        debit_failed_by_code={
            f"{c} {RESULT_CODES_91.get(c, '')}": n for c, (n, _) in sorted(by_code.items())
        },
        mandates_ended=ended,
        mandates_suspended=suspended,
    )
    return out
