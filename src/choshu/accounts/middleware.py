"""Every signed-in session must have passed the second factor (seed section III: ID + password + IC card)."""

from __future__ import annotations

from collections.abc import Callable

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
