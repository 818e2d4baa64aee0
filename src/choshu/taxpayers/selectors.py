"""Reads of 宛名 for staff screens: the permission-checked fetch, the search, 名寄せ links and 履歴
(the person overview over levies and payments is ``operations.overview``).

Every function takes the acting user and only ever sees the user's own municipality. A person of
another municipality is "not found" (404), never "forbidden", so the answer reveals nothing.
"""

from __future__ import annotations

import operator
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.core.models import PREFECTURES, Municipality
from choshu.levies.models import Levy
from choshu.taxpayers.models import IdentityLink, Taxpayer, TaxpayerRevision
from choshu.taxpayers.normalize import address_key, kana_key, name_key, phone_key
from choshu.taxpayers.numbering import taxpayer_nos_for_search
from choshu.taxpayers.protection import may_see_protected_address, not_active_on

# Upper bound for a prefix range on SQLite: every string starting with p sorts before p + U+10FFFF.
_MAX_CHAR = "\U0010ffff"


# ---------------------------------------------------------------------------------------------------
# The one permission-checked fetch
# ---------------------------------------------------------------------------------------------------


def require_right(user: User, right: str) -> Municipality:
    """The user's municipality, or 403 when the user may not use this function."""
    if not has_right(user, right) or user.municipality is None:
        raise PermissionDenied("この機能を利用する権限がありません。")
    return user.municipality


def taxpayer_get_for_user(*, user: User, pk: int, right: str = Right.TAXPAYER_VIEW) -> Taxpayer:
    """The 宛名 ``pk`` if the user may see it: 403 without the right, 404 if missing or of another city."""
    municipality = require_right(user, right)
    taxpayer = Taxpayer.objects.filter(municipality=municipality, pk=pk).defer("my_number_enc").first()
    if taxpayer is None:
        raise Http404("指定された宛名は見つかりません。")
    return taxpayer


# ---------------------------------------------------------------------------------------------------
# 宛名検索
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """What the clerk typed. Empty fields are ignored; filled fields must all match (AND)."""

    taxpayer_no: str = ""
    kana: str = ""
    name: str = ""
    address: str = ""
    phone: str = ""
    notice_no: str = ""
    birth_date: str = ""  # ISO (the form reads 西暦 or 和暦 with ``formats.dates.parse_date``)
    corporate_number: str = ""  # 13 digits, check digit valid (the form checks it)

    def is_empty(self) -> bool:
        return not any(self.as_dict().values())

    def as_dict(self) -> dict[str, str]:
        """The filled fields only (what the access log records as the search condition)."""
        values = {
            "taxpayer_no": self.taxpayer_no, "kana": self.kana, "name": self.name,
            "address": self.address, "phone": self.phone, "notice_no": self.notice_no,
            "birth_date": self.birth_date, "corporate_number": self.corporate_number,
        }  # fmt: skip
        return {k: v for k, v in values.items() if v.strip()}


@dataclass(frozen=True)
class SearchResult:
    """At most ``limit`` taxpayers, ordered by kana; ``has_more`` when the clerk should narrow the search.

    ``partial`` is set when more than ``PROBE_LIMIT`` people match a search without a kana condition:
    the list then holds the first in kana order of a sample, not of every match.
    """

    taxpayers: list[Taxpayer]
    has_more: bool
    limit: int
    partial: bool = False

    @property
    def ids(self) -> list[int]:
        return [tp.pk for tp in self.taxpayers]


# A search matching more people than this is too broad to sort in full within the response time.
PROBE_LIMIT = 2000


def _prefix(column: str, prefix: str) -> Q:
    """Index-friendly prefix match: ``column`` starts with ``prefix``.

    The range ``p <= col < p + U+10FFFF`` is what lets a B-tree index answer a prefix on both
    databases (SQLite's LIKE never uses an index; PostgreSQL's does only with the C collation).
    It assumes code-point order, which SQLite has and the PostgreSQL database is created with
    (C / C.UTF-8). On PostgreSQL ``LIKE 'p%'`` is added: it states the exact meaning and can use
    the ``varchar_pattern_ops`` indexes of migration 0002.
    """
    condition = Q(**{f"{column}__gte": prefix, f"{column}__lt": prefix + _MAX_CHAR})
    if connection.vendor == "postgresql":
        condition &= Q(**{f"{column}__startswith": prefix})
    return condition


