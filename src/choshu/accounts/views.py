"""The section chief's screens: accounts and their rights (権限管理), and the rights reports.

Views parse the request, fetch through the permission-checked functions of ``admin_services``, call
one service and render. Refusals of a service (its Japanese message) are shown to the chief as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts import admin_services, lockout
from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.forms import (
    DeactivateForm,
    MunicipalitySettingsForm,
    ReportPeriodForm,
    RightChangeForm,
    UnlockForm,
    UserCreateForm,
)
from choshu.accounts.models import RightChange, User
from choshu.accounts.permissions import ROLE_CEILING, ROLE_DEFAULTS, Right, effective_rights
from choshu.accounts.services import right_set, user_create

HISTORY_LIMIT = 30


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    """The Japanese message a service refused with."""
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "この操作は許可されていません。"


def _rights_of(user: User) -> list[str]:
    held = effective_rights(user)
    return [right.label for right in Right if right in held]


# ---------------------------------------------------------------------------------------------------
# 利用者一覧・詳細
# ---------------------------------------------------------------------------------------------------


@never_cache
@right_required(Right.RIGHTS_ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    """利用者一覧: every account of the municipality with role, team, state and effective rights."""
    users = admin_services.staff_list_for_admin(actor=staff_user(request))
    rows = [{"user": user, "rights": _rights_of(user)} for user in users]
    return render(request, "accounts/user_list.html", {"rows": rows})


@dataclass(frozen=True)
class RightRow:
    """One line of the rights table of an account: held now, the role's default, the change offered."""

    right: Right
    held: bool
    default: bool

    @property
    def action(self) -> str:
        return RightChange.Action.REVOKE if self.held else RightChange.Action.GRANT


def _right_rows(user: User) -> tuple[list[RightRow], list[Right]]:
    held, ceiling = effective_rights(user), ROLE_CEILING.get(user.role, frozenset())
    defaults = ROLE_DEFAULTS.get(user.role, frozenset())
    offered, beyond = [], []
    for right in Right:
        if right not in ceiling:
            beyond.append(right)
            continue
        offered.append(RightRow(right=right, held=right in held, default=right in defaults))
    return offered, beyond


def _detail(request: HttpRequest, user: User) -> HttpResponse:
    offered, beyond = _right_rows(user)
    history = RightChange.objects.filter(user=user).select_related("changed_by")[:HISTORY_LIMIT]
    context = {
        "account": user,
        "offered": offered,
        "beyond": beyond,
        "history": history,
        "is_self": user.pk == request.user.pk,
        "deactivate_form": DeactivateForm(),
    }
    return render(request, "accounts/user_detail.html", context)


@never_cache
@right_required(Right.RIGHTS_ADMIN)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """利用者の詳細と権限の付与・取消. A POST changes one right through ``right_set``."""
    actor = staff_user(request)
    user = admin_services.staff_get_for_admin(actor=actor, pk=pk)
    if request.method != "POST":
        return _detail(request, user)
    form = RightChangeForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("accounts:user-detail", pk=user.pk)
    try:
        right_set(
            actor=actor,
            user=user,
            right=form.cleaned_data["right"],
            granted=form.granted,
            reason=form.cleaned_data["reason"],
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _refusal(exc))
    else:
        verb = "付与しました" if form.granted else "取り消しました"
        label = Right(form.cleaned_data["right"]).label
        messages.success(request, f"{user} さんの「{label}」を{verb}。権限変更の報告書に記録されました。")
    return redirect("accounts:user-detail", pk=user.pk)


@never_cache
@require_POST
@right_required(Right.RIGHTS_ADMIN)
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """利用停止 (POST only)."""
    actor = staff_user(request)
    user = admin_services.staff_get_for_admin(actor=actor, pk=pk)
    form = DeactivateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "利用停止の理由を入力してください。")
        return redirect("accounts:user-detail", pk=user.pk)
    try:
        admin_services.user_deactivate(actor=actor, user=user, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, f"{user} さんを利用停止にしました。以後ログインできません。")
    return redirect("accounts:user-detail", pk=user.pk)


