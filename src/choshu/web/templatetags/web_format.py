"""Template filters for staff screens: ``{{ amount|yen }}``, ``{{ birth_date|wareki }}``."""

from __future__ import annotations

from datetime import date

from django import template

from choshu.formats import display

register = template.Library()


@register.filter
def yen(amount: int | None) -> str:
    return display.yen(amount)


@register.filter
def wareki(day: date | None) -> str:
    return display.wareki(day)
