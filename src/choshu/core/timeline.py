"""The case file's timeline (issue 18 §2): one list of events about a person, newest first, built from
providers that the apps owning the data register.

A provider is a function ``(municipality_id, taxpayer_id, since) -> Iterable[TimelineEvent]``
registered under a kind (``register_provider("payment", "収納", fn)``). It lives in core, the layer
every app can import, so that an app below ``cases`` (dunning, receipts, refunds, debits) or a later
module of ``cases`` itself (plans, relief, enforcement) adds its events by registering a provider in
its ``AppConfig.ready`` — ``cases`` only reads the registry and never imports upward. The case file
asks every provider (or only those chosen by the filter) and sorts the union by time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

__all__ = ["TimelineEvent", "Provider", "register_provider", "providers", "provider_labels"]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event: when (``at``; ``on`` for an event of a day only), its kind (a registered key), a
    one-line title and optional detail, an amount in yen and a link (a URL the user may open)."""

    at: datetime | date
    kind: str
    title: str
    detail: str = ""
    amount: int | None = None
    url: str = ""
    actor: str = ""

    @property
    def sort_key(self) -> tuple[date, str]:
        """In local time; events of a day only sort as the end of that day (after its timed events)."""
        if isinstance(self.at, datetime):
            at = timezone.localtime(self.at) if timezone.is_aware(self.at) else self.at
            return (at.date(), at.strftime("%H:%M:%S.%f"))
        return (self.at, "99")


Provider = Callable[[int, int, date | None], Iterable[TimelineEvent]]


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    label: str
    fn: Provider
    order: int


_REGISTRY: dict[str, _Entry] = {}


def register_provider(kind: str, label: str, fn: Provider, *, order: int = 100) -> None:
    """Register (or replace, on a second ``ready``) the provider of events of ``kind``; ``label`` is the
    filter's Japanese name, ``order`` its place in the filter."""
    _REGISTRY[kind] = _Entry(kind, label, fn, order)


def providers(kinds: Iterable[str] | None = None) -> list[tuple[str, str, Provider]]:
    """The registered providers (of ``kinds`` only when given), in filter order."""
    chosen = set(kinds) if kinds is not None else None
    return [
        (e.kind, e.label, e.fn)
        for e in sorted(_REGISTRY.values(), key=lambda e: (e.order, e.kind))
        if chosen is None or e.kind in chosen
    ]


def provider_labels() -> list[tuple[str, str]]:
    """(kind, label) of every provider, in filter order — the timeline filter's choices."""
    return [(k, label) for k, label, _ in providers()]
