"""返戻 (returned mail) and 公示送達 (public notice) of 督促状 — issue 15 §5.

**Returned mail.** Staff scan or type the slip numbers (納付番号) of returned 督促状, one per line,
each with its return date and reason (``returned_mail_register``). The whole list is checked first —
an unknown number, a slip that is not a 督促状's, a number twice in the list, a notice already
registered, a date in the future or before the issue — and every bad line is reported in Japanese with
its line number; then nothing is written. Otherwise each notice gets a ``ReturnedMail`` row keeping the
address it was sent to (``taxpayers.addressee.addressee_for`` on the issue date).

**The design (one rule, no hook into the address screens).** An address is unreliable while the
person's 宛先 (the addressee rule) for a tax item is still the address the notice came back from.
Registration puts a 督促停止 of reason 返戻 (``SuppressionReason.RETURNED_MAIL``, open-ended) on every
open installment of the person whose item is mailed to that address today, so the dunning run (and
later reminder runs) leave them out. ``returned_mail_refresh`` — run at the start of every dunning run
and by ``choshu returned-mail --refresh`` — looks at each unresolved returned mail: if the 宛先 has
changed (a new registered address, a new 送付先, a 納税管理人 …) the mark is cleared and its
suppressions end the day before; if not, the stops of an item now mailed elsewhere end and
installments levied since are suppressed too. Its cost
follows the unresolved returned mails (a few queries each), not the city. A 受取拒否 is recorded but
suppresses nothing: the person is at that address.

**Public notice.** ``public_notice_record`` records the first day of posting of a returned 督促状
(法20条の2); ``rules.service.deemed_service_date`` gives the day service is deemed made (7 days
elapsed), from which the 指定期限, the day seizure becomes possible (``rules.dunning``) and the
renewal of prescription (``selectors.prescription_events``) are counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.dunning.models import (
    DunningNotice,
    DunningSuppression,
    NoticeStatus,
    PublicNotice,
    ReturnedMail,
    ReturnReason,
    SuppressionReason,
    suppressed_on,
)
from choshu.formats.display import wareki
from choshu.levies.models import Installment
from choshu.receipts.models import PaymentSlip
from choshu.rules.check_digits import is_valid_slip_no
from choshu.rules.dunning import dunning_payment_deadline, seizure_eligible_date
from choshu.rules.service import deemed_service_date
from choshu.taxpayers.addressee import Addressee, addressee_for
from choshu.taxpayers.normalize import address_key

FUNCTION = "返戻の登録"
REFRESH_FUNCTION = "返戻の宛先確認"
PUBLIC_NOTICE_FUNCTION = "公示送達の登録"
MAX_LINES = 2000  # one sitting at the scanner; a bigger pile is split
_BARCODE_DIGITS = 44  # a scanned コンビニ barcode (AI 91): the slip number is digits 14–29


# --- input ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnLine:
    """One returned notice as entered: its line number (for messages), slip number, date, reason."""

    line_no: int
    slip_no: str
    returned_on: date
    reason: ReturnReason
    note: str = ""


_REASONS = {r.value: r for r in ReturnReason} | {str(r.label): r for r in ReturnReason}


def reason_of(text: str) -> ReturnReason | None:
    """A reason by its code (``moved_unknown``) or its label (転居先不明)."""
    return _REASONS.get(text.strip())


def slip_digits(text: str) -> str:
    """The slip number in what was typed or scanned: 16 digits, or a 44-digit コンビニ barcode."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == _BARCODE_DIGITS and digits.startswith("91"):
        return digits[13:29]
    return digits


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None


