"""Login, logout and failed logins (ログイン・ログアウト・ログイン失敗) go to the audit log.

Connected from ``AccountsConfig.ready()``. The password is never recorded: Django masks it before the
failure signal, and only the user name typed is kept here.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from choshu.accounts.lockout import record_lockout
from choshu.accounts.models import User
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record

_MAX_USERNAME = 150


@receiver(user_logged_in, dispatch_uid="choshu.audit.login")
def record_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """ログイン: who signed in, from which address."""
    audit_record(
        kind=AuditKind.LOGIN, function="ログイン", municipality=user.municipality, user=user, request=request
    )


@receiver(user_logged_out, dispatch_uid="choshu.audit.logout")
def record_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    """ログアウト: only for a session that was signed in (a logout without a session is no event)."""
    if user is None or not user.is_authenticated:
        return
    audit_record(
        kind=AuditKind.LOGOUT,
        function="ログアウト",
        municipality=user.municipality,
        user=user,
        request=request,
    )


@receiver(user_login_failed, dispatch_uid="choshu.audit.login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """ログイン失敗: the user name typed and the address; the municipality if that user exists."""
    username = str(credentials.get("username", ""))[:_MAX_USERNAME]
    known = User.objects.filter(username=username).first() if username else None
    audit_record(
        kind=AuditKind.LOGIN_FAILED,
        function="ログイン失敗",
        municipality=known.municipality if known else None,
        request=request,
        detail={"username": username, "known_user": known is not None},
    )


@receiver(user_locked_out, dispatch_uid="choshu.audit.locked_out")
def record_locked_out(
    sender: Any, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any
) -> None:
    """ログイン一時停止: every new lockout (user name + address), with its cool-off."""
    record_lockout(request, username or "")
