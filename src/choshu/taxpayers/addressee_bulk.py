"""宛先の決定 for many documents at once: ``addressee_for``'s rules, set-based (issue 15 §4).

``addressees_for(pairs, on)`` answers, for every (宛名, tax item) of a batch slice, exactly what
``taxpayers.addressee.addressee_for(taxpayer, tax_item, on)`` answers for one — the same rules in the
same order (that module's docstring) — with a fixed number of queries for the whole slice (at most four:
納税管理人, 相続人代表者, 共有代表者, 送付先), never one per person. A print file of 150,000 督促状
reads its addressees a slice at a time with it. No vehicle (軽自動車税の車両別送付先) and no 課税年度 is
asked for: a 督促状 is about one tax item of the person.

``taxpayers/tests/test_addressee_bulk.py`` checks it against ``addressee_for`` on every rule; a change
of the rules there must be made here too (the test fails otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from django.db.models import Q

from choshu.formats.related_csv import ALL_ITEMS, PHONE_ONLY_KIND
from choshu.taxpayers.addressee import Addressee, Via, _valid_on, fiscal_year
from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    RepresentativeRole,
    Taxpayer,
    TaxpayerKind,
)


class Person(Protocol):
    """What the rules read of the 宛名 a document is about: a ``Taxpayer``, or a light row of these
    columns (a print file reads them with its notices, without making model instances)."""

    @property
    def pk(self) -> Any: ...
    @property
    def municipality_id(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def postal_code(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def address_extra(self) -> str: ...
    @property
    def mailing_postal_code(self) -> str: ...
    @property
    def mailing_address(self) -> str: ...
    @property
    def deceased_on(self) -> date | None: ...


def addressees_for(pairs: Iterable[tuple[Person, str]], on: date) -> dict[tuple[int, str], Addressee]:
    """The addressee of a document of each ``(taxpayer, tax_item)`` on ``on``, keyed by
    ``(taxpayer.pk, tax_item)``; the taxpayers are passed loaded (a slice of one municipality)."""
    wanted = {(tp.pk, item): tp for tp, item in pairs}
    if not wanted:
        return {}
    people = {tp.pk: tp for tp in wanted.values()}
    ids = sorted(people)
    items = {item for _, item in wanted} | {ALL_ITEMS}
    municipality_id = next(iter(people.values())).municipality_id

    managers: dict[int, list[Representative]] = {}
    for r in (
        Representative.objects.filter(
            municipality_id=municipality_id,
            taxpayer_id__in=ids,
            is_current=True,
            role=RepresentativeRole.TAX_MANAGER,
            tax_item__in=items,
        )
        .filter(_valid_on("valid_from", "valid_until", on))
        .select_related("agent")
    ):
        managers.setdefault(r.taxpayer_id, []).append(r)

    deceased = [pk for pk, tp in people.items() if tp.deceased_on is not None and tp.deceased_on <= on]
    heirs: dict[int, Heir] = {}
    if deceased:
        for h in (
            Heir.objects.filter(
                municipality_id=municipality_id,
                deceased_id__in=deceased,
                is_current=True,
                is_representative=True,
            )
            .filter(Q(since__isnull=True) | Q(since__lte=on))
            .select_related("heir")
        ):
            if h.deceased_id not in heirs or h.pk > heirs[h.deceased_id].pk:
                heirs[h.deceased_id] = h

    ownerships = [pk for pk, tp in people.items() if tp.kind == TaxpayerKind.CO_OWNERSHIP]
    members: dict[int, CoOwner] = {}
    if ownerships:
        for m in CoOwner.objects.filter(
            municipality_id=municipality_id,
            ownership_id__in=ownerships,
            is_current=True,
            is_representative=True,
            levy_year__lte=fiscal_year(on),
        ).select_related("member"):
            best = members.get(m.ownership_id)
            if best is None or (m.levy_year, m.pk) > (best.levy_year, best.pk):
                members[m.ownership_id] = m

    mailing: dict[tuple[int, str], MailingAddress] = {}
    for row in (
        MailingAddress.objects.filter(
            municipality_id=municipality_id,
            taxpayer_id__in=ids,
            is_current=True,
            tax_item__in=items,
            vehicle_no="",
        )
        .exclude(kind=PHONE_ONLY_KIND)
        .exclude(address="")
        .filter(_valid_on("valid_from", "valid_until", on))
        .order_by("-pk")
    ):
        mailing.setdefault((row.taxpayer_id, row.tax_item), row)

    out: dict[tuple[int, str], Addressee] = {}
    for (pk, item), tp in wanted.items():
        out[(pk, item)] = _decide(tp, item, managers.get(pk, []), heirs.get(pk), members.get(pk), mailing)
    return out


def _other(tp: Person, other: Taxpayer, rule: Via, record_id: int) -> Addressee:
    """Rules 1–3: another 宛名 receives it at its registered address (``addressee._person``)."""
    return Addressee(
        taxpayer_id=tp.pk,
        name=other.name,
        postal_code=other.postal_code,
        address=other.address,
        address_extra=other.address_extra,
        rule=rule,
        protected_taxpayer_id=other.pk,
        addressee_taxpayer_id=other.pk,
        record_id=record_id,
    )


def _decide(
    tp: Person,
    item: str,
    managers: list[Representative],
    heir: Heir | None,
    member: CoOwner | None,
    mailing: dict[tuple[int, str], MailingAddress],
) -> Addressee:
    """``addressee_for``'s rules 1–6 on what was read for the slice."""
    fitting = [r for r in managers if r.tax_item in (item, ALL_ITEMS)]
    manager = min(
        fitting, key=lambda r: (r.tax_item == ALL_ITEMS, -r.valid_from.toordinal(), -r.pk), default=None
    )
    if manager is not None:
        return _other(tp, manager.agent, Via.TAX_MANAGER, manager.pk)
    if heir is not None:
        return _other(tp, heir.heir, Via.HEIR_REPRESENTATIVE, heir.pk)
    if member is not None:
        return _other(tp, member.member, Via.CO_OWNER_REPRESENTATIVE, member.pk)
    candidates = [(item, Via.MAILING_ITEM)] if item != ALL_ITEMS else []
    candidates.append((ALL_ITEMS, Via.MAILING_ALL))
    for key, rule in candidates:
        record = mailing.get((tp.pk, key))
        if record is not None:
            return Addressee(
                taxpayer_id=tp.pk,
                name=record.name or tp.name,
                postal_code=record.postal_code,
                address=record.address,
                address_extra=record.address_extra,
                rule=rule,
                protected_taxpayer_id=tp.pk,
                record_id=record.pk,
            )
    if tp.mailing_address:
        return Addressee(
            taxpayer_id=tp.pk,
            name=tp.name,
            postal_code=tp.mailing_postal_code,
            address=tp.mailing_address,
            address_extra="",
            rule=Via.TAXPAYER_MAILING,
            protected_taxpayer_id=tp.pk,
        )
    return Addressee(
        taxpayer_id=tp.pk,
        name=tp.name,
        postal_code=tp.postal_code,
        address=tp.address,
        address_extra=tp.address_extra,
        rule=Via.REGISTERED,
        protected_taxpayer_id=tp.pk,
    )
