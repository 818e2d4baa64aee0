"""Template side of 支援措置 (``taxpayers.protection``): the warning and the masked address, for any
screen that shows a 宛名. The user is the request's; the day is today.

    {% load protection %}
    {% protection_banner taxpayer %}                    the red warning (nothing when not protected)
    {% protection_banner taxpayer compact=True %}       the same, for a row of a list
    {% shown_address taxpayer as addr %}                addr.address, addr.mailing_address, … (masked)
    {% shown_mailing_address row as m %}                a MailingAddress row (masked)
    {% shown_value taxpayer "address" value as v %}     one attribute, e.g. a correction's before/after
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from choshu.taxpayers import protection
from choshu.taxpayers.models import MailingAddress, Taxpayer

register = template.Library()


def _user(context: template.Context) -> Any:
    return getattr(context.get("request"), "user", None)


@register.inclusion_tag("taxpayers/_protection_banner.html", takes_context=True)
def protection_banner(context: template.Context, taxpayer: Taxpayer | None, compact: bool = False) -> dict:
    return {"banner": protection.banner(taxpayer, timezone.localdate(), _user(context)), "compact": compact}


@register.simple_tag(takes_context=True)
def shown_address(context: template.Context, taxpayer: Taxpayer) -> protection.ShownAddress:
    return protection.shown_address(taxpayer, user=_user(context), on=timezone.localdate())


@register.simple_tag(takes_context=True)
def shown_mailing_address(
    context: template.Context, row: MailingAddress, taxpayer: Taxpayer | None = None
) -> protection.ShownMailingAddress:
    return protection.shown_mailing_address(
        row, user=_user(context), on=timezone.localdate(), taxpayer=taxpayer
    )


@register.simple_tag(takes_context=True)
def shown_value(context: template.Context, taxpayer: Taxpayer | None, field: str, value: Any) -> Any:
    return protection.shown_value(taxpayer, field, value, user=_user(context), on=timezone.localdate())
