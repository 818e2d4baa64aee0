"""口座振替開始通知 and 振替不能通知: PDF (one notice, on screen) and the print-vendor CSV (CP932).

The addressee is ``taxpayers.addressee.addressee_for`` (the tax item of the mandate / installment);
a protected person's address (支援措置) is never printed for whoever may not see it, and never goes
to the print vendor: such rows are marked 庁内印刷 with the address left empty. ``render_*`` draw
from plain values; the ``*_data`` functions read (a few queries per notice). The print CSV streams
the queued notices in id order (keyset batches) and marks them printed in the same transaction.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from reportlab.lib.units import mm

from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.debits.models import DebitLine, LineStatus, Mandate, NoticeState, StartNotice
from choshu.dunning.print_data import notice_codes
from choshu.formats.csv_safe import csv_stream, encode_cp932
from choshu.formats.display import wareki, yen
from choshu.formats.zengin import RESULT_CODES_91, bank_info, branch_info
from choshu.levies.tax_items import tax_item_name
from choshu.receipts.pdf_font import FONT_NAME, new_canvas, wrap
from choshu.receipts.services import owed_amounts
from choshu.receipts.slip_pdf import SlipData, SlipLine, _parts
from choshu.receipts.slips import slip_targets
from choshu.taxpayers.addressee import addressee_for
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.protection import may_see_address

WITHHELD = "支援措置のため住所を記載していません（庁内でお渡しください）"
BATCH = 1000


@dataclass(frozen=True)
class NoticeData:
    kind: str  # 口座振替開始通知 / 口座振替不能通知
    municipality_name: str
    office: str
    taxpayer_no: str
    name: str
    postal_code: str
    address: str
    withheld: bool
    rows: list[tuple[str, str]]
    body: str
    printed_on: date
    slip: SlipData | None = None  # the 振替不能通知's 納付書 (the installment's own slip number)


def _bank_text(bank_code: str, branch_code: str) -> str:
    bank = bank_info(bank_code)
    branch = branch_info(bank_code, branch_code)
    return f"{bank.name if bank else bank_code} {branch.name if branch else branch_code}"


def _masked(account: str) -> str:
    return "＊＊＊" + account[-4:]


def _addressee(taxpayer: Taxpayer, tax_item: str, on: date, user: Any) -> tuple[str, str, str, bool]:
    a = addressee_for(taxpayer, tax_item or "00", on)
    protected = Taxpayer.objects.get(pk=a.protected_taxpayer_id)
    # The print vendor (no user) never gets a protected address; staff only when they may see it.
    hidden = protected.is_protected(on) if user is None else not may_see_address(user, protected, on)
    if hidden:
        return a.name, "", WITHHELD, True
    return a.name, a.postal_code, f"{a.address} {a.address_extra}".strip(), False


def start_notice_data(m: Mandate, *, on: date, user: Any) -> NoticeData:
    name, postal, address, withheld = _addressee(m.taxpayer, m.tax_item, on, user)
    municipality = Municipality.objects.get(pk=m.municipality_id)
    rows = [
        ("税目", tax_item_name(m.municipality_id, m.tax_item) if m.tax_item else "全税目"),
        ("金融機関", _bank_text(m.bank_code, m.branch_code)),
        ("口座", f"{m.get_deposit_type_display()} {_masked(m.account)}"),
        ("口座名義", m.holder_kana),
        ("振替開始日", wareki(m.start)),
    ]
    return NoticeData(
        "口座振替開始通知", municipality.name, getattr(municipality, "office_name", ""), m.taxpayer.taxpayer_no,
        name, postal, address, withheld, rows,
        "口座振替のお申し込みを受け付けました。上記の口座から各納期限の日に振り替えます。"
        "残高不足などで振り替えできなかったときは、納付書をお送りします。",
        on,
    )  # fmt: skip


SLIP_DAYS = 14  # the slip on a 振替不能通知 is to be paid within two weeks of the notice


def _failure_slip(
    line: DebitLine, municipality: Municipality, on: date, who: tuple[str, str, str, bool]
) -> SlipData | None:
    """The installment's own 納付書: what a payment on the pay-by day settles (``owed_amounts``: 本税,
    fees, 延滞金 as of that day), with the codes a counter's slip carries."""
    inst = line.installment
    if not inst.slip_no:
        return None
    pay_by = on + timedelta(days=SLIP_DAYS)
    target = slip_targets(municipality, [inst.slip_no]).get(inst.slip_no)
    if target is None:
        return None
    owed = owed_amounts(target, paid_on=pay_by)
    total = sum(o.total for o in owed)
    if total <= 0:
        return None
    levy = inst.levy
    codes = notice_codes(municipality, slip_no=inst.slip_no, amount=total, pay_by=pay_by, tax_item=levy.tax_item,
                         levy_year=levy.levy_year)  # fmt: skip
    name, postal, address, _ = who
    lines = [
        SlipLine(
            tax_item_name=tax_item_name(municipality.pk, levy.tax_item),
            levy_year=levy.levy_year,
            notice_no=levy.notice_no,
            installment_no=inst.installment_no,
            principal=o.principal,
            late_charge=o.late_charge,
            due_date=inst.due_date,
            fee=o.fees,
        )  # fmt: skip
        for o in owed
    ]
    return SlipData(
        municipality_name=municipality.name, slip_no=inst.slip_no, confirmation_no=codes.confirmation_no,
        taxpayer_no=line.taxpayer.taxpayer_no, taxpayer_name=line.taxpayer.name, addressee_name=name,
        postal_code=postal, address=address, address_extra="", addressee_via="", issued_on=on,
        late_charge_as_of=pay_by, pay_by=pay_by, barcode=codes.codes.barcode, el_number=codes.codes.el_number,
        ocr_upper=codes.ocr_upper, ocr_lower=codes.codes.ocr_lower, issue_no=line.pk, lines=lines,
    )  # fmt: skip


