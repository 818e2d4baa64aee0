"""Shared by the call-centre commands."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import CommandError

from choshu.accounts.models import User
from choshu.core.commands import EXIT_REFUSED


def refused(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_REFUSED)


def operator(options: dict[str, Any], municipality: Any) -> User | None:
    if not options.get("operator"):
        return None
    actor = User.objects.filter(
        username=options["operator"], municipality=municipality, is_active=True
    ).first()
    if actor is None:
        raise refused(f"利用者 {options['operator']} は見つからないか、利用停止中です")
    return actor


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise refused(f"{option} の日付が不正です: {text}（YYYY-MM-DD で指定してください）") from exc
