"""支援措置 (DV・ストーカー行為等・児童虐待等の被害者の保護, issue 12 §5): the one place that decides what a
protected person's screens, files and log entries may hold. docs/security.md, 「支援措置」.

A person is protected on a day when ``Taxpayer.is_protected(day)``: the 支援措置 period imported with
the 宛名 covers it. While protected:

- every screen of the person shows the warning (``banner``; the template ``taxpayers/_protection_banner.html``
  through the tag ``{% protection_banner %}``);
- the address — 郵便番号, 住所, 方書, the 送付先 on the 宛名 and every ``MailingAddress`` row — is shown
  only to a user holding ``Right.PROTECTED_ADDRESS_VIEW``; everyone else sees ``MASK``
  (``shown_address``, ``shown_mailing_address``, ``shown_value``);
- a search by address never finds the person for a user without the right (``taxpayers.selectors``):
  a hit shown masked would still confirm that the person lives at the address typed;
- no export or print file holding the address may be written for the person (``printable`` /
  ``refuse_reason``): the document refuses the person and says so;
- every audit record about the person says so (``access_flags``, registered with ``audit``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from choshu.accounts.permissions import Right, has_right
from choshu.taxpayers.models import MailingAddress, Taxpayer

MASK = "支援措置のため非表示"
WARNING = "支援措置対象者（DV等）です。住所・送付先を第三者に教えないでください。"
# The address on the 宛名 (住所 and 送付先) and on a MailingAddress row
ADDRESS_FIELDS = ("postal_code", "address", "address_extra", "mailing_postal_code", "mailing_address")
MAILING_ADDRESS_FIELDS = ("postal_code", "address", "address_extra")


def active_on(day: date) -> Q:
    """The 宛名 protected on ``day`` (as ``Taxpayer.is_protected``, for a query)."""
    return Q(support_measure_from__lte=day) & (
        Q(support_measure_until__isnull=True) | Q(support_measure_until__gte=day)
    )


def not_active_on(day: date) -> Q:
    """The 宛名 not protected on ``day`` (spelled out: a negated ``active_on`` must keep NULL periods)."""
    return (
        Q(support_measure_from__isnull=True)
        | Q(support_measure_from__gt=day)
        | Q(support_measure_until__lt=day)
    )


def may_see_protected_address(user: Any) -> bool:
    """Whether ``user`` holds the right to see a protected person's address (no role has it by default;
    a section chief grants it)."""
    return user is not None and has_right(user, Right.PROTECTED_ADDRESS_VIEW)


def may_see_address(user: Any, taxpayer: Taxpayer, on: date) -> bool:
    """Whether ``user`` may see the address of ``taxpayer`` on ``on``."""
    return not taxpayer.is_protected(on) or may_see_protected_address(user)


def period_text(taxpayer: Taxpayer) -> str:
    """「支援措置期間 2025/04/01〜2026/03/31」 (an open end: 「終了日の定めなし」)."""
    start, end = taxpayer.support_measure_from, taxpayer.support_measure_until
    if start is None:
        return ""
    until = f"{end:%Y/%m/%d}" if end else "（終了日の定めなし）"
    return f"支援措置期間 {start:%Y/%m/%d}〜{until}"


@dataclass(frozen=True)
class Banner:
    """The red warning every screen of a protected person shows."""

    warning: str
    period: str
    address_masked: bool


def banner(taxpayer: Taxpayer | None, on: date, user: Any = None) -> Banner | None:
    """The warning for ``taxpayer`` on ``on``, or None when the person is not protected."""
    if taxpayer is None or not taxpayer.is_protected(on):
        return None
    return Banner(WARNING, period_text(taxpayer), not may_see_protected_address(user))


# ---------------------------------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownAddress:
    """住所 and 送付先 of a 宛名 as one user may see them (``masked``: replaced by ``MASK``)."""

    postal_code: str
    address: str
    address_extra: str
    mailing_postal_code: str
    mailing_address: str
    masked: bool


def shown_address(taxpayer: Taxpayer, *, user: Any, on: date) -> ShownAddress:
    if may_see_address(user, taxpayer, on):
        values = {name: getattr(taxpayer, name) for name in ADDRESS_FIELDS}
        return ShownAddress(**values, masked=False)
    return ShownAddress(MASK, MASK, MASK, MASK, MASK, masked=True)


@dataclass(frozen=True)
class ShownMailingAddress:
    """A 送付先 row (``MailingAddress``) as one user may see it; the other attributes as they are."""

    row: MailingAddress
    postal_code: str
    address: str
    address_extra: str
    masked: bool


def shown_mailing_address(
    row: MailingAddress, *, user: Any, on: date, taxpayer: Taxpayer | None = None
) -> ShownMailingAddress:
    """``row`` masked when its 宛名 (``taxpayer``, read from the row when not given) is protected."""
    owner = taxpayer if taxpayer is not None else row.taxpayer
    if may_see_address(user, owner, on):
        return ShownMailingAddress(row, row.postal_code, row.address, row.address_extra, masked=False)
    return ShownMailingAddress(row, MASK, MASK, MASK, masked=True)


def shown_value(taxpayer: Taxpayer | None, field: str, value: Any, *, user: Any, on: date) -> Any:
    """One attribute of ``taxpayer`` (e.g. a before/after value of a correction): ``MASK`` for an
    address field the user may not see, else ``value`` unchanged."""
    if taxpayer is None or field not in ADDRESS_FIELDS or may_see_address(user, taxpayer, on):
        return value
    return MASK


# ---------------------------------------------------------------------------------------------------
# Documents and exports
# ---------------------------------------------------------------------------------------------------

REFUSAL = (
    "{name}（宛名番号 {taxpayer_no}）は支援措置対象者のため、{document}を作成しません（住所・送付先を"
    "記載した書類は出力できません）。支援措置の手続に従い、上長の確認のうえ手作業で対応してください。"
)


class ProtectedPersonRefused(ValidationError):
    """A document or export refused for a protected person; the message says so and what to do."""


def printable(taxpayer: Taxpayer, on: date) -> bool:
    """Whether a document or file holding the person's address may be written on ``on``.

    Every print file and export that would hold an address (開示請求, later 督促状・催告書・通知書) asks
    this for each person and leaves out (refuses) those for whom it is False.
    """
    return not taxpayer.is_protected(on)


def refuse_reason(taxpayer: Taxpayer, on: date, document: str = "この書類") -> str | None:
    """Why ``document`` is not written for ``taxpayer`` (Japanese, for the summary), or None."""
    if printable(taxpayer, on):
        return None
    return REFUSAL.format(name=taxpayer.name, taxpayer_no=taxpayer.taxpayer_no, document=document)


# ---------------------------------------------------------------------------------------------------
# The access log
# ---------------------------------------------------------------------------------------------------


def protected_ids(ids: Iterable[int], on: date) -> list[int]:
    """Those of ``ids`` protected on ``on`` (one indexed query), in id order."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(
        Taxpayer.objects.filter(pk__in=wanted)
        .filter(active_on(on))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def access_flags(user: Any, ids: list[int], shows_address: bool, on: date) -> dict[str, Any]:
    """What an audit record about ``ids`` adds when one of them is protected: ``protected`` (with
    ``protected_ids``), and ``address_shown`` when the record is of a screen or file showing addresses
    and the user holds the right (so did see it). Nothing for records of unprotected people."""
    protected = protected_ids(ids, on)
    if not protected:
        return {}
    flags: dict[str, Any] = {"protected": True, "protected_ids": protected}
    if shows_address and may_see_protected_address(user):
        flags["address_shown"] = True
    return flags