def address_prefixes(municipality: Municipality, text: str) -> list[str]:
    """The address prefixes to look for: as typed, and inside this city when no prefecture was typed.

    A clerk types 「本町4」 or 「川口市本町4」 and means 「埼玉県川口市本町4…」.
    """
    key = address_key(text)
    prefixes = [key]
    if not key.startswith(tuple(PREFECTURES.values())):
        city = address_key(municipality.prefecture + municipality.name)
        if key.startswith(address_key(municipality.name)):
            prefixes.append(address_key(municipality.prefecture) + key)
        else:
            prefixes.append(city + key)
    return prefixes


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _search_conditions(
    municipality: Municipality, query: SearchQuery, hide_protected_on: date | None = None
) -> list[Q]:
    """The search as alternatives (one per address prefix): a person matching any of them is found.

    Alternatives rather than one ``OR`` so that each is answered by a plain index range, whatever
    statistics the database has. ``hide_protected_on``: a search by address does not find the people
    protected (支援措置) on that day — for a user who may not see their address, a hit would confirm
    where they live (``taxpayers.protection``).
    """
    condition = Q(municipality=municipality)
    if query.taxpayer_no.strip():
        condition &= Q(taxpayer_no__in=taxpayer_nos_for_search(municipality, _nfkc(query.taxpayer_no)))
    if query.birth_date.strip():
        condition &= Q(birth_date=date.fromisoformat(query.birth_date))
    if query.corporate_number.strip():
        # 法人番号 are public (国税庁法人番号公表サイト) and kept in clear: an exact match on its index
        condition &= Q(corporate_number=query.corporate_number)
    if query.kana.strip():
        condition &= _prefix("search_kana", kana_key(query.kana))
    if query.name.strip():
        condition &= _prefix("search_name", name_key(query.name))
    if query.phone.strip():
        condition &= Q(search_phone=phone_key(query.phone))
    if query.notice_no.strip():
        levies = Levy.objects.filter(municipality=municipality, notice_no=_nfkc(query.notice_no))
        condition &= Q(pk__in=levies.values("taxpayer_id"))
    if query.address.strip():
        if hide_protected_on is not None:
            condition &= not_active_on(hide_protected_on)
        return [
            condition & _prefix("search_address", p) for p in address_prefixes(municipality, query.address)
        ]
    return [condition]


def search_queryset(
    municipality: Municipality, query: SearchQuery, hide_protected_on: date | None = None
) -> QuerySet[Taxpayer]:
    """Every taxpayer matching ``query``, unordered."""
    conditions = _search_conditions(municipality, query, hide_protected_on)
    return Taxpayer.objects.filter(reduce(operator.or_, conditions)).defer("my_number_enc")


def _probe(
    municipality: Municipality, query: SearchQuery, limit: int, hide_protected_on: date | None
) -> list[int]:
    """Up to ``limit`` ids of matching taxpayers, unordered, so each index answers with its cheapest plan."""
    ids: dict[int, None] = {}
    for condition in _search_conditions(municipality, query, hide_protected_on):
        ids.update(dict.fromkeys(Taxpayer.objects.filter(condition).values_list("pk", flat=True)[:limit]))
    return list(ids)[:limit]


def _in_result_order(queryset: QuerySet[Taxpayer]) -> QuerySet[Taxpayer]:
    return queryset.order_by("search_kana", "taxpayer_no")


