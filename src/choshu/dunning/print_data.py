"""督促状の印刷データ (issue 15 §4, §6): one row per 督促状 of a dunning batch for the print vendor.

``print_data_export`` writes the file of a batch (``DunningBatch``, the ``batch_id`` a dunning run
returns) in the layout of docs/formats.md §13: the addressee block (``taxpayers.addressee_bulk``: the
送付先 of the tax item if any, else the address — the rules of ``addressee_for``), up to
``INSTALLMENT_GROUPS`` installments with their amounts, the totals, the dates (ISO and 和暦), the slip
number and the printed codes (``formats.slipcodes.slip_codes`` / ``ocr_upper`` with the
``receipts.slips.confirmation_no``: the same codes as the counter's 納付書).

- **支援措置 (§6)**: a notice whose person is protected — flagged ``print_in_office`` by the run, or
  protected on the day the file is written, or whose addressee (a 納税管理人 …) is — is left out of the
  file and counted as ``blocked``; staff print it in the office (``dunning.notice_pdf``).
- **Bounded memory, set-based**: the notices are read by keyset, ``CHUNK`` at a time, each chunk with
  a fixed number of queries (notices with their person and slip, the addressees, the protection); the
  lines of the whole batch come from one streamed query (``batch_lines``: a server-side cursor,
  ``LINE_CHUNK`` rows a fetch) merged with the notices in id order; each row is written as it is made.
- **All or nothing**: the file is written to a temporary file beside ``out`` and renamed when complete;
  a refusal (unknown batch, a batch not from a dunning run, an output that exists or cannot be written,
  an unknown encoding) raises ``ValidationError`` in Japanese before anything is written.
- **CP932** (default): through ``formats.csv_safe.encode_cp932`` — a character CP932 lacks is printed
  〓, the row says so (``外字置換``) and the summary counts those rows (``replaced``), never silently.
- The export is an audit record (kind ``export``) with the row count and the file's SHA-256.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Job, Municipality
from choshu.core.outfiles import check_out, output_file
from choshu.dunning.legal_basis import legal_basis
from choshu.dunning.models import DunningBatch, DunningNotice, DunningNoticeInstallment, NoticeStatus
from choshu.formats.csv_safe import cp932_unencodable, csv_line_writer, encode_cp932
from choshu.formats.display import wareki as _wareki_of
from choshu.formats.slipcodes import SlipCodes, ocr_upper, slip_codes
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.slips import confirmation_no
from choshu.taxpayers.addressee import Addressee
from choshu.taxpayers.addressee_bulk import addressees_for
from choshu.taxpayers.protection import protected_ids

FUNCTION = "督促状印刷データ出力"
LABELS = {  # the keys of this module's and the notice PDF's audit records (registered by the app)
    "notice": "督促状",
    "replaced": "外字を〓に置換した督促状",
    "without_codes": "OCR・バーコードを印字できない督促状",
    "address_withheld": "住所を記載せず（支援措置）",
}
CHUNK = 1000
ENCODINGS = ("cp932", "utf-8")
INSTALLMENT_GROUPS = 12
"""Installment column groups per row. A notice with more installments lists the first eleven and puts
the rest, summed, in the twelfth (期別 「ほかN期」); ``期別数`` always gives the full count."""

wareki = lru_cache(maxsize=4096)(_wareki_of)  # the same text; a batch prints a few thousand distinct dates

HEAD = (
    "督促状番号", "一括発付番号", "宛名番号", "税目コード", "税目",
    "送付先郵便番号", "送付先住所", "送付先方書", "送付先氏名", "納税義務者氏名", "送付先の区分",
    "発付日", "発付日（和暦）", "指定期限", "指定期限（和暦）", "督促の根拠", "滞納処分の根拠",
    "本税合計", "延滞金合計", "督促手数料", "請求額合計", "期別数",
    "納付番号", "確認番号", "バーコード", "eL番号", "OCR上段", "OCR下段", "外字置換",
)  # fmt: skip
GROUP = ("年度", "通知書番号", "期別", "納期限", "納期限（和暦）", "本税", "延滞金")
HEADER: tuple[str, ...] = HEAD + tuple(
    f"{name}{k}" for k in range(1, INSTALLMENT_GROUPS + 1) for name in GROUP
)


def _refused(message: str) -> ValidationError:
    return ValidationError(message)


class PrintedLine(NamedTuple):
    """One installment of a notice as the file prints it (a tuple: a batch makes one per installment)."""

    levy_year: int
    notice_no: str
    installment_no: int
    due_date: date
    principal: int
    late_charge: int


@dataclass(frozen=True)
class NoticeCodes:
    """What the notice's slip prints: 確認番号, barcode / eL番号 / lower OCR line, upper OCR line.
    Empty strings are not printed (a barcode above 999,999 yen, a tax item the codes do not know)."""

    confirmation_no: str
    codes: SlipCodes
    ocr_upper: str


NO_CODES = SlipCodes("", "", "")


def notice_codes(municipality: Municipality, *, slip_no: str, amount: int, pay_by: date | None,
                 tax_item: str, levy_year: int) -> NoticeCodes:  # fmt: skip
    """The codes of a 督促状's combined slip, computed as the counter's 納付書 computes them."""
    conf = confirmation_no(municipality.code, slip_no)
    try:
        codes = slip_codes(
            slip_no=slip_no,
            confirmation_no=conf,
            amount=max(amount, 1),
            pay_by=pay_by,
            tax_item=tax_item,
            company_code=municipality.conveni_company_code,
            client_code=municipality.conveni_client_code,
            agency_no=municipality.eltax_agency_no,
        )
    except ValueError:  # a tax item of the city's own that the printed codes have no place for
        return NoticeCodes(conf, NO_CODES, "")
    try:
        upper = ocr_upper(
            amount=max(amount, 1), municipality_code=municipality.code, tax_item=tax_item, levy_year=levy_year
        )
    except ValueError:
        upper = ""
    return NoticeCodes(conf, codes, upper)


@dataclass
class PrintSummary:
    batch_id: int
    file: str
    encoding: str
    rows: int = 0
    blocked: int = 0
    replaced: int = 0  # rows with a character written as 〓 (CP932)
    without_codes: int = 0  # rows whose slip has no OCR line (a tax item the codes do not know)
    sha256: str = ""
    replaced_notices: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "rows": self.rows,
            "blocked": self.blocked,
            "replaced": self.replaced,
            "replaced_notices": self.replaced_notices,
            "without_codes": self.without_codes,
            "file": self.file,
            "encoding": self.encoding,
            "sha256": self.sha256,
        }


def batch_for_print(municipality: Municipality, batch_id: int) -> DunningBatch:
    """The dunning batch ``batch_id`` of ``municipality``, or a Japanese refusal naming what it is."""
    batch = DunningBatch.objects.filter(pk=batch_id, municipality=municipality).select_related("job").first()
    if batch is not None and (batch.job is None or batch.job.kind == Job.Kind.DUNNING_RUN):
        return batch
    if batch is not None:
        raise _refused(
            f"一括発付番号 {batch_id} は督促状の一括発付（choshu dunning-run）で作成されたものではありません"
            f"（{batch.job.get_kind_display() if batch.job else '不明'}）。督促の実行結果の batch_id を指定してください"
        )
    job = Job.objects.filter(pk=batch_id, municipality=municipality).first()
    if job is not None and job.kind != Job.Kind.DUNNING_RUN:
        raise _refused(
            f"{batch_id} は督促状の一括発付ではありません（ジョブ {batch_id} は「{job.get_kind_display()}」です）。"
            "choshu dunning-run の結果の batch_id を指定してください（何も出力していません）"
        )
    hint = ""
    if job is not None:
        found = DunningBatch.objects.filter(job=job).values_list("pk", flat=True).first()
        hint = f"ジョブ番号ではなく一括発付番号（batch_id {found}）を指定してください。" if found else ""
    raise _refused(
        f"督促状の一括発付 {batch_id} は見つかりません。{hint}"
        "choshu dunning-run の結果の batch_id を指定してください（何も出力していません）"
    )


@dataclass(frozen=True, slots=True)
class PersonRow:
    """The columns of the 宛名 the row and the addressee rule read (``addressee_bulk.Person``)."""

    pk: int
    municipality_id: int
    taxpayer_no: str
    kind: str
    name: str
    postal_code: str
    address: str
    address_extra: str
    mailing_postal_code: str
    mailing_address: str
    deceased_on: date | None


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """One issued notice as the file prints it (read as values: no model instances per row)."""

    pk: int
    batch_id: int
    tax_item: str
    issued_on: date
    pay_by: date
    principal: int
    late_charge: int
    fee: int
    total: int
    print_in_office: bool
    slip_no: str
    taxpayer: PersonRow


_NOTICE_COLUMNS = (
    "pk", "batch_id", "tax_item", "issued_on", "pay_by", "principal", "late_charge", "fee", "total",
    "print_in_office", "slip__slip_no",
    "taxpayer_id", "taxpayer__municipality_id", "taxpayer__taxpayer_no", "taxpayer__kind", "taxpayer__name",
    "taxpayer__postal_code", "taxpayer__address", "taxpayer__address_extra", "taxpayer__mailing_postal_code",
    "taxpayer__mailing_address", "taxpayer__deceased_on",
)  # fmt: skip


def _notices(batch: DunningBatch) -> Iterator[list[NoticeRow]]:
    """The batch's issued notices, ``CHUNK`` at a time (keyset on the id), with person and slip."""
    last = 0
    while True:
        chunk: list[NoticeRow] = []
        rows = (
            DunningNotice.objects.filter(batch=batch, status=NoticeStatus.ISSUED, pk__gt=last)
            .order_by("pk")
            .values_list(*_NOTICE_COLUMNS)[:CHUNK]
        )
        for pk, batch_id, item, issued, pay_by, principal, late, fee, total, office, slip_no, *person in rows:
            chunk.append(NoticeRow(pk, batch_id, item, issued, pay_by, principal, late, fee, total, office,
                                   slip_no or "", PersonRow(*person)))  # fmt: skip
        if not chunk:
            return
        last = chunk[-1].pk
        yield chunk


