"""Session middleware: every signed-in session must have passed the second factor (seed section III:
ID + password + IC card); the idle timeout, renewed without a write per request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from choshu.audit.services import audit_client, client_addr


class AuditClientMiddleware:
    """Every audit record written while a request is served carries its client address, including
    records of services that are not given the request (changes, 決裁 request/approval/rejection)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_client(client_addr(request)):
            return self.get_response(request)


class RequireSecondFactorMiddleware:
    """A session that is authenticated but not OTP-verified is ended and sent back to the login page.

    The login view never creates such a session; this catches any other path (a stale session from
    before the second factor was required, an authentication backend added later).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not getattr(user, "is_verified", lambda: False)():
            logout(request)
            return redirect("web:login")
        return self.get_response(request)


RENEWED_AT = "choshu_renewed_at"  # session key: when the idle window was last moved (Unix seconds)


class IdleSessionMiddleware:
    """The idle timeout without rewriting the session row on every request.

    ``SESSION_SAVE_EVERY_REQUEST`` moved the session's expiry (the row's ``expire_date``) forward on
    every page view: one ``UPDATE django_session`` per request, on every worker, for nothing. Here the
    window is moved only when ``CHOSHU_SESSION_RENEW_SECONDS`` (``SESSION_RENEW_SECONDS``, default
    60) have passed since it was last moved, or when the request changes the session anyway (then the
    stamp rides along on the write that happens regardless). So a session ends between
    ``SESSION_COOKIE_AGE − SESSION_RENEW_SECONDS`` and ``SESSION_COOKIE_AGE`` seconds after the last
    request: never later than the configured idle timeout.

    The database backend already treats a row past its ``expire_date`` as no session; the stamp is
    also checked here, so the timeout holds on any session backend. Sits right after Django's
    ``SessionMiddleware`` (which saves what this marks modified).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        now = time.time()
        renewed = session.get(RENEWED_AT)
        if renewed is not None and now - float(renewed) > settings.SESSION_COOKIE_AGE:
            session.flush()  # idle too long: signed out (the user is resolved lazily, after this)
        response = self.get_response(request)
        if getattr(session, "_session_cache", None):  # a session with data (not an anonymous visit)
            stale = now - float(session.get(RENEWED_AT) or 0) >= settings.SESSION_RENEW_SECONDS
            if session.modified or stale:
                session[RENEWED_AT] = now  # saved by SessionMiddleware with a new expire_date
        return response
