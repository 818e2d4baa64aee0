"""``POST /api/oauth/token``: OAuth 2.0 client credentials (RFC 6749 §4.4), errors as §5.2 JSON."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
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
from choshu.api.models import AccessToken
from choshu.audit.models import AuditKind, AuditLog
from choshu.audit.services import audit_record, client_addr

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_FAILED_FUNCTION = "連携システムの認証失敗"


def _failure_limit() -> tuple[int, timedelta]:
    """(failures, window): an address with this many failed client authentications in the window waits."""
    return (
        int(settings.CHOSHU_API_AUTH_FAILURES),
        timedelta(minutes=int(settings.CHOSHU_API_AUTH_WINDOW_MINUTES)),
    )


def _too_many_failures(request: HttpRequest) -> OAuthError | None:
    """Guessing secrets from one address is slowed down: the failures are the audit log's own records."""
    limit, window = _failure_limit()
    failures = AuditLog.objects.filter(
        function=AUTH_FAILED_FUNCTION, at__gte=timezone.now() - window, client_addr=client_addr(request)
    ).count()
    if failures < limit:
        return None
    minutes = int(window.total_seconds() // 60)
    return OAuthError(
        "invalid_client",
        f"この接続元からのクライアント認証の失敗が{minutes}分間に{limit}回を超えました。"
        f"しばらく（最長{minutes}分）待ってから、正しいクライアントIDとシークレットで再度取得してください。",
        429,
    )


def _too_many_tokens(client_id: str) -> OAuthError | None:
    """A client asking for more tokens a minute than any system needs is refused (a loop gone wrong fills
    the token table otherwise); a token lives minutes, so a well-behaved client asks once per lifetime."""
    per_minute = int(settings.CHOSHU_API_TOKENS_PER_MINUTE)
    issued = AccessToken.objects.filter(
        client__client_id=client_id, issued_at__gte=timezone.now() - timedelta(minutes=1)
    ).count()
    if issued < per_minute:
        return None
    return OAuthError(
        "invalid_request",
        f"トークンの発行は1分間に{per_minute}回までです。発行済みのトークンを有効期限"
        f"（{TOKEN_MINUTES}分）まで使ってください。",
        429,
    )


def _error(exc: OAuthError) -> JsonResponse:
    response = JsonResponse(
        {"error": exc.error, "error_description": exc.description},
        status=exc.status,
        json_dumps_params={"ensure_ascii": False},
    )
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="choshu"'
    if exc.status == 429:
        response["Retry-After"] = "60"
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
        if (slow := _too_many_failures(request)) is not None:
            return _error(slow)  # not audited again: the failures that led here are
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
        if (slow := _too_many_tokens(client.client_id)) is not None:
            raise slow
        value, row = issue_token(client, data.get("scope", ""), method)
    except OAuthError as exc:
        if exc.error == "invalid_client":
            audit_record(
                kind=AuditKind.LOGIN_FAILED,
                function=AUTH_FAILED_FUNCTION,
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