def notice_lines(notice_ids: Sequence[int]) -> dict[int, list[PrintedLine]]:
    """The installments of these notices (one query), oldest 納期限 first (a single notice's PDF)."""
    out: dict[int, list[PrintedLine]] = {}
    rows = (
        DunningNoticeInstallment.objects.filter(notice_id__in=list(notice_ids))
        .order_by("notice_id", "installment__due_date", "installment_id")
        .values_list(*_LINE_COLUMNS[:-1])
    )
    for nid, year, notice_no, no, due, principal, late in rows:
        out.setdefault(nid, []).append(PrintedLine(year, notice_no, no, due, principal, late))
    return out


_LINE_COLUMNS = (
    "notice_id", "installment__levy__levy_year", "installment__levy__notice_no", "installment__installment_no",
    "installment__due_date", "principal", "late_charge", "installment_id",
)  # fmt: skip
LINE_CHUNK = 20_000  # lines fetched at a time from the batch's one query (a server-side cursor on PostgreSQL)


def batch_lines(batch: DunningBatch) -> Iterator[tuple[int, list[PrintedLine]]]:
    """``(notice id, its lines oldest 納期限 first)`` for every issued notice of the batch that has
    lines, in notice id order: one streamed query (``iterator``: a server-side cursor on PostgreSQL,
    ``LINE_CHUNK`` rows a fetch) ordered by the notice alone; each notice's few lines are put in
    ``notice_lines``' order (納期限, then installment id) here."""
    rows = (
        DunningNoticeInstallment.objects.filter(notice__batch=batch, notice__status=NoticeStatus.ISSUED)
        .order_by("notice_id")
        .values_list(*_LINE_COLUMNS)
        .iterator(chunk_size=LINE_CHUNK)
    )
    current: int | None = None
    found: list[tuple[Any, ...]] = []
    for row in rows:
        if row[0] != current:
            if current is not None:
                yield current, _in_order(found)
            current, found = row[0], []
        found.append(row)
    if current is not None:
        yield current, _in_order(found)


