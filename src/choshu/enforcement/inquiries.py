"""財産調査 (issue 19 §1, §4): inquiry batches per target type, their letters and files, tracking and
answers recorded as the person's assets.

The law: the 徴税吏員 may ask banks, employers and others about a delinquent's property (国税徴収法141条,
applied by 地方税法331条6項) and ask public bodies for documents (地方税法20条の11); the letter cites
both. Targets: the people with an open case (optionally of one stage) on the 照会日.

Recipients: 給与 — each target's current employer (特別徴収義務者, ``taxpayers.SpecialCollectionEmployee``
current and not ended): one letter per employer naming only its employees; every other kind — the
recipients given (``Recipient``: banks of the area for 預貯金 — a 一斉照会, the insurers, 日本年金機構,
the other municipality, the 法務局), each receiving one letter naming every target; a bank marked
``electronic`` gets the CSV of docs/formats.md §25 instead of a letter. A 支援措置 person's address is
never written (name, kana and birth date only; counted in ``protected``).

Every file goes through ``core.outfiles.output_file`` and is published inside the transaction that
records the batch, its ``Inquiry`` rows and the export audit record: all or nothing. Targets are read in
slices of ``CHUNK`` (keyset on the 宛名 id); a recipient's letter streams its slices.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.cases.models import Case, Stage
from choshu.core.models import Municipality
from choshu.core.outfiles import check_out, output_file
from choshu.enforcement.models import Asset, AssetKind, Inquiry, InquiryBatch, InquiryKind
from choshu.formats.csv_safe import csv_line_writer, encode_cp932
from choshu.formats.display import wareki
from choshu.receipts.pdf_font import FONT_NAME, new_canvas, wrap
from choshu.taxpayers.models import SpecialCollectionEmployee, Taxpayer
from choshu.taxpayers.protection import printable

CHUNK = 1000
CSV_HEADER = [
    "照会番号", "照会日", "照会先コード", "照会先", "宛名番号", "氏名・名称", "カナ氏名", "生年月日", "郵便番号", "住所",
    "回答期限",
]  # fmt: skip
LAW = (
    "地方税法第331条第6項において例によることとされる国税徴収法第141条（質問及び検査）及び地方税法第20条の11"
    "（官公署等への協力要請）の規定に基づき、下記の者の財産について照会します。"
)
ASK = {
    InquiryKind.DEPOSIT: "預貯金・出資金等の有無、口座番号、照会日現在の残高（取引履歴があれば併せて）",
    InquiryKind.SALARY: "在職の有無、給与の支給額・支給日、源泉所得税・特別徴収税額・社会保険料、扶養親族の数",
    InquiryKind.INSURANCE: "生命保険・損害保険契約の有無、証券番号、解約返戻金・満期保険金の額",
    InquiryKind.PENSION: "年金の受給の有無、種類、支給額・支払日・支払先口座",
    InquiryKind.MUNICIPALITY: "住民票の写し（除票を含む）及び課税状況（所得・資産）",
    InquiryKind.REGISTRY: "不動産・法人の登記事項（登記簿謄本・登記事項証明書）",
}


@dataclass(frozen=True)
class Recipient:
    code: str
    name: str
    address: str = ""
    electronic: bool = False


@dataclass
class InquirySummary:
    batch_id: int | None = None
    kind: str = ""
    as_of: str = ""
    targets: int = 0
    recipients: int = 0
    inquiries: int = 0
    protected: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_recipient(text: str) -> Recipient:
    """``CODE:NAME`` or ``CODE:NAME:e`` (takes electronic inquiries) from the command line."""
    parts = text.split(":")
    if (
        len(parts) not in (2, 3)
        or not parts[0].strip()
        or not parts[1].strip()
        or (len(parts) == 3 and parts[2] != "e")
    ):
        raise ValidationError(
            f"照会先 {text!r} は「コード:名称」か「コード:名称:e」（電子照会）の形で指定してください"
        )
    return Recipient(parts[0].strip(), parts[1].strip(), electronic=len(parts) == 3)


def _targets(m: Municipality, as_of: date, stage: str) -> Any:
    cases = Case.objects.filter(municipality=m, opened_on__lte=as_of).exclude(closed_on__lte=as_of)
    if stage:
        cases = cases.filter(stage=stage)
    return Taxpayer.objects.filter(municipality=m, pk__in=cases.values("taxpayer_id"))


def _slices(qs: Any) -> Iterator[list[Taxpayer]]:
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def _address(tp: Taxpayer, as_of: date) -> str:
    """The address for an outgoing letter or file: none for a 支援措置 person (``taxpayers.protection.printable``,
    the rule the 督促状 print data follows)."""
    return f"{tp.address} {tp.address_extra}".strip() if printable(tp, as_of) else ""


def _letter(
    m: Municipality,
    r: Recipient,
    kind: str,
    as_of: date,
    due: date,
    people: Iterator[list[Taxpayer]],
    s: InquirySummary,
    record: Callable[[list[Taxpayer]], None],
    f: Any,
) -> int:
    office = getattr(m, "office_name", "") or m.name
    out = io.BytesIO()
    c = new_canvas(out, title=f"{InquiryKind(kind).label}の照会書 {r.name}", author=office)
    w, h = A4

    def head() -> float:
        y = h - 20 * mm
        c.setFont(FONT_NAME, 10)
        c.drawRightString(w - 20 * mm, y, wareki(as_of))
        y -= 10 * mm
        c.setFont(FONT_NAME, 11)
        c.drawString(20 * mm, y, f"{r.name} 御中")
        y -= 12 * mm
        c.setFont(FONT_NAME, 16)
        c.drawString(w / 2 - 40 * mm, y, f"{InquiryKind(kind).label}に関する照会書")
        y -= 10 * mm
        c.setFont(FONT_NAME, 9)
        for line in wrap(
            LAW + f"照会事項: {ASK[InquiryKind(kind)]}。回答期限: {wareki(due)}。", 9, w - 40 * mm
        ):
            c.drawString(20 * mm, y, line)
            y -= 4.8 * mm
        c.drawRightString(w - 20 * mm, y - 2 * mm, f"{office}（徴税吏員）")
        return y - 10 * mm

    y = head()
    n = 0
    for chunk in people:
        record(chunk)
        n += len(chunk)
        for tp in chunk:
            if y < 20 * mm:
                c.showPage()
                y = head()
            addr = _address(tp, as_of)
            if not addr:
                s.protected += 1
            born = wareki(tp.birth_date) if tp.birth_date else ""
            c.setFont(FONT_NAME, 9)
            c.drawString(20 * mm, y, f"{tp.taxpayer_no}  {tp.name}（{tp.name_kana}）  {born}")
            c.drawString(30 * mm, y - 4.4 * mm, addr or "（住所は記載しません）")
            y -= 10 * mm
    c.showPage()
    c.save()
    f.write(out.getvalue())  # reportlab keeps the document in memory until saved (one recipient's letter)
    return n


def _csv(
    batch_no: str,
    r: Recipient,
    as_of: date,
    due: date,
    people: Iterator[list[Taxpayer]],
    s: InquirySummary,
    record: Callable[[list[Taxpayer]], None],
    f: Any,
) -> int:
    line = csv_line_writer()
    f.write(encode_cp932(line(CSV_HEADER)))
    n = 0
    for chunk in people:
        record(chunk)
        n += len(chunk)
        for tp in chunk:
            addr = _address(tp, as_of)
            if not addr:
                s.protected += 1
            born = tp.birth_date.isoformat() if tp.birth_date else ""
            row = [batch_no, as_of.isoformat(), r.code, r.name, tp.taxpayer_no, tp.name, tp.name_kana, born,
                   tp.postal_code if addr else "", addr, due.isoformat()]  # fmt: skip
            f.write(encode_cp932(line(row)))
    return n


def _check_request(kind: str, recipients: Sequence[Recipient], answer_days: int) -> None:
    if not 1 <= answer_days <= 365:
        raise ValidationError("回答期限の日数は1〜365日で指定してください")
    if kind == InquiryKind.SALARY and recipients:
        raise ValidationError(
            "給与の照会先は勤務先（特別徴収義務者）から決まります。照会先は指定しないでください"
        )
    if kind != InquiryKind.SALARY and not recipients:
        raise ValidationError("照会先（--to コード:名称）を1つ以上指定してください")
    if kind != InquiryKind.DEPOSIT and any(r.electronic for r in recipients):
        raise ValidationError("電子照会（:e）は預貯金の照会だけに指定できます")
    codes = [r.code for r in recipients]
    if len(set(codes)) != len(codes):
        raise ValidationError("同じ照会先コードが2回指定されています")


def _plan(kind: str, targets: Any, recipients: Sequence[Recipient]) -> list[tuple[Recipient, Any]]:
    """(recipient, the people asked of it): 給与 — each target's current employer and its employees; the
    other kinds — every recipient given, asked about every target."""
    if kind != InquiryKind.SALARY:
        return [(r, targets) for r in recipients]
    plan: list[tuple[Recipient, Any]] = []
    links = (
        SpecialCollectionEmployee.objects.filter(
            employee__in=targets, is_current=True, collector__is_current=True
        )
        .filter(end_date__isnull=True)
        .values_list("collector__designation_no", "collector__name")
        .distinct()
        .order_by("collector__designation_no")
    )
    for code, name in links:
        people = targets.filter(
            special_collection_links__collector__designation_no=code,
            special_collection_links__is_current=True,
            special_collection_links__end_date__isnull=True,
        ).distinct()
        plan.append((Recipient(code, name), people))
    return plan


def inquiries_create(
    *,
    municipality: Municipality,
    kind: str,
    as_of: date,
    out_dir: str | Path,
    actor: Any = None,
    recipients: Sequence[Recipient] = (),
    case_stage: str = "",
    answer_days: int = 30,
) -> InquirySummary:
    """Write one letter (or CSV) per recipient and record the batch and its inquiries; all or nothing."""
    if actor is not None and (
        not has_right(actor, Right.ENFORCEMENT) or actor.municipality_id != municipality.pk
    ):
        raise PermissionDenied("財産調査（照会）を作成する権限がありません")
    if kind not in InquiryKind.values:
        raise ValidationError(f"照会の種類 {kind!r} は定義されていません（{', '.join(InquiryKind.values)}）")
    if case_stage and case_stage not in Stage.values:
        raise ValidationError(f"進行状況 {case_stage!r} は定義されていません（{', '.join(Stage.values)}）")
    _check_request(kind, recipients, answer_days)
    out = Path(out_dir)
    if not out.is_dir():
        raise ValidationError(f"出力先のフォルダ {out} がありません（何も出力していません）")
    due = as_of + timedelta(days=answer_days)
    targets = _targets(municipality, as_of, case_stage)
    s = InquirySummary(kind=kind, as_of=as_of.isoformat(), targets=targets.count())
    plan = _plan(kind, targets, recipients)
    with ExitStack() as stack, transaction.atomic():
        batch = InquiryBatch.objects.create(
            municipality=municipality, kind=kind, as_of=as_of, answer_days=answer_days, case_stage=case_stage,
            created_by=actor,
        )  # fmt: skip
        s.batch_id = batch.pk
        handles = []
        for seq, (r, people) in enumerate(plan, start=1):
            ext = "csv" if r.electronic else "pdf"
            path = out / f"inquiry-{kind}-{as_of:%Y%m%d}-{seq:03d}.{ext}"
            check_out(path)
            f = stack.enter_context(output_file(path))

            def record(chunk: list[Taxpayer], r: Recipient = r) -> None:
                Inquiry.objects.bulk_create(
                    [
                        Inquiry(
                            batch=batch,
                            municipality=municipality,
                            taxpayer=tp,
                            recipient_code=r.code,
                            recipient_name=r.name,
                            sent_on=as_of,
                            due_on=due,
                        )  # fmt: skip
                        for tp in chunk
                    ]
                )

            if r.electronic:
                n = _csv(str(batch.pk), r, as_of, due, _slices(people), s, record, f)
            else:
                n = _letter(municipality, r, kind, as_of, due, _slices(people), s, record, f)
            if not n:
                continue  # nobody for this recipient: the part file is removed, nothing published
            handles.append(f)
            s.recipients += 1
            s.inquiries += n
            s.files.append({"file": path.name, "recipient": r.name, "code": r.code, "electronic": r.electronic,
                            "persons": n, "sha256": f.sha256, "bytes": f.size})  # fmt: skip
        batch.files = s.files
        batch.save(update_fields=["files"])
        audit_record(
            kind=AuditKind.EXPORT, function=f"財産調査の照会（{InquiryKind(kind).label}）", municipality=municipality,
            user=actor, detail=s.as_dict(),
        )  # fmt: skip
        for f in handles:
            f.publish()
    return s


def inquiry_batch_build(
    *,
    actor: Any,
    kind: str,
    as_of: date,
    case_ids: Sequence[int],
    recipients: Sequence[Recipient] = (),
    answer_days: int = 30,
) -> InquiryBatch:
    """The screen's batch: the people of the cases chosen (open, of the actor's team), one ``Inquiry`` per
    (recipient, person); the letters are made on demand (``batch_letter``). All or nothing, change-logged."""
    from choshu.cases.access import visible_cases

    if not has_right(actor, Right.ENFORCEMENT):
        raise PermissionDenied("財産調査（照会）を作成する権限がありません")
    if kind not in InquiryKind.values:
        raise ValidationError(f"照会の種類 {kind!r} は定義されていません")
    _check_request(kind, recipients, answer_days)
    wanted = sorted({int(x) for x in case_ids})
    if not wanted:
        raise ValidationError("照会の対象とする滞納案件を1件以上選んでください")
    cases = visible_cases(actor).filter(pk__in=wanted, closed_on__isnull=True)
    if cases.count() != len(wanted):
        raise ValidationError(
            "選んだ案件の中に、完結したものか担当班の案件でないものがあります。選び直してください"
        )
    targets = Taxpayer.objects.filter(
        municipality_id=actor.municipality_id, pk__in=cases.values("taxpayer_id")
    )
    due = as_of + timedelta(days=answer_days)
    with transaction.atomic():
        batch = InquiryBatch.objects.create(
            municipality_id=actor.municipality_id, kind=kind, as_of=as_of, answer_days=answer_days,
            team=actor.team or "", created_by=actor,
        )  # fmt: skip
        files: list[dict[str, Any]] = []
        for r, people in _plan(kind, targets, recipients):
            n = 0
            for chunk in _slices(people):
                Inquiry.objects.bulk_create(
                    [
                        Inquiry(
                            batch=batch,
                            municipality_id=actor.municipality_id,
                            taxpayer=tp,
                            recipient_code=r.code,
                            recipient_name=r.name,
                            sent_on=as_of,
                            due_on=due,
                        )  # fmt: skip
                        for tp in chunk
                    ]
                )
                n += len(chunk)
            if n:
                files.append({"recipient": r.name, "code": r.code, "electronic": r.electronic, "persons": n})
        if not files:
            raise ValidationError(
                "照会先に該当する人がいません（給与の照会は、勤務先（特別徴収義務者）の記録がある人だけが対象です）"
            )
        batch.files = files
        batch.save(update_fields=["files"])
        audit_record(
            kind=AuditKind.CHANGE, function=f"財産調査の照会の作成（{InquiryKind(kind).label}）",
            municipality=actor.municipality, user=actor, subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=list(targets.order_by("pk").values_list("pk", flat=True)),
            detail={"batch": batch.pk, "kind": kind, "as_of": as_of.isoformat(), "cases": wanted,
                    "recipients": [f["recipient"] for f in files], "answer_days": answer_days},
        )  # fmt: skip
    return batch


def batch_recipient(batch: InquiryBatch, index: int) -> Recipient:
    """The ``index``-th recipient of a batch (its ``files`` entry); IndexError when there is none."""
    if not 0 <= index < len(batch.files):
        raise IndexError(index)
    f = batch.files[index]
    electronic = bool(f.get("electronic", str(f.get("file", "")).endswith(".csv")))
    return Recipient(str(f.get("code", "")), str(f["recipient"]), electronic=electronic)


def batch_letter(batch: InquiryBatch, index: int) -> tuple[str, str, bytes]:
    """(file name, content type, body) of one recipient's letter (PDF) or electronic inquiry (CSV),
    listing the people asked of it; a 支援措置 person without an address (``_address``)."""
    r = batch_recipient(batch, index)
    people = Taxpayer.objects.filter(
        pk__in=Inquiry.objects.filter(batch=batch, recipient_name=r.name).values("taxpayer_id")
    )
    due = batch.as_of + timedelta(days=batch.answer_days)
    out = io.BytesIO()
    s = InquirySummary()
    name = f"inquiry-{batch.kind}-{batch.as_of:%Y%m%d}-{index + 1:03d}"
    if r.electronic:
        _csv(str(batch.pk), r, batch.as_of, due, _slices(people), s, lambda chunk: None, out)
        return f"{name}.csv", "text/csv; charset=cp932", out.getvalue()
    _letter(batch.municipality, r, batch.kind, batch.as_of, due, _slices(people), s, lambda chunk: None, out)
    return f"{name}.pdf", "application/pdf", out.getvalue()


def inquiry_state(inquiry: Inquiry, today: date) -> str:
    if inquiry.answered_on is not None:
        return "回答済"
    return "期限超過" if today > inquiry.due_on else "照会中"


@transaction.atomic
def inquiry_answer(
    *,
    actor: Any,
    inquiry: Inquiry,
    answered_on: date,
    note: str,
    assets: Sequence[dict[str, Any]] = (),
    today: date,
) -> list[Asset]:
    """Record an answer and the assets it reports (balances, salaries, policies, properties)."""
    if not has_right(actor, Right.ENFORCEMENT) or actor.municipality_id != inquiry.municipality_id:
        raise PermissionDenied("財産調査の回答を記録する権限がありません")
    inq = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    if inq.answered_on is not None:
        raise ValidationError(f"この照会は {wareki(inq.answered_on)} に回答済です")
    if answered_on < inq.sent_on or answered_on > today:
        raise ValidationError(f"回答日は照会日（{wareki(inq.sent_on)}）から本日までの日付にしてください")
    if not note.strip():
        raise ValidationError("回答の内容（該当なし・残高あり など）を入力してください")
    found = []
    for a in assets:
        if a.get("kind") not in AssetKind.values or not str(a.get("description", "")).strip():
            raise ValidationError("財産の種類と表示を入力してください")
        amount = a.get("amount")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount < 0):
            raise ValidationError("金額は0円以上の整数で入力してください")
        found.append(
            Asset.objects.create(
                municipality_id=inq.municipality_id,
                taxpayer_id=inq.taxpayer_id,
                kind=a["kind"],
                holder=inq.recipient_name,
                description=str(a["description"]).strip()[:300],
                amount=amount,
                as_of=answered_on,
                inquiry=inq,
                source=f"照会回答（{inq.recipient_name}）"[:100],
                recorded_by=actor,
            )  # fmt: skip
        )
    inq.answered_on, inq.answer_note = answered_on, note.strip()[:300]
    inq.save(update_fields=["answered_on", "answer_note"])
    audit_record(
        kind=AuditKind.CHANGE, function="財産調査の回答の記録", municipality=actor.municipality, user=actor,
        subject_type=AuditSubjectType.TAXPAYER, subject_ids=[inq.taxpayer_id],
        detail={"inquiry": inq.pk, "answered_on": answered_on.isoformat(), "assets": [x.pk for x in found]},
    )  # fmt: skip
    return found
