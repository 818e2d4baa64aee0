"""Login lockout (ログインの一時停止) that cannot be turned against staff.

django-axes counts failed logins per *user name and client address together*
(``AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]``): wrong passwords typed for the chief's
user name at one address lock only that address out, and the chief still signs in from their desk.
Each new lockout of the same user name and address within ``GROWTH_WINDOW`` doubles the cool-off
(``cool_off``; base ``CHOSHU_LOGIN_LOCKOUT_MINUTES``, capped at ``CHOSHU_LOGIN_LOCKOUT_MAX_HOURS``).
Every lockout is written to the audit log (``LOCKOUT_FUNCTION``); a section chief (the user-admin
right) unlocks from the 利用者と権限 screen, an operator with ``choshu unlock-user``; each unlock is
logged too (``UNLOCK_FUNCTION``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind, AuditLog, AuditSubjectType
from choshu.audit.services import audit_record, client_addr
from choshu.formats.fields import control_character_reason

LOCKOUT_FUNCTION = "ログイン一時停止"
UNLOCK_FUNCTION = "ログイン一時停止の解除"
GROWTH_WINDOW = timedelta(hours=24)
_MAX_USERNAME = 150


def _base() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "CHOSHU_LOGIN_LOCKOUT_MINUTES", 30)))


def _ceiling() -> timedelta:
    return timedelta(hours=int(getattr(settings, "CHOSHU_LOGIN_LOCKOUT_MAX_HOURS", 24)))


def _typed_username(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    credentials = getattr(request, "axes_credentials", None) or {}
    name = str(credentials.get("username") or request.POST.get("username", ""))[:_MAX_USERNAME]
    # No account's name holds a control character (every form refuses them), and PostgreSQL cannot
    # compare a JSON text holding NUL: such a name is no one's, and its cool-off is the base one.
    return "" if control_character_reason(name) else name


def recent_lockouts(username: str, address: str, now: datetime | None = None) -> int:
    """How many lockouts of this user name at this address the audit log holds for the last 24 hours."""
    since = (now or timezone.now()) - GROWTH_WINDOW
    return AuditLog.objects.filter(
        function=LOCKOUT_FUNCTION, at__gte=since, client_addr=address, detail__username=username
    ).count()


def cool_off_for(count: int) -> timedelta:
    """The cool-off of the ``count``-th lockout (1: the base, then doubled each time, capped)."""
    return min(_base() * (2 ** max(count - 1, 0)), _ceiling())


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """``AXES_COOLOFF_TIME``: the base for the first lockout, doubling with each repeat in 24 hours."""
    username = _typed_username(request)
    if request is None or not username:
        return _base()
    return cool_off_for(recent_lockouts(username, client_addr(request)))


def record_lockout(request: HttpRequest | None, username: str) -> None:
    """Receiver of axes' ``user_locked_out``: one audit record per new lockout (not per refused retry)."""
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return  # a retry while already locked: axes refused it before counting, nothing new happened
    username = str(username or "")[:_MAX_USERNAME]
    known = User.objects.filter(username=username).first() if username else None
    count = recent_lockouts(username, client_addr(request)) + 1
    audit_record(
        kind=AuditKind.LOGIN_FAILED,
        function=LOCKOUT_FUNCTION,
        municipality=known.municipality if known else None,
        request=request,
        subject_type=AuditSubjectType.USER if known else "",
        subject_ids=[known.pk] if known else [],
        detail={
            "username": username,
            "known_user": known is not None,
            "failures": int(getattr(request, "axes_failures_since_start", 0) or 0),
            "lockout_no": count,
            "cool_off_minutes": int(cool_off_for(count).total_seconds() // 60),
        },
    )


@dataclass(frozen=True)
class Lock:
    """One user name locked out at one address, until ``until``."""

    username: str
    address: str
    failures: int
    until: datetime
    user: User | None


def _active(attempts: Any, now: datetime) -> list[tuple[Any, datetime]]:
    limit = int(settings.AXES_FAILURE_LIMIT)
    found = []
    for attempt in attempts.filter(failures_since_start__gte=limit).order_by("username", "ip_address"):
        count = recent_lockouts(attempt.username or "", attempt.ip_address or "", now)
        until = attempt.attempt_time + cool_off_for(max(count, 1))
        if until > now:
            found.append((attempt, until))
    return found


def locks_for_admin(*, actor: User) -> list[Lock]:
    """Current lockouts of the actor's municipality's users (a chief sees only their own staff)."""
    if not has_right(actor, Right.RIGHTS_ADMIN):
        raise PermissionDenied("この画面を利用する権限がありません。")
    if actor.municipality_id is None:
        return []
    users = {u.username: u for u in User.objects.filter(municipality_id=actor.municipality_id)}
    attempts = AccessAttempt.objects.filter(username__in=list(users))
    return [
        Lock(a.username or "", a.ip_address or "", a.failures_since_start, until, users.get(a.username or ""))
        for a, until in _active(attempts, timezone.now())
    ]


@transaction.atomic
def unlock(
    *,
    username: str,
    address: str | None = None,
    actor: User | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    via: str = "画面",
) -> int:
    """Clear the failed logins of ``username`` (at ``address`` only, when given) and log who did it.

    From a screen, ``actor`` must hold the user-admin right and the user must be of their
    municipality (else the user is "not found", as for any other tenant's record).
    """
    target = User.objects.filter(username=username).first()
    if actor is not None:
        if not has_right(actor, Right.RIGHTS_ADMIN):
            raise PermissionDenied("ログイン一時停止を解除する権限がありません。")
        if target is None or target.municipality_id != actor.municipality_id:
            raise ValidationError("その利用者は見つかりません。")
    attempts = AccessAttempt.objects.filter(username=username)
    if address:
        attempts = attempts.filter(ip_address=address)
    count, _ = attempts.delete()
    audit_record(
        kind=AuditKind.CHANGE,
        function=UNLOCK_FUNCTION,
        municipality=target.municipality if target else (actor.municipality if actor else None),
        user=actor,
        request=request,
        subject_type=AuditSubjectType.USER if target else "",
        subject_ids=[target.pk] if target else [],
        detail={
            "username": username,
            "address": address or "",
            "cleared": count,
            "reason": reason,
            "via": via,
        },
    )
    return count
