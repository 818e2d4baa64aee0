"""Staff screens: sign-in, 宛名検索, 個人別収納状況照会, 個人番号の表示 and 開示請求の出力.

Views only parse the request, fetch through the permission-checked selectors, write the access log
and render. Every response that shows a person's data writes one ``AuditLog`` row first.
"""

from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.models import User
from choshu.accounts.permissions import Right, has_right
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_access, audit_record
from choshu.dunning.selectors import dunning_history
from choshu.levies.arrears import NONE as NO_ARREARS
from choshu.levies.arrears import Arrears, arrears_by_taxpayer
from choshu.operations.disclosure import DOCUMENT as DISCLOSURE_DOCUMENT
from choshu.operations.disclosure import disclosure_export
from choshu.operations.overview import person_overview
from choshu.receipts.slip_issue import slip_history
from choshu.relief.selectors import person_prescriptions, person_reliefs
from choshu.taxpayers.crypto import decrypt_my_number
from choshu.taxpayers.models import Taxpayer, TaxpayerKind
from choshu.taxpayers.protection import ProtectedPersonRefused, refuse_reason
from choshu.taxpayers.selectors import (
    SearchResult,
    linked_taxpayer_ids,
    taxpayer_get_for_user,
    taxpayer_search,
)
from choshu.web.forms import LoginForm, MyNumberRevealForm, OtpForm, SearchForm
from choshu.web.late_charge_views import as_of_from_request

PENDING_USER = "choshu_pending_user"
PENDING_BACKEND = "choshu_pending_backend"
PENDING_AT = "choshu_pending_at"
PENDING_NEXT = "choshu_pending_next"
PENDING_SECONDS = 300

SEARCH_FUNCTION = "宛名検索"
OVERVIEW_FUNCTION = "個人別収納状況照会"
REVEAL_FUNCTION = "個人番号表示"
SEARCH_LIMIT = 50


def home(request: HttpRequest) -> HttpResponse:
    """「/」: the user's first screen when signed in (宛名検索, or アクセスログ照会 for an auditor)."""
    if not request.user.is_authenticated:
        return redirect("web:login")
    return redirect(_landing_url(staff_user(request)))


def _landing_url(user: User) -> str:
    """The first screen of the user's work: 宛名検索, アクセスログ照会 for an auditor, or the month's call
    list for a call-centre operator (who may open nothing else)."""
    if not has_right(user, Right.TAXPAYER_SEARCH):
        if has_right(user, Right.AUDIT_VIEW):
            return reverse("audit:log")
        if has_right(user, Right.CALLCENTER_CALL):
            return reverse("callcenter:calls")
    return reverse("web:search")


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
            if not next_url or next_url == resolve_url(settings.LOGIN_REDIRECT_URL):
                next_url = _landing_url(user)  # no page asked for: the role's own first screen
            return redirect(next_url)
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
    rows: list[SearchRow] = []
    if form.is_bound and form.is_valid() and not form.to_query().is_empty():
        query = form.to_query()
        user = staff_user(request)
        result = taxpayer_search(user=user, query=query, limit=SEARCH_LIMIT)
        rows = _search_rows(user, result)
        audit_access(
            request=request,
            function=SEARCH_FUNCTION,
            taxpayer_ids=result.ids,
            detail={"query": query.as_dict(), "count": len(result.ids), "has_more": result.has_more},
            shows_address=True,
        )
    context = {"form": form, "result": result, "rows": rows, "searched": form.is_bound}
    template = "web/search.html"
    if request.htmx and not request.htmx.history_restore_request:  # type: ignore[attr-defined]
        template = "web/_search_results.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@dataclass(frozen=True)
class SearchRow:
    """One result line: the person, their 未納額 (本税) as of today and whether 名寄せ links them."""

    taxpayer: Taxpayer
    arrears: Arrears
    linked: bool


def _search_rows(user: User, result: SearchResult) -> list[SearchRow]:
    """The shown people with their arrears and 名寄せ flag: two set-based queries for the whole page."""
    ids = result.ids
    assert user.municipality is not None  # taxpayer_search required it
    arrears = arrears_by_taxpayer(taxpayer_ids=ids, as_of=timezone.localdate())
    linked = linked_taxpayer_ids(municipality=user.municipality, taxpayer_ids=ids)
    return [SearchRow(tp, arrears.get(tp.pk, NO_ARREARS), tp.pk in linked) for tp in result.taxpayers]


