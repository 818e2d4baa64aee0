"""Staff screens: sign-in, 宛名検索 and 個人別収納状況照会.

Views only parse the request, fetch through the permission-checked selectors, write the access log
and render. Every response that shows a person's data writes one ``AuditLog`` row first.
"""

from __future__ import annotations

from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.models import User
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_access, audit_record
from choshu.taxpayers.models import TaxpayerKind
from choshu.taxpayers.selectors import person_overview, taxpayer_get_for_user, taxpayer_search
from choshu.web.decorators import right_required, staff_user
from choshu.web.forms import LoginForm, OtpForm, SearchForm

PENDING_USER = "choshu_pending_user"
PENDING_BACKEND = "choshu_pending_backend"
PENDING_AT = "choshu_pending_at"
PENDING_NEXT = "choshu_pending_next"
PENDING_SECONDS = 300

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
        """The password is right: nobody is signed in yet. The second factor comes next."""
        user = form.get_user()
        self.request.session.cycle_key()
        self.request.session[PENDING_USER] = user.pk
        self.request.session[PENDING_BACKEND] = getattr(user, "backend", "")
        self.request.session[PENDING_AT] = timezone.now().timestamp()
        self.request.session[PENDING_NEXT] = self.get_success_url()
        return redirect("web:login-otp")


@never_cache
def login_otp(request: HttpRequest) -> HttpResponse:
    """二要素認証: sign in only when the TOTP code of the user whose password was checked is right."""
    user, device = _pending_login(request)
    if user is None:
        return redirect("web:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if (
            device is not None
            and device.verify_is_allowed()[0]
            and device.verify_token(form.cleaned_data["token"].strip())
        ):
            next_url = str(request.session.get(PENDING_NEXT) or "")
            backend = str(request.session.get(PENDING_BACKEND) or "")
            for key in (PENDING_USER, PENDING_BACKEND, PENDING_AT, PENDING_NEXT):
                request.session.pop(key, None)
            auth_login(request, user, backend=backend or None)
            otp_login(request, device)
            return redirect(next_url or "web:search")
        audit_record(
            kind=AuditKind.LOGIN_FAILED,
            function="二要素認証失敗",
            municipality=user.municipality,
            request=request,
            detail={"username": user.username, "known_user": True, "stage": "otp"},
        )
        form.add_error(
            "token", "確認コードが正しくないか、期限切れです。認証アプリの最新のコードを入力してください。"
        )
    if device is None:
        form.add_error(
            None, "二要素認証が登録されていません。システム管理者（課長）に登録を依頼してください。"
        )
    return render(request, "web/login_otp.html", {"form": form, "username": user.username})


def _pending_login(request: HttpRequest) -> tuple[User | None, TOTPDevice | None]:
    """The user whose password was checked in this session in the last few minutes, and their device."""
    user_id = request.session.get(PENDING_USER)
    started = float(request.session.get(PENDING_AT) or 0)
    if not user_id or timezone.now().timestamp() - started > PENDING_SECONDS:
        return None, None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None, None
    return user, TOTPDevice.objects.filter(user=user, confirmed=True).first()


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
