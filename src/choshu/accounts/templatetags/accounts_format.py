"""Template filters of the rights screens: ``{{ change.right|right_label }}``."""

from __future__ import annotations

from django import template

from choshu.accounts.permissions import Right

register = template.Library()


@register.filter
def right_label(code: str) -> str:
    """The Japanese name of a right; an unknown code is shown as it is."""
    return str(Right(code).label) if code in Right.values else code
