"""The call-centre operator (an outsourced role) stays inside its own pages (issue 20 §3).

Rights alone already refuse every staff screen (the role's ceiling is ``callcenter_call`` only); this
guard makes the contract's promise structural: for a signed-in user of the role, any URL that is not
a page marked ``operator_page`` (the month's targets and the call entry), nor the login and logout
steps, answers 403 and the attempt is written to the audit log — also a URL no view answers. 「/」
leads to the month's targets.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from choshu.accounts.models import Role
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record

WAY_OUT = {"web:login", "web:login-otp", "web:logout"}
FUNCTION_REFUSED = "委託範囲外の画面へのアクセス（拒否）"


def printable(text: str, limit: int = 200) -> str:
    """For the audit detail: no control character (jsonb refuses NUL), bounded."""
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


def refuse(request: HttpRequest, why: str) -> PermissionDenied:
    user = request.user
    audit_record(kind=AuditKind.ACCESS, function=FUNCTION_REFUSED, municipality=getattr(user, "municipality", None),
                 user=user, request=request,
                 detail={"path": printable(request.path), "method": printable(request.method or "", 10), "refused": why})  # fmt: skip
    return PermissionDenied("この画面は納税催告センターの委託の範囲外です。")


class OperatorConfinementMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and getattr(user, "role", "") == Role.CALLCENTER_OPERATOR:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                raise refuse(request, "no_such_page") from None
            name = f"{match.namespace}:{match.url_name}" if match.namespace else str(match.url_name)
            if name == "web:home":
                return redirect("callcenter:calls")
            if name not in WAY_OUT and not getattr(match.func, "operator_page", False):
                raise refuse(request, "outside_contract")
        return self.get_response(request)