def failure_notice_data(line: DebitLine, *, on: date, user: Any) -> NoticeData:
    inst = line.installment
    tax_item = inst.levy.tax_item
    who = _addressee(line.taxpayer, tax_item, on, user)
    name, postal, address, withheld = who
    municipality = Municipality.objects.get(pk=line.municipality_id)
    code = line.result_code
    rows = [
        ("税目・期別", f"{tax_item_name(line.municipality_id, tax_item)} {inst.levy.levy_year}年度 第{inst.installment_no}期"),
        ("引落日", wareki(line.debit_date)),
        ("金額", f"{yen(line.amount)}円"),
        ("振替できなかった理由", f"{code} {RESULT_CODES_91.get(code, 'その他')}"),
        ("金融機関", _bank_text(line.bank_code, line.branch_code)),
        ("納付番号（納付書）", inst.slip_no or "－"),
        ("納期限", wareki(inst.due_date)),
    ]  # fmt: skip
    return NoticeData(
        "口座振替不能通知", municipality.name, getattr(municipality, "office_name", ""), line.taxpayer.taxpayer_no,
        name, postal, address, withheld, rows,
        "次の税金は、指定の口座から振り替えることができませんでした。同封の納付書により、"
        "金融機関・コンビニエンスストア等で納めてください。納期限を過ぎると延滞金がかかることがあります。",
        on,
        _failure_slip(line, municipality, on, who),
    )  # fmt: skip


def render_notice(d: NoticeData) -> bytes:
    out = io.BytesIO()
    c = new_canvas(out, title=d.kind, author=d.municipality_name)
    c.setFont(FONT_NAME, 10)
    y = 270 * mm
    for text in (
        f"〒{d.postal_code}" if d.postal_code else "",
        d.address,
        f"{d.name} 様",
        f"（宛名番号 {d.taxpayer_no}）",
    ):
        if text:
            for part in wrap(text, 10, 90 * mm):
                c.drawString(20 * mm, y, part)
                y -= 5 * mm
    c.drawRightString(190 * mm, 270 * mm, wareki(d.printed_on))
    c.drawRightString(190 * mm, 264 * mm, f"{d.municipality_name}長 {d.office}".strip())
    c.setFont(FONT_NAME, 16)
    c.drawCentredString(105 * mm, 236 * mm, d.kind)
    c.setFont(FONT_NAME, 10)
    y = 224 * mm
    for part in wrap(d.body, 10, 170 * mm):
        c.drawString(20 * mm, y, part)
        y -= 6 * mm
    y -= 4 * mm
    for label, value in d.rows:
        c.rect(20 * mm, y - 2 * mm, 170 * mm, 7 * mm)
        c.drawString(23 * mm, y, label)
        c.drawString(75 * mm, y, value)
        y -= 7 * mm
    if d.slip is not None:
        _parts(c, d.slip)  # the 3連 納付書 (領収証書・領収済通知書・納付書) in the lower part, as on a 督促状
    c.showPage()
    c.save()
    return out.getvalue()