@never_cache
@right_required(Right.TAXPAYER_VIEW)
def taxpayer_overview(request: HttpRequest, pk: int) -> HttpResponse:
    """個人別収納状況照会: the person, linked identities, levies with balances, payments and 履歴.

    Amounts as of the 計算基準日 (GET ``as_of``; default today in Japan). A bad date is answered with
    400, its Japanese message, and the page as of today."""
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=pk)
    as_of, as_of_form, refused = as_of_from_request(request)
    overview = person_overview(user=user, taxpayer=taxpayer, as_of=as_of)
    audit_access(
        request=request,
        function=OVERVIEW_FUNCTION,
        taxpayer_ids=overview.subject_ids,
        detail={"taxpayer_no": taxpayer.taxpayer_no, "as_of": as_of.isoformat()},
        shows_address=True,
    )
    is_individual = taxpayer.kind == TaxpayerKind.INDIVIDUAL
    context = {
        "overview": overview,
        "taxpayer": taxpayer,
        "is_corporation": taxpayer.kind == TaxpayerKind.CORPORATION,
        "can_reveal": is_individual and taxpayer.has_my_number and has_right(user, Right.MY_NUMBER_REVEAL),
        "can_edit": has_right(user, Right.TAXPAYER_EDIT),
        "can_link_my_number": is_individual and has_right(user, Right.TAXPAYER_EDIT),
        "can_disclose": has_right(user, Right.DISCLOSURE_EXPORT),
        "reveal_form": MyNumberRevealForm(),
        "as_of_form": as_of_form,
        "as_of_param": as_of.isoformat(),
        "slip_issues": slip_history(taxpayer),
        "can_issue_slip": has_right(user, Right.SLIP_ISSUE),
        "dunning": dunning_history(taxpayer, on=as_of),
        "prescriptions": person_prescriptions(
            people := [taxpayer.pk, *(link.taxpayer.pk for link in overview.linked)]
        ),
        "reliefs": person_reliefs(people),
    }
    return render(request, "web/overview.html", context, status=400 if refused else 200)


# ---------------------------------------------------------------------------------------------------
# 個人番号の表示 (seed III: My Number only for number-using work, one person at a time, purpose logged)
# ---------------------------------------------------------------------------------------------------


@never_cache
@right_required(Right.MY_NUMBER_REVEAL)
@require_POST
def my_number_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """個人番号の表示: one person's number, shown once, after the clerk states the number-using purpose.

    The access log records who, when, whose number and why — never the number itself. An HTMX
    request gets only the fragment that replaces the form; otherwise a small page. A form error is
    answered with 400, except to HTMX (which does not swap error responses) where it is 200.
    """
    taxpayer = taxpayer_get_for_user(user=staff_user(request), pk=pk, right=Right.MY_NUMBER_REVEAL)
    if taxpayer.kind != TaxpayerKind.INDIVIDUAL or not taxpayer.has_my_number:
        raise Http404("この宛名には個人番号が登録されていません。")
    form = MyNumberRevealForm(request.POST)
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    if not form.is_valid():
        context = {"taxpayer": taxpayer, "reveal_form": form}
        template = "web/_my_number_form.html" if htmx else "web/my_number_reveal.html"
        return render(request, template, context, status=200 if htmx else 400)
    return _reveal(request, taxpayer, form, htmx=htmx)


@sensitive_variables("number", "context")
def _reveal(
    request: HttpRequest, taxpayer: Taxpayer, form: MyNumberRevealForm, *, htmx: bool
) -> HttpResponse:
    """Log first, then decrypt, in one transaction: a failed decryption leaves no false record."""
    with transaction.atomic():
        audit_access(
            request=request,
            function=REVEAL_FUNCTION,
            taxpayer_ids=[taxpayer.pk],
            detail={"taxpayer_no": taxpayer.taxpayer_no, **form.audit_detail()},
        )
        number = _grouped(decrypt_my_number(taxpayer.my_number_enc))
    context = {"taxpayer": taxpayer, "number": number, "purpose": form.audit_detail()}
    template = "web/_my_number_revealed.html" if htmx else "web/my_number_reveal.html"
    return render(request, template, context)


