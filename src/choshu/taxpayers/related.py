"""Reads of the records about a 宛名 for the person page (issue 12 §4): its 送付先, 代理人・納税管理人 in
both directions, 共有 (members of a co-ownership, or the co-ownerships a person belongs to), 相続人 (of
a deceased person, or the estates a person inherits from) and 特別徴収 (the employers withholding a
person's tax, or an employer's own designation). Current records only; the caller checks the right
to see the person (``taxpayer_get_for_user``) and writes the access log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from choshu.taxpayers.models import (
    CoOwner,
    Heir,
    MailingAddress,
    Representative,
    SpecialCollectionEmployee,
    SpecialCollector,
    Taxpayer,
)


@dataclass(frozen=True)
class CollectorRole:
    """The person as 特別徴収義務者: its current designation and how many employees it withholds for."""

    collector: SpecialCollector
    employees: int


@dataclass
class RelatedRecords:
    mailing: list[MailingAddress] = field(default_factory=list)
    representatives: list[Representative] = field(default_factory=list)  # of this person
    represents: list[Representative] = field(default_factory=list)  # this person as agent
    members: list[CoOwner] = field(default_factory=list)  # of this co-ownership
    memberships: list[CoOwner] = field(default_factory=list)  # this person in co-ownerships
    heirs: list[Heir] = field(default_factory=list)  # of this deceased person
    inheritances: list[Heir] = field(default_factory=list)  # this person as heir
    employers: list[SpecialCollectionEmployee] = field(default_factory=list)  # withholding for this person
    collector_roles: list[CollectorRole] = field(default_factory=list)  # this person as obligor

    @property
    def people(self) -> list[Taxpayer]:
        """Every other 宛名 the records name (their names are shown: the access log lists them)."""
        found: dict[int, Taxpayer] = {}
        for rep in self.representatives:
            found[rep.agent_id] = rep.agent
        for rep in self.represents:
            found[rep.taxpayer_id] = rep.taxpayer
        for co in self.members:
            found[co.member_id] = co.member
        for co in self.memberships:
            found[co.ownership_id] = co.ownership
        for heir in self.heirs:
            found[heir.heir_id] = heir.heir
        for heir in self.inheritances:
            found[heir.deceased_id] = heir.deceased
        for link in self.employers:
            found[link.collector.taxpayer_id] = link.collector.taxpayer
        return list(found.values())


def related_records(taxpayer: Taxpayer) -> RelatedRecords:
    """The current related records of ``taxpayer`` (of its own municipality only)."""
    m = taxpayer.municipality_id
    current = {"municipality_id": m, "is_current": True}
    roles = SpecialCollector.objects.filter(taxpayer=taxpayer, **current).order_by("designation_no")
    return RelatedRecords(
        mailing=list(
            MailingAddress.objects.filter(taxpayer=taxpayer, **current).order_by("tax_item", "vehicle_no")
        ),
        representatives=list(
            Representative.objects.filter(taxpayer=taxpayer, **current)
            .select_related("agent")
            .defer("agent__my_number_enc")
            .order_by("tax_item", "-valid_from")
        ),
        represents=list(
            Representative.objects.filter(agent=taxpayer, **current)
            .select_related("taxpayer")
            .defer("taxpayer__my_number_enc")
            .order_by("taxpayer__taxpayer_no", "tax_item")
        ),
        members=list(
            CoOwner.objects.filter(ownership=taxpayer, **current)
            .select_related("member")
            .defer("member__my_number_enc")
            .order_by("-levy_year", "asset_group_no", "member_seq")
        ),
        memberships=list(
            CoOwner.objects.filter(member=taxpayer, **current)
            .select_related("ownership")
            .defer("ownership__my_number_enc")
            .order_by("-levy_year", "ownership__taxpayer_no")
        ),
        heirs=list(
            Heir.objects.filter(deceased=taxpayer, **current)
            .select_related("heir")
            .defer("heir__my_number_enc")
            .order_by("seq")
        ),
        inheritances=list(
            Heir.objects.filter(heir=taxpayer, **current)
            .select_related("deceased")
            .defer("deceased__my_number_enc")
            .order_by("deceased__taxpayer_no")
        ),
        employers=list(
            SpecialCollectionEmployee.objects.filter(employee=taxpayer, **current)
            .select_related("collector", "collector__taxpayer")
            .defer("collector__taxpayer__my_number_enc")
            .order_by("-levy_year", "collector__designation_no")
        ),
        collector_roles=[CollectorRole(collector=c, employees=_employee_count(c)) for c in roles],
    )


def _employee_count(collector: SpecialCollector) -> int:
    """Employees currently withheld for under this 指定番号 (their rows may point at older revisions)."""
    return (
        SpecialCollectionEmployee.objects.filter(
            municipality_id=collector.municipality_id,
            is_current=True,
            collector__designation_no=collector.designation_no,
            end_date__isnull=True,
        )
        .values("employee_id")
        .distinct()
        .count()
    )
