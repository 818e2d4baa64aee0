"""連携システムの登録・失効 (the chief's screen): a secret is shown once, on the page that registers it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.api.clients import SCOPES, TOKEN_MINUTES, TOKEN_PATH, client_register, client_revoke
from choshu.api.forms import ClientRegisterForm, ClientRevokeForm
from choshu.api.models import SystemClient
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@never_cache
@right_required(Right.MUNICIPALITY_SETTINGS)
def client_list(request: HttpRequest) -> HttpResponse:
    """The municipality's system clients; POST registers one and shows its secret once."""
    chief = staff_user(request)
    municipality = chief.municipality
    assert municipality is not None
    form = ClientRegisterForm(request.POST or None)
    registered = None
    if request.method == "POST" and form.is_valid():
        try:
            registered = client_register(
                actor=chief,
                municipality=municipality,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _refusal(exc))
        else:
            form = ClientRegisterForm()
    else:
        audit_record(
            kind=AuditKind.ACCESS,
            function="連携システムの一覧",
            municipality=municipality,
            user=chief,
            request=request,
        )
    clients = SystemClient.objects.filter(municipality=municipality).select_related(
        "created_by", "revoked_by"
    )
    response = render(
        request,
        "api/clients.html",
        {
            "form": form,
            "revoke_form": ClientRevokeForm(),
            "clients": clients.order_by("-active", "-created_at"),
            "registered": registered,
            "scope_names": SCOPES,
            "token_path": TOKEN_PATH,
            "token_minutes": TOKEN_MINUTES,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@right_required(Right.MUNICIPALITY_SETTINGS)
def client_revoke_view(request: HttpRequest) -> HttpResponse:
    chief = staff_user(request)
    form = ClientRevokeForm(request.POST)
    if not form.is_valid():
        return render(request, "api/revoke_refused.html", {"errors": form.errors}, status=400)
    client = SystemClient.objects.filter(
        municipality=chief.municipality, client_id=form.cleaned_data["client_id"]
    ).first()
    if client is None:
        raise Http404("連携システムが見つかりません。")
    try:
        client_revoke(actor=chief, client=client, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        return render(request, "api/revoke_refused.html", {"message": _refusal(exc)}, status=400)
    return redirect("apiclients:clients")