def parse_lines(
    text: str, *, returned_on: date | None, reason: ReturnReason | None
) -> tuple[list[ReturnLine], list[str]]:
    """The lines of a scan list: ``納付番号[,返戻日[,理由[,備考]]]`` (comma or tab); the date and reason
    default to ``returned_on`` / ``reason``. Blank lines are skipped. Returns the lines and the
    Japanese errors (line by line)."""
    lines: list[ReturnLine] = []
    errors: list[str] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in re.split(r"[,\t，]", raw)]
        slip = slip_digits(parts[0])
        day = _day(parts[1]) if len(parts) > 1 and parts[1] else returned_on
        why = reason_of(parts[2]) if len(parts) > 2 and parts[2] else reason
        where = f"{no}行目"
        if not is_valid_slip_no(slip):
            errors.append(
                f"{where}: 「{parts[0]}」は納付番号として読めません（16桁の数字で、最後の桁は検査数字です）"
            )
            continue
        if day is None:
            shown = parts[1] if len(parts) > 1 and parts[1] else "（未入力）"
            errors.append(f"{where}: 返戻日「{shown}」が読めません（年-月-日の形で入力してください）")
            continue
        if why is None:
            shown = parts[2] if len(parts) > 2 and parts[2] else "（未入力）"
            names = "、".join(str(r.label) for r in ReturnReason)
            errors.append(f"{where}: 返戻理由「{shown}」は選べません（{names} のいずれか）")
            continue
        lines.append(ReturnLine(no, slip, day, why, parts[3][:300] if len(parts) > 3 else ""))
    if len(lines) + len(errors) > MAX_LINES:
        errors.insert(0, f"一度に登録できるのは {MAX_LINES:,} 件までです。分けて登録してください")
    return lines, errors


# --- the address a notice went to ------------------------------------------------------------------


def _key(postal_code: str, address: str, address_extra: str) -> tuple[str, str]:
    return (re.sub(r"\D", "", postal_code), address_key(f"{address}{address_extra}"))


def _addressee_key(a: Addressee) -> tuple[str, str]:
    return _key(a.postal_code, a.address, a.address_extra)


def _mail_key(rm: ReturnedMail) -> tuple[str, str]:
    return _key(rm.sent_postal_code, rm.sent_address, rm.sent_address_extra)


def still_returned(rm: ReturnedMail, on: date) -> bool:
    """Whether the person's 宛先 for the notice's item on ``on`` is still the address it came back from."""
    return _addressee_key(addressee_for(rm.taxpayer, rm.tax_item, on)) == _mail_key(rm)


def _items_mailed_there(rm: ReturnedMail, on: date) -> list[str]:
    """The tax items of the person's open installments whose 宛先 on ``on`` is the returned address."""
    items = (
        Installment.objects.filter(taxpayer_id=rm.taxpayer_id, principal_outstanding__gt=0)
        .values_list("levy__tax_item", flat=True)
        .distinct()
        .order_by()
    )
    key = _mail_key(rm)
    return sorted(i for i in set(items) if _addressee_key(addressee_for(rm.taxpayer, i, on)) == key)


def _suppress(rm: ReturnedMail, on: date, actor: Any, items: list[str] | None = None) -> list[int]:
    """A 督促停止 (返戻) on every open installment of the person mailed to the returned address (of
    ``items``, else those found now) that has none in force on ``on`` and that this returned mail
    never stopped; those already stopped for another returned mail are linked too. The new ids."""
    items = _items_mailed_there(rm, on) if items is None else items
    if not items:
        return []
    open_insts = Installment.objects.filter(
        taxpayer_id=rm.taxpayer_id, principal_outstanding__gt=0, levy__tax_item__in=items
    )
    existing = list(
        DunningSuppression.objects.filter(
            installment__in=open_insts, reason=SuppressionReason.RETURNED_MAIL
        ).filter(suppressed_on(on))
    )
    # an installment this returned mail stopped before is not stopped again (a stop ended by hand stays ended)
    covered = {s.installment_id for s in existing} | set(
        rm.suppressions.values_list("installment_id", flat=True)
    )
    user = actor if getattr(actor, "is_authenticated", False) else None
    new = DunningSuppression.objects.bulk_create(
        [
            DunningSuppression(
                municipality_id=rm.municipality_id,
                installment_id=inst_id,
                taxpayer_id=rm.taxpayer_id,
                reason=SuppressionReason.RETURNED_MAIL,
                start=rm.returned_on,
                note=f"返戻（{rm.get_reason_display()}、納付番号 {rm.notice.slip.slip_no if rm.notice.slip else '－'}）",
                created_by=user,
            )
            for inst_id in open_insts.exclude(pk__in=covered).order_by("pk").values_list("pk", flat=True)
        ]
    )
    rm.suppressions.add(*existing, *new)
    return [s.pk for s in new]


# --- registration -----------------------------------------------------------------------------------


