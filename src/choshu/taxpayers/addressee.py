"""宛先の決定 — whom and where a document about a 宛名 is sent (issue 12 §4). Every document (notices,
督促状, 催告書, reminders) asks ``addressee_for`` rather than reading an address itself.

The first rule that finds someone decides (docs/architecture.md, "The addressee rule"):

1. a current 納税管理人 of the taxpayer for the tax item, else for every item (``00``), valid on the day
   (地方税法300条, 355条: the manager receives the documents in the taxpayer's place);
2. for a deceased taxpayer (死亡日 on or before the day), the current 相続人代表者 (地方税法9条の2);
3. for a co-ownership (宛名 of kind 共有), the current representative member (代表者) of the latest
   課税年度 up to the day's fiscal year (or of the year asked for);
4. a current 送付先 valid on the day: for a vehicle, that vehicle's (only when asked for it), then the
   tax item's, then every item's (``00``); a contact record (送付先区分 99) is not an address;
5. the 送付先 kept on the 宛名 itself (``Taxpayer.mailing_address``, entered by staff before issue 12);
6. the registered address (住民登録地・所在地).

Rules 1–3 send to another 宛名, at that person's registered address. ``protected_taxpayer_id`` names
the 宛名 whose 支援措置 (DV etc.) protects the address returned — the addressee's own when it is another
person — so that a caller refuses to print a protected address (``Taxpayer.is_protected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.db.models import Q

from choshu.formats.related_csv import ALL_ITEMS, PHONE_ONLY_KIND
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    RepresentativeRole,
    Taxpayer,
    TaxpayerKind,
)


class Via(models.TextChoices):
    """Which rule chose the addressee (the label is what a screen or a print log shows)."""

    TAX_MANAGER = "tax_manager", "納税管理人"
    HEIR_REPRESENTATIVE = "heir_representative", "相続人代表者"
    CO_OWNER_REPRESENTATIVE = "co_owner_representative", "共有代表者"
    MAILING_VEHICLE = "mailing_vehicle", "送付先（車両別）"
    MAILING_ITEM = "mailing_item", "送付先（税目別）"
    MAILING_ALL = "mailing_all", "送付先（全税目）"
    TAXPAYER_MAILING = "taxpayer_mailing", "送付先（宛名）"
    REGISTERED = "registered", "住所（住民登録地・所在地）"


@dataclass(frozen=True)
class Addressee:
    """Whom and where to send one document about ``taxpayer_id``."""

    taxpayer_id: int  # whose document it is
    name: str
    postal_code: str
    address: str
    address_extra: str  # 方書
    rule: Via
    protected_taxpayer_id: int  # whose 支援措置 protects this address
    addressee_taxpayer_id: int | None = None  # the other 宛名 receiving it (rules 1–3)
    record_id: int | None = None  # the 送付先 / 代理人 / 相続人 / 共有者 row that decided it

    @property
    def via(self) -> str:
        """The rule in Japanese (納税管理人, 相続人代表者, 送付先（税目別） …)."""
        return str(self.rule.label)


def fiscal_year(on: date) -> int:
    """年度 of a day: April to March."""
    return on.year if on.month >= 4 else on.year - 1


def _valid_on(start: str, end: str, on: date) -> Q:
    return (Q(**{f"{start}__isnull": True}) | Q(**{f"{start}__lte": on})) & (
        Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": on})
    )


def _person(taxpayer: Taxpayer, other: Taxpayer, rule: Via, record_id: int) -> Addressee:
    return Addressee(
        taxpayer_id=taxpayer.pk,
        name=other.name,
        postal_code=other.postal_code,
        address=other.address,
        address_extra=other.address_extra,
        rule=rule,
        protected_taxpayer_id=other.pk,
        addressee_taxpayer_id=other.pk,
        record_id=record_id,
    )


def tax_manager(taxpayer: Taxpayer, tax_item: str, on: date) -> Representative | None:
    """The current 納税管理人 for the item (before one for every item) valid on ``on``."""
    found = (
        Representative.objects.filter(
            municipality_id=taxpayer.municipality_id,
            taxpayer=taxpayer,
            is_current=True,
            role=RepresentativeRole.TAX_MANAGER,
            tax_item__in={tax_item, ALL_ITEMS},
        )
        .filter(_valid_on("valid_from", "valid_until", on))
        .select_related("agent")
    )
    return min(found, key=lambda r: (r.tax_item == ALL_ITEMS, -r.valid_from.toordinal(), -r.pk), default=None)


def heir_representative(taxpayer: Taxpayer, on: date) -> Heir | None:
    if taxpayer.deceased_on is None or taxpayer.deceased_on > on:
        return None
    return (
        Heir.objects.filter(
            municipality_id=taxpayer.municipality_id,
            deceased=taxpayer,
            is_current=True,
            is_representative=True,
        )
        .filter(Q(since__isnull=True) | Q(since__lte=on))
        .select_related("heir")
        .order_by("-pk")
        .first()
    )


def co_owner_representative(taxpayer: Taxpayer, on: date, levy_year: int | None = None) -> CoOwner | None:
    if taxpayer.kind != TaxpayerKind.CO_OWNERSHIP:
        return None
    found = CoOwner.objects.filter(
        municipality_id=taxpayer.municipality_id, ownership=taxpayer, is_current=True, is_representative=True
    )
    found = found.filter(levy_year=levy_year) if levy_year else found.filter(levy_year__lte=fiscal_year(on))
    return found.select_related("member").order_by("-levy_year", "-pk").first()


def mailing_address(
    taxpayer: Taxpayer, tax_item: str, on: date, vehicle_no: str = ""
) -> tuple[MailingAddress, Via] | None:
    """The current 送付先 valid on ``on``: the vehicle's (if asked), the item's, then every item's."""
    wanted = [(tax_item, vehicle_no, Via.MAILING_VEHICLE)] if vehicle_no and tax_item != ALL_ITEMS else []
    if tax_item != ALL_ITEMS:
        wanted.append((tax_item, "", Via.MAILING_ITEM))
    wanted.append((ALL_ITEMS, "", Via.MAILING_ALL))
    rows = (
        MailingAddress.objects.filter(
            municipality_id=taxpayer.municipality_id,
            taxpayer=taxpayer,
            is_current=True,
            tax_item__in={item for item, _, _ in wanted},
            vehicle_no__in={vehicle for _, vehicle, _ in wanted},
        )
        .exclude(kind=PHONE_ONLY_KIND)
        .exclude(address="")
        .filter(_valid_on("valid_from", "valid_until", on))
        .order_by("-pk")
    )
    by_key: dict[tuple[str, str], MailingAddress] = {}
    for row in rows:
        by_key.setdefault((row.tax_item, row.vehicle_no), row)
    for item, vehicle, rule in wanted:
        if (item, vehicle) in by_key:
            return by_key[(item, vehicle)], rule
    return None


