"""Staff screens: sign-in, 宛名検索 and 個人別収納状況照会.

Views only parse the request, fetch through the permission-checked selectors, write the access log
and render. Every response that shows a person's data writes one ``AuditLog`` row first.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache

from choshu.accounts.permissions import Right
from choshu.audit.services import audit_access
from choshu.taxpayers.models import TaxpayerKind
from choshu.taxpayers.selectors import person_overview, taxpayer_get_for_user, taxpayer_search
from choshu.web.decorators import right_required, staff_user
from choshu.web.forms import LoginForm, SearchForm

SEARCH_FUNCTION = "宛名検索"
OVERVIEW_FUNCTION = "個人別収納状況照会"
SEARCH_LIMIT = 50


def home(request: HttpRequest) -> HttpResponse:
    """「/」: the search screen when signed in, otherwise the login page."""
    if request.user.is_authenticated:
        return redirect("web:search")
    return redirect("web:login")


class LoginView(auth_views.LoginView):
    """ログイン画面. Passwords are checked by Django (argon2); the audit log is written by signals."""

    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponseRedirect:  # type: ignore[override]
        # 二要素認証 (second factor) — a later issue. It goes HERE: instead of signing in, keep the
        # checked user's id in the session as "password verified", redirect to a code-entry view and
        # call ``auth_login`` only after the code is verified. Until then, the password alone signs in.
        return super().form_valid(form)  # type: ignore[return-value]


class LogoutView(auth_views.LogoutView):
    """ログアウト (POST only, with CSRF); then back to the login page."""


@never_cache
@right_required(Right.TAXPAYER_SEARCH)
def search(request: HttpRequest) -> HttpResponse:
    """宛名検索. An HTMX request gets only the results fragment; a normal request the whole page."""
    form = SearchForm(request.GET or None)
    result = None
    if form.is_bound and form.is_valid() and not form.to_query().is_empty():
        query = form.to_query()
        result = taxpayer_search(user=staff_user(request), query=query, limit=SEARCH_LIMIT)
        audit_access(
            request=request,
            function=SEARCH_FUNCTION,
            taxpayer_ids=result.ids,
            detail={"query": query.as_dict(), "count": len(result.ids), "has_more": result.has_more},
        )
    context = {"form": form, "result": result, "searched": form.is_bound}
    template = "web/search.html"
    if request.htmx and not request.htmx.history_restore_request:  # type: ignore[attr-defined]
        template = "web/_search_results.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def taxpayer_overview(request: HttpRequest, pk: int) -> HttpResponse:
    """個人別収納状況照会: the person, linked identities, levies with balances, payments and 履歴."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=pk)
    overview = person_overview(user=user, taxpayer=taxpayer, as_of=timezone.localdate())
    audit_access(
        request=request,
        function=OVERVIEW_FUNCTION,
        taxpayer_ids=overview.subject_ids,
        detail={"taxpayer_no": taxpayer.taxpayer_no},
    )
    context = {
        "overview": overview,
        "taxpayer": taxpayer,
        "is_corporation": taxpayer.kind == TaxpayerKind.CORPORATION,
    }
    return render(request, "web/overview.html", context)