def taxpayer_search(*, user: User, query: SearchQuery, limit: int = 50) -> SearchResult:
    """宛名検索: the user's municipality only, prefix and exact matches that the indexes answer quickly.

    First the matches are counted up to ``PROBE_LIMIT`` without ordering, so the database uses the
    index of the most selective field. Few matches (the usual case) are then sorted exactly. Many
    matches are ordered by the kana index when kana was typed; otherwise a sample is shown and the
    clerk is asked to narrow the search. Sorting a whole city on each keystroke is never attempted.
    """
    municipality = require_right(user, Right.TAXPAYER_SEARCH)
    if query.is_empty():
        return SearchResult(taxpayers=[], has_more=False, limit=limit)
    hide = None if may_see_protected_address(user) else timezone.localdate()
    probe = _probe(municipality, query, PROBE_LIMIT + 1, hide)
    partial = len(probe) > PROBE_LIMIT and not query.kana.strip()
    if len(probe) <= PROBE_LIMIT or partial:
        ordered = _in_result_order(Taxpayer.objects.filter(pk__in=probe[:PROBE_LIMIT]).defer("my_number_enc"))
    else:
        # kana typed: the kana index yields the rows in order
        ordered = _in_result_order(search_queryset(municipality, query, hide))
    rows = list(ordered[: limit + 1])
    return SearchResult(
        taxpayers=rows[:limit], has_more=len(rows) > limit or partial, limit=limit, partial=partial
    )


# ---------------------------------------------------------------------------------------------------
# 個人別収納状況照会
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedIdentity:
    """A 宛名 linked to the person by 名寄せ, in either direction."""

    taxpayer: Taxpayer
    reason: str


@dataclass(frozen=True)
class RevisionRow:
    """One line of 履歴: revision number, which attributes changed, who, when and why."""

    revision: int
    changed_fields: list[str]
    changed_at: datetime
    changed_by: str
    reason: str


def linked_identities(*, municipality: Municipality, taxpayer: Taxpayer) -> list[LinkedIdentity]:
    """名寄せ links of ``taxpayer`` in both directions, restricted to the same municipality."""
    links = (
        IdentityLink.objects.filter(municipality=municipality)
        .filter(Q(taxpayer=taxpayer) | Q(linked=taxpayer))
        .select_related("taxpayer", "linked")
        .order_by("pk")
    )
    found: dict[int, LinkedIdentity] = {}
    for link in links:
        other = link.linked if link.taxpayer_id == taxpayer.pk else link.taxpayer
        if other.municipality_id == municipality.pk and other.pk != taxpayer.pk:
            found.setdefault(other.pk, LinkedIdentity(taxpayer=other, reason=link.reason))
    return list(found.values())


def linked_taxpayer_ids(*, municipality: Municipality, taxpayer_ids: list[int]) -> set[int]:
    """Which of ``taxpayer_ids`` have a 名寄せ link (in either direction): one query, for a list's flag."""
    if not taxpayer_ids:
        return set()
    links = IdentityLink.objects.filter(municipality=municipality).filter(
        Q(taxpayer_id__in=taxpayer_ids) | Q(linked_id__in=taxpayer_ids)
    )
    wanted = set(taxpayer_ids)
    return {pk for pair in links.values_list("taxpayer_id", "linked_id") for pk in pair if pk in wanted}


def revision_rows(taxpayer: Taxpayer) -> list[RevisionRow]:
    revisions = (
        TaxpayerRevision.objects.filter(taxpayer=taxpayer).select_related("changed_by").order_by("-revision")
    )
    return [
        RevisionRow(
            revision=rev.revision,
            changed_fields=[field_label(name) for name in rev.changed_fields],
            changed_at=rev.changed_at,
            changed_by=str(rev.changed_by) if rev.changed_by else ("一括処理" if rev.job_id else ""),
            reason=rev.reason,
        )
        for rev in revisions
    ]


_SPECIAL_LABELS = {"created": "新規登録", "my_number": "個人番号", "my_number_registered": "個人番号"}


def field_label(name: str) -> str:
    """The Japanese name of a 宛名 attribute as shown in 履歴."""
    if name in _SPECIAL_LABELS:
        return _SPECIAL_LABELS[name]
    try:
        return str(getattr(Taxpayer._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # an attribute that no longer exists: show its code rather than fail
        return name