@dataclass
class Registered:
    """What ``returned_mail_register`` wrote: the returned mails and the suppressions it added."""

    returned: list[ReturnedMail] = field(default_factory=list)
    added: dict[int, list[int]] = field(default_factory=dict)  # returned mail id → new suppression ids

    @property
    def suppressions(self) -> int:
        return sum(len(ids) for ids in self.added.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "registered": len(self.returned),
            "suppressions": self.suppressions,
            "returned": [
                {
                    "slip_no": rm.notice.slip.slip_no if rm.notice.slip else None,
                    "notice_id": rm.notice_id,
                    "taxpayer_no": rm.taxpayer.taxpayer_no,
                    "tax_item": rm.tax_item,
                    "returned_on": rm.returned_on.isoformat(),
                    "reason": rm.reason,
                    "suppressions": len(self.added[rm.pk]),
                }
                for rm in self.returned
            ],
        }


def _check_actor(actor: Any, municipality: Municipality, right: str = Right.DUNNING_SUPPRESS) -> None:
    if not has_right(actor, right):
        raise PermissionDenied("返戻・公示送達を登録する権限がありません")
    if actor.municipality_id != municipality.pk:
        raise PermissionDenied("他の自治体の督促状は扱えません")


def _find(
    municipality: Municipality, lines: Sequence[ReturnLine]
) -> tuple[dict[str, DunningNotice], set[str]]:
    """The 督促状 of these slip numbers (one query) and the numbers that are some other slip (two)."""
    numbers = {x.slip_no for x in lines}
    notices = {
        n.slip.slip_no: n
        for n in DunningNotice.objects.filter(municipality=municipality, slip__slip_no__in=numbers)
        .select_related("slip", "taxpayer")
        .prefetch_related("returned_mail")
        if n.slip is not None
    }
    rest = numbers - set(notices)
    others = set(
        PaymentSlip.objects.filter(municipality=municipality, slip_no__in=rest).values_list(
            "slip_no", flat=True
        )
    ) | set(
        Installment.objects.filter(municipality=municipality, slip_no__in=rest).values_list(
            "slip_no", flat=True
        )
    )
    return notices, {str(x) for x in others}


def _line_errors(
    lines: Sequence[ReturnLine], notices: dict[str, DunningNotice], others: set[str], today: date
) -> list[str]:
    errors: list[str] = []
    first: dict[str, int] = {}
    for x in lines:
        where = f"{x.line_no}行目（納付番号 {x.slip_no}）"
        if x.slip_no in first:
            errors.append(f"{where}: {first[x.slip_no]}行目と同じ納付番号です。1回だけ入力してください")
            continue
        first[x.slip_no] = x.line_no
        notice = notices.get(x.slip_no)
        if notice is None:
            if x.slip_no in others:
                errors.append(f"{where}: 督促状の納付書ではありません（期別・一括の納付書の番号です）")
            else:
                errors.append(f"{where}: この納付番号の納付書は見つかりません。番号を確かめてください")
            continue
        if notice.status != NoticeStatus.ISSUED:
            errors.append(f"{where}: この督促状は{notice.get_status_display()}されています")
        elif hasattr(notice, "returned_mail"):
            done = notice.returned_mail
            errors.append(
                f"{where}: この督促状は既に返戻登録されています（返戻日 {wareki(done.returned_on)}）"
            )
        elif x.returned_on > today:
            errors.append(f"{where}: 返戻日 {wareki(x.returned_on)} は未来の日付です")
        elif x.returned_on < notice.issued_on:
            errors.append(
                f"{where}: 返戻日 {wareki(x.returned_on)} が督促状の発付日（{wareki(notice.issued_on)}）より前です"
            )
    return errors


@transaction.atomic
def returned_mail_register(
    *, actor: Any, municipality: Municipality, lines: Sequence[ReturnLine], today: date
) -> Registered:
    """Register returned 督促状, all or nothing: any bad line raises ``ValidationError`` with one
    Japanese message per bad line and nothing is written. Each notice gets its ``ReturnedMail`` (the
    address as sent) and, unless refused (受取拒否), 督促停止 (返戻) on the installments mailed there."""
    _check_actor(actor, municipality)
    if not lines:
        raise ValidationError("返戻された督促状の納付番号を1件以上入力してください")
    notices, others = _find(municipality, lines)
    errors = _line_errors(lines, notices, others, today)
    if errors:
        raise ValidationError(errors)
    done = Registered()
    for x in lines:
        rm, added = _register_one(actor, notices[x.slip_no], x, today)
        done.returned.append(rm)
        done.added[rm.pk] = added
    audit_record(
        kind=AuditKind.CHANGE,
        function=FUNCTION,
        municipality=municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=sorted({rm.taxpayer_id for rm in done.returned}),
        detail={
            "registered": len(done.returned),
            "suppressions": done.suppressions,
            "returned": [
                {
                    "notice": rm.notice_id,
                    "returned_on": rm.returned_on.isoformat(),
                    "reason": rm.reason,
                    "suppression_ids": done.added[rm.pk],
                }  # fmt: skip
                for rm in done.returned
            ],
        },
    )
    return done