def _grouped(number: str) -> str:
    """「621498320257」 → 「6214 9832 0257」, the way the number is printed on the card."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


# ---------------------------------------------------------------------------------------------------
# 開示請求に係る出力 (seed V: the person's own data, as CSV and PDF)
# ---------------------------------------------------------------------------------------------------

DISCLOSURE_SESSION_KEY = "choshu_disclosures"
DISCLOSURE_FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def _exports_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _sweep_stale_exports(max_age_seconds: int) -> None:
    """Files never downloaded hold personal data: remove export folders older than a session lasts."""
    limit = time.time() - max_age_seconds
    for folder in _exports_dir().iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


@never_cache
@right_required(Right.DISCLOSURE_EXPORT)
@require_POST
def disclosure(request: HttpRequest, pk: int) -> HttpResponse:
    """開示請求用に出力: write the CSV and the PDF (logged by the export itself), then show the links.

    Each request gets its own folder under ``var/exports``; each file is deleted once downloaded,
    and folders left behind are removed after the session lifetime.
    """
    user = staff_user(request)
    taxpayer = taxpayer_get_for_user(user=user, pk=pk, right=Right.DISCLOSURE_EXPORT)
    _sweep_stale_exports(settings.SESSION_COOKIE_AGE)
    token = secrets.token_hex(16)
    folder = _exports_dir() / token
    folder.mkdir(mode=0o700)
    try:
        files = disclosure_export(
            actor=user, taxpayer=taxpayer, folder=folder, as_of=timezone.localdate(), request=request
        )
    except ProtectedPersonRefused as exc:  # 支援措置: by hand, never as a file
        shutil.rmtree(folder, ignore_errors=True)
        context = {"taxpayer": taxpayer, "refused": " ".join(exc.messages)}
        return render(request, "web/disclosure.html", context, status=409)
    pending = dict(request.session.get(DISCLOSURE_SESSION_KEY, {}))
    pending[token] = {
        "taxpayer": taxpayer.pk,
        "rows": files.rows,
        "csv": files.csv_path.name,
        "pdf": files.pdf_path.name,
        "reception_no": files.reception_no,
    }
    request.session[DISCLOSURE_SESSION_KEY] = pending
    return redirect("web:disclosure-ready", pk=taxpayer.pk, token=token)


def _pending_export(request: HttpRequest, taxpayer: Taxpayer, token: str) -> dict[str, object]:
    """The export ``token`` made in this session for this person, or 404."""
    entry = request.session.get(DISCLOSURE_SESSION_KEY, {}).get(token)
    if not entry or entry.get("taxpayer") != taxpayer.pk:
        raise Http404(
            "出力ファイルは見つかりません。有効期限が切れたか、ダウンロード済みです。もう一度出力してください。"
        )
    return dict(entry)


@never_cache
@right_required(Right.DISCLOSURE_EXPORT)
def disclosure_ready(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The download links of one export (only in the session that made it)."""
    taxpayer = taxpayer_get_for_user(user=staff_user(request), pk=pk, right=Right.DISCLOSURE_EXPORT)
    entry = _pending_export(request, taxpayer, token)
    return render(request, "web/disclosure.html", {"taxpayer": taxpayer, "token": token, "export": entry})


@never_cache
@right_required(Right.DISCLOSURE_EXPORT)
def disclosure_download(request: HttpRequest, pk: int, token: str, fmt: str) -> HttpResponse:
    """One file of an export, as an attachment; the file is deleted from the server once read."""
    taxpayer = taxpayer_get_for_user(user=staff_user(request), pk=pk, right=Right.DISCLOSURE_EXPORT)
    entry = _pending_export(request, taxpayer, token)
    refused = refuse_reason(taxpayer, timezone.localdate(), DISCLOSURE_DOCUMENT)
    if refused is not None:  # 支援措置 began after the files were written: they are not handed out
        shutil.rmtree(_exports_dir() / token, ignore_errors=True)
        context = {"taxpayer": taxpayer, "refused": refused}
        return render(request, "web/disclosure.html", context, status=409)
    name = str(entry.get(fmt) or "")
    path = _exports_dir() / token / name
    if not name or not path.is_file():
        raise Http404("出力ファイルは見つかりません。ダウンロード済みです。もう一度出力してください。")
    data = path.read_bytes()
    path.unlink()
    entry[fmt] = ""
    pending = dict(request.session.get(DISCLOSURE_SESSION_KEY, {}))
    if entry.get("csv") or entry.get("pdf"):
        pending[token] = entry
    else:
        pending.pop(token, None)
        shutil.rmtree(path.parent, ignore_errors=True)
    request.session[DISCLOSURE_SESSION_KEY] = pending
    response = HttpResponse(data, content_type=DISCLOSURE_FORMATS[fmt])
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response