def _in_order(rows: list[tuple[Any, ...]]) -> list[PrintedLine]:
    rows.sort(key=lambda r: (r[4], r[7]))
    return [
        PrintedLine(year, no, inst_no, due, principal, late)
        for _, year, no, inst_no, due, principal, late, _ in rows
    ]


def _groups(lines: list[PrintedLine]) -> list[object]:
    cells: list[object] = []
    shown = lines if len(lines) <= INSTALLMENT_GROUPS else lines[: INSTALLMENT_GROUPS - 1]
    for ln in shown:
        cells += [ln.levy_year, ln.notice_no, ln.installment_no, ln.due_date, wareki(ln.due_date),
                  ln.principal, ln.late_charge]  # fmt: skip
    if len(lines) > INSTALLMENT_GROUPS:
        rest = lines[INSTALLMENT_GROUPS - 1 :]
        cells += ["", "", f"ほか{len(rest)}期", "", "", sum(x.principal for x in rest),
                  sum(x.late_charge for x in rest)]  # fmt: skip
    cells += [""] * (len(GROUP) * INSTALLMENT_GROUPS - len(cells))
    return cells


def _row(m: Municipality, n: NoticeRow, lines: list[PrintedLine], who: Addressee) -> list[object]:
    slip_no = n.slip_no
    codes = (
        notice_codes(
            m,
            slip_no=slip_no,
            amount=n.total,
            pay_by=n.pay_by,
            tax_item=n.tax_item,
            levy_year=min((x.levy_year for x in lines), default=n.issued_on.year),
        )  # fmt: skip
        if slip_no
        else NoticeCodes("", NO_CODES, "")
    )
    basis = legal_basis(n.tax_item)
    return [
        n.pk, n.batch_id, n.taxpayer.taxpayer_no, n.tax_item, tax_item_name(m.pk, n.tax_item),
        who.postal_code, who.address, who.address_extra, who.name, n.taxpayer.name, who.via,
        n.issued_on, wareki(n.issued_on), n.pay_by, wareki(n.pay_by), basis.dunning, basis.seizure,
        n.principal, n.late_charge, n.fee, n.total, len(lines),
        slip_no, codes.confirmation_no, codes.codes.barcode, codes.codes.el_number, codes.ocr_upper,
        codes.codes.ocr_lower, 0,
        *_groups(lines),
    ]  # fmt: skip


