"""Template filters for staff screens: ``{{ amount|yen }}``, ``{{ birth_date|wareki }}``,
``{{ due_date|wareki_short }}`` (R8.6.30, for dense tables)."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.html import format_html

from choshu.core import labels
from choshu.formats import display

register = template.Library()


@register.filter
def yen(amount: int | None) -> str:
    return display.yen(amount)


@register.filter
def wareki(day: date | None) -> str:
    return display.wareki(day)


@register.filter
def wareki_short(day: date | None) -> str:
    return display.wareki_short(day)


@register.filter
def key_label(key: str) -> str:
    """The Japanese name of an internal key (``slip_no`` → 納付番号): ``core.labels``."""
    return labels.key_label(str(key))


@register.filter
def value_label(value: object) -> str:
    """The Japanese name of a coded value (``eltax`` → 地方税共通納税); other text unchanged."""
    return labels.value_label(str(value))


@register.filter
def reference(text: str) -> str:
    """A payment's reference as a clerk reads it (``display.payment_reference``)."""
    return display.payment_reference(str(text or ""))


@register.filter
def record_value(value: object) -> str:
    """A value of a received record, a stored detail or a report cell: ISO dates and timestamps as
    Y/m/d (H:M), codes named."""
    return labels.value_label(display.slashed_dates(str(value)))


@register.simple_tag
def short_date(day: date | None, empty: str = "－") -> str:
    """A date in a dense table: 「R8.6.30」 with the western date on hover and for screen readers'
    ``datetime`` (``<time datetime="2026-06-30" title="2026/06/30">R8.6.30</time>``)."""
    if day is None:
        return empty
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        day.isoformat(),
        f"{day:%Y/%m/%d}",
        display.wareki_short(day),
    )


@register.simple_tag
def full_date(day: date | None, empty: str = "－") -> str:
    """A date where a clerk needs both: 「令和8年6月30日（2026/06/30）」."""
    if day is None:
        return empty
    return f"{display.wareki(day)}（{day:%Y/%m/%d}）"
