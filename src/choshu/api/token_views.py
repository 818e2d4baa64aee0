"""``POST /api/oauth/token``: OAuth 2.0 client credentials (RFC 6749 §4.4), errors as §5.2 JSON."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from choshu.api.clients import (
    TOKEN_MINUTES,
    TOKEN_PATH,
    OAuthError,
    authenticate_basic,
    authenticate_jwt,
    issue_token,
)
from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _error(exc: OAuthError) -> JsonResponse:
    response = JsonResponse(
        {"error": exc.error, "error_description": exc.description},
        status=exc.status,
        json_dumps_params={"ensure_ascii": False},
    )
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="choshu"'
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _basic(header: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "Authorization ヘッダーの Basic 認証が読めません。", 401) from exc
    client_id, sep, secret = raw.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "Authorization ヘッダーの Basic 認証が読めません。", 401)
    # RFC 6749 §2.3.1: both are form-urlencoded before being put in the header
    return unquote(client_id), unquote(secret)


@csrf_exempt
@never_cache
def token(request: HttpRequest) -> HttpResponse:
    """Issue a bearer token (``client_secret_basic`` or ``client_secret_jwt``)."""
    try:
        if request.method != "POST":
            raise OAuthError("invalid_request", "トークンの取得は POST で行ってください。", 405)
        if request.content_type != "application/x-www-form-urlencoded":
            raise OAuthError(
                "invalid_request", "Content-Type は application/x-www-form-urlencoded にしてください。"
            )
        data = request.POST
        if any(len(data.getlist(k)) > 1 for k in data):
            raise OAuthError("invalid_request", "同じパラメーターが2回以上指定されています。")
        if data.get("grant_type") != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type" if data.get("grant_type") else "invalid_request",
                "grant_type は client_credentials だけを受け付けます。",
            )
        header = request.headers.get("Authorization", "")
        assertion = data.get("client_assertion", "")
        if header and assertion:
            raise OAuthError("invalid_request", "クライアント認証は1つの方法だけで行ってください。")
        if header.lower().startswith("basic "):
            client = authenticate_basic(*_basic(header))
            method = "client_secret_basic"
        elif assertion:
            if data.get("client_assertion_type") != JWT_BEARER:
                raise OAuthError("invalid_request", f"client_assertion_type は {JWT_BEARER} にしてください。")
            client = authenticate_jwt(assertion, request.build_absolute_uri(TOKEN_PATH))
            if data.get("client_id") not in (None, client.client_id):
                raise OAuthError("invalid_client", "client_id がJWTの発行者と一致しません。", 401)
            method = "client_secret_jwt"
        else:
            raise OAuthError(
                "invalid_client", "クライアント認証（Basic 認証または client_assertion）がありません。", 401
            )
        value, row = issue_token(client, data.get("scope", ""), method)
    except OAuthError as exc:
        if exc.error == "invalid_client":
            audit_record(
                kind=AuditKind.LOGIN_FAILED,
                function="連携システムの認証失敗",
                municipality=None,
                request=request,
                detail={"error": exc.error, "reason": exc.description},
            )
        return _error(exc)
    response = JsonResponse(
        {
            "access_token": value,
            "token_type": "Bearer",
            "expires_in": TOKEN_MINUTES * 60,
            "scope": " ".join(row.scopes),
        }
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response
