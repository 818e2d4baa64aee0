"""Template filters for staff screens: ``{{ amount|yen }}``, ``{{ birth_date|wareki }}``."""

from __future__ import annotations

from datetime import date

from django import template

from choshu.web import formatting

register = template.Library()


@register.filter
def yen(amount: int | None) -> str:
    return formatting.yen(amount)


@register.filter
def wareki(day: date | None) -> str:
    return formatting.wareki(day)