def start_notice_pdf(m: Mandate, *, on: date, user: Any = None) -> bytes:
    return render_notice(start_notice_data(m, on=on, user=user))


def failure_notice_pdf(line: DebitLine, *, on: date, user: Any = None) -> bytes:
    return render_notice(failure_notice_data(line, on=on, user=user))


PRINT_HEADER = (
    "通知種別", "宛名番号", "宛先氏名", "郵便番号", "住所", "庁内印刷", "税目", "年度", "期別", "引落日", "金額",
    "振替結果コード", "振替結果", "納付番号", "納期限", "金融機関", "振替開始日",
)  # fmt: skip


def _failure_rows(municipality: Municipality, on: date, ids: list[int]) -> Iterator[list[object]]:
    last = 0
    while True:
        batch = list(
            DebitLine.objects.filter(
                municipality_id=municipality.pk,
                status=LineStatus.FAILED,
                notice=NoticeState.QUEUED,
                pk__gt=last,
            )
            .select_related("taxpayer", "installment__levy")
            .order_by("pk")[:BATCH]
        )
        if not batch:
            return
        for line in batch:
            d = failure_notice_data(line, on=on, user=None)
            inst = line.installment
            ids.append(line.pk)
            yield ["口座振替不能通知", d.taxpayer_no, d.name, d.postal_code, "" if d.withheld else d.address,
                   d.withheld, tax_item_name(municipality.pk, inst.levy.tax_item), inst.levy.levy_year,
                   inst.installment_no, line.debit_date, line.amount, line.result_code,
                   RESULT_CODES_91.get(line.result_code, "その他"), inst.slip_no or "", inst.due_date,
                   _bank_text(line.bank_code, line.branch_code), ""]  # fmt: skip
        last = batch[-1].pk


def _start_rows(municipality: Municipality, on: date, ids: list[int]) -> Iterator[list[object]]:
    last = 0
    while True:
        batch = list(
            StartNotice.objects.filter(
                mandate__municipality_id=municipality.pk, state=NoticeState.QUEUED, pk__gt=last
            )
            .select_related("mandate__taxpayer")
            .order_by("pk")[:BATCH]
        )
        if not batch:
            return
        for n in batch:
            m = n.mandate
            d = start_notice_data(m, on=on, user=None)
            ids.append(n.pk)
            yield ["口座振替開始通知", d.taxpayer_no, d.name, d.postal_code, "" if d.withheld else d.address,
                   d.withheld, tax_item_name(municipality.pk, m.tax_item) if m.tax_item else "全税目", "", "",
                   "", "", "", "", "", "", _bank_text(m.bank_code, m.branch_code), m.start]  # fmt: skip
        last = batch[-1].pk


@transaction.atomic
def notices_print_data(
    *, municipality: Municipality, out: str | Path, on: date, actor: Any = None
) -> dict[str, int]:
    """Every queued 口座振替開始通知 and 振替不能通知 into one CP932 CSV for the print vendor; they are
    marked printed in the same transaction (a failure leaves them queued)."""
    failure_ids: list[int] = []
    start_ids: list[int] = []
    path = Path(out)

    def rows() -> Iterator[list[object]]:
        yield from _start_rows(municipality, on, start_ids)
        yield from _failure_rows(municipality, on, failure_ids)

    with open(path, "wb") as f:
        for text in csv_stream(PRINT_HEADER, rows(), bom=False):
            f.write(encode_cp932(text))
    DebitLine.objects.filter(pk__in=failure_ids).update(notice=NoticeState.PRINTED)
    StartNotice.objects.filter(pk__in=start_ids).update(state=NoticeState.PRINTED)
    counts = {"start_notices": len(start_ids), "failure_notices": len(failure_ids)}
    audit_record(
        kind=AuditKind.EXPORT, function="口座振替の通知（印刷データ）", municipality=municipality, user=actor,
        subject_type=AuditSubjectType.TAXPAYER, detail={"file": str(path), **counts},
    )  # fmt: skip
    return counts