# ---------------------------------------------------------------------------------------------------
# ログイン一時停止の解除
# ---------------------------------------------------------------------------------------------------


@never_cache
@right_required(Right.RIGHTS_ADMIN)
def lockout_list(request: HttpRequest) -> HttpResponse:
    """ログイン一時停止中: the municipality's user names locked out, by address, until when."""
    locks = lockout.locks_for_admin(actor=staff_user(request))
    return render(request, "accounts/lockout_list.html", {"locks": locks})


@never_cache
@require_POST
@right_required(Right.RIGHTS_ADMIN)
def lockout_unlock(request: HttpRequest) -> HttpResponse:
    """解除 (POST only): clears one user name's failed logins at one address (or all addresses)."""
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, "解除する利用者IDと理由を入力してください。")
        return redirect("accounts:lockout-list")
    data = form.cleaned_data
    try:
        lockout.unlock(
            username=data["username"],
            address=data["address"] or None,
            actor=staff_user(request),
            reason=data["reason"],
            request=request,
        )
    except ValidationError as exc:
        raise Http404(_refusal(exc)) from exc
    messages.success(request, f"{data['username']} さんのログイン一時停止を解除しました。")
    return redirect("accounts:lockout-list")


# ---------------------------------------------------------------------------------------------------
# 利用者登録
# ---------------------------------------------------------------------------------------------------


def _totp_secret(otpauth_uri: str) -> str:
    """The Base32 key inside an ``otpauth://`` URI, for apps where the key is typed in by hand."""
    return parse_qs(urlparse(otpauth_uri).query).get("secret", [""])[0]


QR_OPTIONS: dict[str, Any] = {
    "scale": 5,
    "border": 4,
    "dark": "#000",
    "light": "#fff",
    "svgclass": "totp-qr",
    "title": "二要素認証の登録用QRコード",
}


def totp_qr_svg(otpauth_uri: str) -> str:
    """The ``otpauth://`` URI as a QR code, inline SVG made here (segno): the secret never leaves the
    server for an image service, and the page holding it is not cached (``never_cache``: no-store)."""
    import segno  # type: ignore[import-untyped]

    return str(segno.make(otpauth_uri, error="m", micro=False).svg_inline(**QR_OPTIONS))