_GAIJI = HEAD.index("外字置換")
_OCR_LOWER = HEAD.index("OCR下段")


def _rows(
    m: Municipality, batch: DunningBatch, on: date, summary: PrintSummary
) -> Iterator[tuple[int, list[object]]]:
    """(notice id, cells) of every notice written; the blocked ones are counted, not yielded."""
    lines = batch_lines(batch)  # merged with the notices: both in notice id order
    next_lines: tuple[int, list[PrintedLine]] | None = next(lines, None)
    for chunk in _notices(batch):
        who = addressees_for(((n.taxpayer, n.tax_item) for n in chunk), on)
        protected = set(
            protected_ids(
                {n.taxpayer.pk for n in chunk} | {a.protected_taxpayer_id for a in who.values()}, on
            )
        )
        for n in chunk:
            while next_lines is not None and next_lines[0] < n.pk:
                next_lines = next(lines, None)
            mine: list[PrintedLine] = []
            if next_lines is not None and next_lines[0] == n.pk:
                mine = next_lines[1]
                next_lines = next(lines, None)
            addressee = who[(n.taxpayer.pk, n.tax_item)]
            if n.print_in_office or {n.taxpayer.pk, addressee.protected_taxpayer_id} & protected:
                summary.blocked += 1
                continue
            row = _row(m, n, mine, addressee)
            if not row[_OCR_LOWER]:
                summary.without_codes += 1
            summary.rows += 1
            yield n.pk, row


def _encoded(m: Municipality, batch: DunningBatch, on: date, summary: PrintSummary) -> Iterator[bytes]:
    """The file, one encoded line at a time. CP932: a line that does not encode as it is gets
    ``encode_cp932``'s policy; when a character becomes 〓 the row says so (``外字置換``) and is counted."""
    line = csv_line_writer()
    if summary.encoding != "cp932":
        yield line(HEADER).encode("utf-8")
        for _pk, row in _rows(m, batch, on, summary):
            yield line(row).encode("utf-8")
        return
    yield encode_cp932(line(HEADER))
    for pk, row in _rows(m, batch, on, summary):
        text = line(row)
        try:
            yield text.encode("cp932")
            continue
        except UnicodeEncodeError:
            pass
        if cp932_unencodable(text):
            row[_GAIJI] = 1
            text = line(row)
            summary.replaced += 1
            if len(summary.replaced_notices) < 100:  # the first ones name the problem; memory stays flat
                summary.replaced_notices.append(pk)
        yield encode_cp932(text)


def print_data_export(
    *,
    municipality: Municipality,
    batch_id: int,
    out: str | Path,
    encoding: str = "cp932",
    actor: Any = None,
    on: date,
) -> PrintSummary:
    """Write the print-vendor file of dunning batch ``batch_id`` to ``out`` (module docstring); ``on`` is
    the day of writing (addressees and 支援措置 as of that day)."""
    encoding = encoding.lower()
    if encoding not in ENCODINGS:
        raise _refused(
            f"文字コード {encoding!r} には対応していません（cp932 または utf-8 を指定してください）"
        )
    batch = batch_for_print(municipality, batch_id)
    path = Path(out)
    check_out(path)
    summary = PrintSummary(batch_id=batch.pk, file=path.name, encoding=encoding)
    with output_file(path) as f:
        for data in _encoded(municipality, batch, on, summary):
            f.write(data)
        summary.sha256 = f.sha256
        with transaction.atomic():  # the record and the file: both or neither
            audit_record(
                kind=AuditKind.EXPORT,
                function=FUNCTION,
                municipality=municipality,
                user=actor,
                detail={k: v for k, v in summary.as_dict().items() if k != "replaced_notices"},
            )
            f.publish()
    return summary