def addressee_for(
    taxpayer: Taxpayer, tax_item: str, on: date, *, vehicle_no: str = "", levy_year: int | None = None
) -> Addressee:
    """Whom and where to send a document of ``tax_item`` (``00`` = not of one item) about ``taxpayer``
    on ``on`` (module docstring: the rules in order). ``vehicle_no`` asks for one vehicle's 送付先
    (軽自動車税); ``levy_year`` for a co-ownership's representative of that 課税年度."""
    manager = tax_manager(taxpayer, tax_item, on)
    if manager is not None:
        return _person(taxpayer, manager.agent, Via.TAX_MANAGER, manager.pk)
    heir = heir_representative(taxpayer, on)
    if heir is not None:
        return _person(taxpayer, heir.heir, Via.HEIR_REPRESENTATIVE, heir.pk)
    member = co_owner_representative(taxpayer, on, levy_year)
    if member is not None:
        return _person(taxpayer, member.member, Via.CO_OWNER_REPRESENTATIVE, member.pk)
    found = mailing_address(taxpayer, tax_item, on, vehicle_no)
    if found is not None:
        record, rule = found
        return Addressee(
            taxpayer_id=taxpayer.pk,
            name=record.name or taxpayer.name,
            postal_code=record.postal_code,
            address=record.address,
            address_extra=record.address_extra,
            rule=rule,
            protected_taxpayer_id=taxpayer.pk,
            record_id=record.pk,
        )
    if taxpayer.mailing_address:
        return Addressee(
            taxpayer_id=taxpayer.pk,
            name=taxpayer.name,
            postal_code=taxpayer.mailing_postal_code,
            address=taxpayer.mailing_address,
            address_extra="",
            rule=Via.TAXPAYER_MAILING,
            protected_taxpayer_id=taxpayer.pk,
        )
    return Addressee(
        taxpayer_id=taxpayer.pk,
        name=taxpayer.name,
        postal_code=taxpayer.postal_code,
        address=taxpayer.address,
        address_extra=taxpayer.address_extra,
        rule=Via.REGISTERED,
        protected_taxpayer_id=taxpayer.pk,
    )