def _register_one(
    actor: Any, notice: DunningNotice, x: ReturnLine, today: date
) -> tuple[ReturnedMail, list[int]]:
    sent = addressee_for(notice.taxpayer, notice.tax_item, notice.issued_on)
    refused = x.reason == ReturnReason.REFUSED
    rm = ReturnedMail.objects.create(
        municipality_id=notice.municipality_id,
        notice=notice,
        taxpayer=notice.taxpayer,
        tax_item=notice.tax_item,
        returned_on=x.returned_on,
        reason=x.reason,
        note=x.note,
        sent_via=sent.rule.value,
        sent_record_id=sent.record_id,
        sent_postal_code=sent.postal_code,
        sent_address=sent.address,
        sent_address_extra=sent.address_extra,
        cleared_on=x.returned_on if refused else None,
        cleared_note="受取拒否（宛先に住んでいるため、郵送は止めません）" if refused else "",
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    return rm, ([] if refused else _suppress(rm, today, actor))


# --- the refresh: a new address ends the mark ------------------------------------------------------


@dataclass
class Refreshed:
    checked: int = 0
    cleared: int = 0
    ended: int = 0
    added: int = 0
    taxpayer_ids: set[int] = field(default_factory=set)

    def as_dict(self) -> dict[str, int]:
        return {"checked": self.checked, "cleared": self.cleared, "ended": self.ended, "added": self.added}


def _end(rm: ReturnedMail, on: date, actor: Any, note: str, *, keep_items: Sequence[str] = ()) -> int:
    """End the returned mail's suppressions still running on ``on`` (on the day before), except those
    of ``keep_items`` and those another unresolved returned mail holds."""
    held = ReturnedMail.objects.filter(cleared_on__isnull=True).exclude(pk=rm.pk)
    user = actor if getattr(actor, "is_authenticated", False) else None
    running = (
        rm.suppressions.filter(Q(end__isnull=True) | Q(end__gte=on))
        .exclude(installment__levy__tax_item__in=list(keep_items))
        .exclude(returned_mails__in=held)
    )
    ended = 0
    for s in running:
        s.end = max(s.start, on - timedelta(days=1))
        s.ended_by = user
        s.end_note = note
        s.save(update_fields=["end", "ended_by", "end_note"])
        ended += 1
    return ended


def _clear(rm: ReturnedMail, on: date, actor: Any) -> int:
    """The 宛先 changed: clear the mark and end its suppressions."""
    now = addressee_for(rm.taxpayer, rm.tax_item, on)
    rm.cleared_on = on
    rm.cleared_note = f"新しい宛先（{now.via}）が登録されたため"
    rm.save(update_fields=["cleared_on", "cleared_note"])
    return _end(rm, on, actor, "返戻: 新しい宛先が登録されたため自動終了")


def returned_mail_refresh(*, municipality: Municipality, on: date, actor: Any = None) -> Refreshed:
    """Check every unresolved returned mail of ``municipality`` against the 宛先 on ``on``: clear those
    whose 宛先 changed (ending their 督促停止); for the others, end the stops of items now mailed
    elsewhere and suppress newly levied installments still mailed there. One
    change record when anything changed. Call inside the caller's transaction (the dunning run)."""
    done = Refreshed()
    open_mail = (
        ReturnedMail.objects.filter(municipality=municipality, cleared_on__isnull=True)
        .select_related("taxpayer", "notice__slip")
        .order_by("pk")
    )
    for rm in open_mail.iterator(chunk_size=500):
        done.checked += 1
        if still_returned(rm, on):
            # another item may have a new 送付先 of its own: its stops end; new levies get one
            items = _items_mailed_there(rm, on)
            ended = _end(
                rm, on, actor, "返戻: この税目に新しい送付先が登録されたため自動終了", keep_items=items
            )
            added = _suppress(rm, on, actor, items)
            done.ended += ended
            done.added += len(added)
            if added or ended:
                done.taxpayer_ids.add(rm.taxpayer_id)
        else:
            done.cleared += 1
            done.ended += _clear(rm, on, actor)
            done.taxpayer_ids.add(rm.taxpayer_id)
    if done.taxpayer_ids:
        audit_record(
            kind=AuditKind.CHANGE,
            function=REFRESH_FUNCTION,
            municipality=municipality,
            user=actor,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=sorted(done.taxpayer_ids),
            detail={"on": on.isoformat(), **done.as_dict()},
        )
    return done


# --- 公示送達 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceDates:
    """The legal effect dates of a 督促状: the day the 督促 takes effect (the issue date, or the
    deemed service of a public notice), its 指定期限 and the first day seizure is possible."""

    effective_on: date
    pay_by: date
    seizure_from: date
    by_public_notice: bool


def service_dates(notice: DunningNotice, public_notice: PublicNotice | None) -> ServiceDates:
    """法331条1項1号 counted from the issue date, or from the deemed service (法20条の2第2項)."""
    if public_notice is None:
        return ServiceDates(notice.issued_on, notice.pay_by, seizure_eligible_date(notice.issued_on), False)
    served = public_notice.deemed_served_on
    return ServiceDates(served, dunning_payment_deadline(served), seizure_eligible_date(served), True)


@transaction.atomic
def public_notice_record(
    *, actor: Any, municipality: Municipality, slip_no: str, posted_on: date, today: date, note: str = ""
) -> PublicNotice:
    """Record the first day of posting of a 公示送達 for the 督促状 of ``slip_no``: it must have come
    back (返戻, not 受取拒否), the posting cannot start before the return nor after today, and a notice
    is posted once. Right ``dunning_run`` (the 公示送達 is the head's act, as the run is)."""
    _check_actor(actor, municipality, Right.DUNNING_RUN)
    slip = slip_digits(slip_no)
    notice = (
        DunningNotice.objects.filter(municipality=municipality, slip__slip_no=slip)
        .select_related("slip", "taxpayer")
        .first()
    )
    where = f"納付番号 {slip or slip_no}"
    if notice is None:
        raise ValidationError(f"{where}: この番号の督促状は見つかりません。番号を確かめてください")
    rm = ReturnedMail.objects.filter(notice=notice).first()
    if rm is None:
        raise ValidationError(
            f"{where}: 返戻の登録がない督促状は公示送達できません。先に返戻を登録してください"
        )
    if rm.reason == ReturnReason.REFUSED:
        raise ValidationError(f"{where}: 受取拒否の督促状は送達済みとして扱います（公示送達は不要です）")
    if PublicNotice.objects.filter(notice=notice).exists():
        raise ValidationError(f"{where}: この督促状の公示送達は登録済みです")
    if posted_on > today:
        raise ValidationError(f"{where}: 掲示開始日 {wareki(posted_on)} は未来の日付です")
    if posted_on < rm.returned_on:
        raise ValidationError(
            f"{where}: 掲示開始日 {wareki(posted_on)} が返戻日（{wareki(rm.returned_on)}）より前です"
        )
    pn = PublicNotice.objects.create(
        municipality=municipality,
        notice=notice,
        taxpayer=notice.taxpayer,
        posted_on=posted_on,
        deemed_served_on=deemed_service_date(posted_on),
        note=note.strip()[:300],
        created_by=actor,
    )
    dates = service_dates(notice, pn)
    audit_record(
        kind=AuditKind.CHANGE,
        function=PUBLIC_NOTICE_FUNCTION,
        municipality=municipality,
        user=actor,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=[notice.taxpayer_id],
        detail={
            "notice": notice.pk,
            "posted_on": posted_on.isoformat(),
            "deemed_served_on": pn.deemed_served_on.isoformat(),
            "pay_by": dates.pay_by.isoformat(),
            "seizure_from": dates.seizure_from.isoformat(),
            "note": pn.note,
        },
    )
    return pn


__all__ = [
    "Registered",
    "ReturnLine",
    "ServiceDates",
    "parse_lines",
    "public_notice_record",
    "returned_mail_refresh",
    "returned_mail_register",
    "service_dates",
    "still_returned",
]