@never_cache
@right_required(Right.RIGHTS_ADMIN)
def user_new(request: HttpRequest) -> HttpResponse:
    """利用者登録. The second-factor key is shown once on the result page and never again."""
    actor = staff_user(request)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if actor.municipality is None:  # right_required lets no such user in; keeps the types honest
            raise PermissionDenied("自治体に属さない利用者は登録できません。")
        try:
            created = user_create(
                actor=actor,
                username=data["username"],
                password=data["password"],
                role=data["role"],
                team=data["team"],
                display_name=data["display_name"],
                municipality=actor.municipality,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except PermissionDenied as exc:
            form.add_error(None, _refusal(exc))
        else:
            context = {
                "account": created.user,
                "otpauth_uri": created.otpauth_uri,
                "secret": _totp_secret(created.otpauth_uri),
                "qr_svg": mark_safe(totp_qr_svg(created.otpauth_uri)),  # noqa: S308 (segno's own SVG)
                "rights": _rights_of(created.user),
            }
            return render(request, "accounts/user_created.html", context)
    status = 400 if form.errors else 200
    return render(request, "accounts/user_form.html", {"form": form}, status=status)


# ---------------------------------------------------------------------------------------------------
# 権限変更の報告書・権限一覧
# ---------------------------------------------------------------------------------------------------


def _encoding(request: HttpRequest) -> str:
    """CP932 unless ``?encoding=utf-8`` (UTF-8 with BOM) is asked for."""
    return "utf-8" if request.GET.get("encoding", "").lower() in ("utf-8", "utf8") else "cp932"


def _csv_response(export: admin_services.ExportFile) -> HttpResponse:
    charset = "utf-8" if export.encoding == "utf-8" else "Shift_JIS"
    response = HttpResponse(export.content, content_type=f"text/csv; charset={charset}")
    response["Content-Disposition"] = f'attachment; filename="{export.file_name}"'
    return response


def _period_form(request: HttpRequest) -> ReportPeriodForm:
    if "from" in request.GET or "to" in request.GET:
        return ReportPeriodForm(request.GET)
    return ReportPeriodForm(ReportPeriodForm.default_period())


def _changes_report(request: HttpRequest, form: ReportPeriodForm) -> admin_services.Report | None:
    if not form.is_valid():
        return None
    actor = staff_user(request)
    date_from, date_to = form.period()
    assert actor.municipality is not None  # guaranteed by has_right
    return admin_services.rights_changes_report(
        actor=actor, municipality=actor.municipality, date_from=date_from, date_to=date_to
    )


@never_cache
@right_required(Right.RIGHTS_REPORT)
def report_changes(request: HttpRequest) -> HttpResponse:
    """権限変更の報告書 for a period, printable; the CSV is a separate download."""
    form = _period_form(request)
    report = _changes_report(request, form)
    status = 200 if report is not None else 400
    context = {"form": form, "report": report, "printed_at": timezone.localtime(), "query": _query(form)}
    return render(request, "accounts/report_changes.html", context, status=status)


@never_cache
@right_required(Right.RIGHTS_REPORT)
def report_changes_csv(request: HttpRequest) -> HttpResponse:
    """権限変更の報告書 (CSV). Every download is recorded with its row count and SHA-256."""
    form = _period_form(request)
    report = _changes_report(request, form)
    if report is None:
        context = {"form": form, "report": None, "printed_at": timezone.localtime(), "query": ""}
        return render(request, "accounts/report_changes.html", context, status=400)
    actor = staff_user(request)
    assert actor.municipality is not None
    export = admin_services.report_export(
        actor=actor, municipality=actor.municipality, report=report, encoding=_encoding(request)
    )
    return _csv_response(export)


def _query(form: ReportPeriodForm) -> str:
    if not form.is_valid():
        return ""
    date_from, date_to = form.period()
    return f"from={date_from.isoformat()}&to={date_to.isoformat()}"


def _review_report(request: HttpRequest) -> admin_services.Report:
    actor = staff_user(request)
    assert actor.municipality is not None
    return admin_services.rights_review_report(
        actor=actor, municipality=actor.municipality, as_of=timezone.localdate()
    )


@never_cache
@right_required(Right.RIGHTS_REPORT)
def report_review(request: HttpRequest) -> HttpResponse:
    """権限一覧（定期確認用）: who holds which right today, printable."""
    report = _review_report(request)
    context = {
        "report": report,
        "printed_at": timezone.localtime(),
        "fixed": len(admin_services.REVIEW_FIXED_HEADER),
    }
    return render(request, "accounts/report_review.html", context)


@never_cache
@right_required(Right.RIGHTS_REPORT)
def report_review_csv(request: HttpRequest) -> HttpResponse:
    """権限一覧 (CSV), recorded like every export."""
    actor = staff_user(request)
    assert actor.municipality is not None
    export = admin_services.report_export(
        actor=actor,
        municipality=actor.municipality,
        report=_review_report(request),
        encoding=_encoding(request),
    )
    return _csv_response(export)


@never_cache
@right_required(Right.MUNICIPALITY_SETTINGS)
def municipality_settings(request: HttpRequest) -> HttpResponse:
    """団体設定: change the codes printed on slips and checked in payment files (logged before/after)."""
    chief = staff_user(request)
    municipality = chief.municipality
    assert municipality is not None  # right_required guarantees a municipality
    form = MunicipalitySettingsForm(
        request.POST or None,
        initial={
            "conveni_company_code": municipality.conveni_company_code,
            "conveni_client_code": municipality.conveni_client_code,
            "eltax_agency_no": municipality.eltax_agency_no,
            "office_name": municipality.office_name,
            "office_phone": municipality.office_phone,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            admin_services.municipality_settings_update(
                actor=chief, municipality=municipality, changes=form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, "団体設定を変更しました。")
            return redirect("accounts:municipality-settings")
    return render(
        request, "accounts/municipality_settings.html", {"form": form, "municipality": municipality}
    )
