"""The integration API (庁内連携; issue 22): django-ninja, OpenAPI 3 at ``/api/schema/``, docs at
``/api/docs/``. Every call is made by a registered system client with a bearer token from
``/api/oauth/token`` (``api.token_views``), is limited to the client's municipality and the token's
scopes, and is written to the audit log with the client's id."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from choshu.api import schemas as s
from choshu.api.clients import SCOPES, TOKEN_PATH, token_lookup
from choshu.api.models import AccessToken
from choshu.api.services import PushRefused, push
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.dunning.models import DunningNotice
from choshu.levies.models import Installment
from choshu.levies.selectors import amounts_due, overpayment_balance
from choshu.receipts.models import Payment
from choshu.receipts.slips import taxpayer_slips
from choshu.relief.models import WriteOffLine, WriteOffStatus
from choshu.taxpayers.models import Taxpayer
from choshu.taxpayers.numbering import taxpayer_no_for_search

PAGE_MAX = 1000
TAXPAYER_NO = re.compile(r"[0-9]{1,15}")


class OAuth2(HttpBearer):
    """A bearer token from the client-credentials endpoint (described so in the OpenAPI document)."""

    def __init__(self) -> None:
        super().__init__()
        self.openapi_security_schema = {  # type: ignore[assignment]
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_PATH, "scopes": SCOPES}},
        }

    def authenticate(self, request: HttpRequest, token: str) -> AccessToken | None:
        return token_lookup(token)


api = NinjaAPI(
    title="choshu 庁内連携API",
    version="1",
    description=(
        "収納・滞納管理システム（業務ID 037 統合滞納管理）の連携API。認証は OAuth 2.0 クライアントクレデンシャル"
        f"（{TOKEN_PATH}、client_secret_basic または client_secret_jwt）。スコープは `037:<資源>:<操作>`。"
    ),
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    auth=OAuth2(),
)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: Exception) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": "アクセストークンがないか、期限切れまたは無効です。トークンを取得し直してください。"},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "type": e.get("type", ""),
            "msg": _japanese(e),
        }
        for e in exc.errors
    ]
    return api.create_response(request, {"detail": "入力が正しくありません。", "errors": errors}, status=422)


def _japanese(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    where = ".".join(str(p) for p in error.get("loc", ()))
    messages = {
        "extra_forbidden": "定義されていない項目です",
        "missing": "必須の項目がありません",
        "too_long": "件数または文字数が上限を超えています",
        "too_short": "1件以上指定してください",
        "int_type": "整数で指定してください",
        "string_type": "文字列で指定してください",
        "literal_error": "指定できる値ではありません",
        "string_pattern_mismatch": "形式が正しくありません（スキーマの pattern を見てください）",
        "greater_than_equal": "値が小さすぎます",
        "less_than_equal": "値が大きすぎます",
        "int_parsing": "整数で指定してください",
        "time_parsing": "時刻（HH:MM:SS）で指定してください",
        "date_from_datetime_parsing": "日付（YYYY-MM-DD）で指定してください",
        "date_parsing": "日付（YYYY-MM-DD）で指定してください",
        "date_type": "日付（YYYY-MM-DD）で指定してください",
        "json_invalid": "JSONとして読めません",
    }
    text = messages.get(kind, str(error.get("msg", "")))
    return f"{where}: {text}" if where else text


def _token(request: HttpRequest) -> AccessToken:
    token = getattr(request, "auth", None)
    assert isinstance(token, AccessToken)
    return token


def _require(request: HttpRequest, scope: str) -> AccessToken:
    token = _token(request)
    if scope not in token.scopes:
        audit_record(
            kind=AuditKind.ACCESS,
            function="連携API（スコープ外で拒否）",
            municipality=token.client.municipality,
            request=request,
            detail={"client_id": token.client.client_id, "scope": scope, "path": request.path[:200]},
        )
        raise HttpError(403, f"このトークンにはスコープ {scope} がありません。")
    return token


def _audit(
    request: HttpRequest, token: AccessToken, function: str, taxpayer_ids: list[int], **detail: Any
) -> None:
    audit_record(
        kind=AuditKind.ACCESS,
        function=function,
        municipality=token.client.municipality,
        request=request,
        subject_type=AuditSubjectType.TAXPAYER if taxpayer_ids else "",
        subject_ids=taxpayer_ids,
        detail={"client_id": token.client.client_id, "client": token.client.name, **detail},
    )


def _person(token: AccessToken, taxpayer_no: str) -> Taxpayer:
    municipality = token.client.municipality
    if not TAXPAYER_NO.fullmatch(taxpayer_no):  # never a NUL or 5,000 characters into a query
        raise HttpError(404, "宛名番号は半角数字1〜15桁で指定してください（該当する宛名はありません）。")
    no = taxpayer_no_for_search(municipality, taxpayer_no)
    tp = Taxpayer.objects.filter(municipality=municipality, taxpayer_no=no).first()
    if tp is None:
        raise HttpError(404, f"宛名番号 {taxpayer_no} は登録されていません。")
    return tp


v1 = Router(tags=["v1"])


def _push_response(
    request: HttpRequest, token: AccessToken, kind: str, records: list[dict[str, Any]], booked: date
) -> Any:
    try:
        summary = push(token.client, kind, records, booked)
    except PushRefused as refused:
        audit_record(
            kind=AuditKind.CHANGE,
            function=f"連携API {'宛名' if kind == 'taxpayers' else '調定'}登録（拒否）",
            municipality=token.client.municipality,
            request=request,
            detail={
                "client_id": token.client.client_id,
                "records": len(records),
                "errors": len(refused.errors),
            },
        )
        return Status(
            422,
            {
                "refused": True,
                "detail": "取込の検査で拒否しました。何も登録していません。",
                "errors": refused.errors[:200],
            },
        )
    audit_record(
        kind=AuditKind.CHANGE,
        function=f"連携API {'宛名' if kind == 'taxpayers' else '調定'}登録",
        municipality=token.client.municipality,
        request=request,
        detail={"client_id": token.client.client_id, "client": token.client.name, **summary.as_dict()},
    )
    return Status(200, summary.as_dict())


@v1.post(
    "/taxpayers",
    response={200: s.PushResult, 401: s.Error, 403: s.Error, 422: s.Problem, 400: s.Error},
    summary="宛名の登録・異動（1件または一括）",
)
def push_taxpayers(request: HttpRequest, body: s.TaxpayersPush) -> Any:
    token = _require(request, "037:taxpayers:write")
    records = [r.model_dump() for r in body.records]
    return _push_response(request, token, "taxpayers", records, timezone.localdate())


@v1.post(
    "/levies",
    response={200: s.PushResult, 401: s.Error, 403: s.Error, 422: s.Problem, 400: s.Error},
    summary="調定・更正の登録（1件または一括）",
)
def push_levies(request: HttpRequest, body: s.LeviesPush) -> Any:
    token = _require(request, "037:levies:write")
    records = [r.model_dump() for r in body.records]
    return _push_response(request, token, "levies", records, body.booking_date or timezone.localdate())


class AsOf(s.Strict):
    as_of: s.IsoDate | None = Field(None, description="計算基準日（省略時は本日）")


def _status(principal: int, paid: int, due: int, total: int, due_date: date, as_of: date) -> str:
    if paid > principal:
        return "overpaid"
    if due == 0 and total == 0:
        return "paid"
    if paid > 0:
        return "partial"
    return "unpaid" if as_of > due_date else "not_due"


@v1.get(
    "/taxpayers/{taxpayer_no}/balances",
    response={200: s.Balances, 401: s.Error, 403: s.Error, 404: s.Error, 422: s.Problem},
    summary="残高・収納状況（延滞金を含む、指定日現在）",
)
def balances(request: HttpRequest, taxpayer_no: str, q: Query[AsOf]) -> Any:
    token = _require(request, "037:balances:read")
    tp = _person(token, taxpayer_no)
    as_of = q.as_of or timezone.localdate()
    dues = amounts_due(taxpayer_ids=[tp.pk], as_of=as_of, with_components=False)
    extinguished = set(
        Installment.objects.filter(
            taxpayer=tp, extinguished_on__isnull=False, extinguished_on__lte=as_of
        ).values_list("pk", flat=True)
    )
    _audit(request, token, "連携API 残高照会", [tp.pk], as_of=as_of.isoformat())
    rows = [
        {
            "tax_item": d.tax_item,
            "tax_item_name": d.tax_item_name,
            "levy_year": d.levy_year,
            "notice_no": d.notice_no,
            "installment_no": d.installment_no,
            "due_date": d.due_date,
            "slip_no": d.slip_no,
            "principal": d.principal,
            "principal_paid": d.principal_paid,
            "principal_due": d.principal_due,
            "late_charge": d.late_charge,
            "dunning_fee": d.dunning_fee,
            "total": d.total,
            "status": _status(d.principal, d.principal_paid, d.principal_due, d.total, d.due_date, as_of),
            "extinguished": d.installment_id in extinguished,
        }
        for d in dues
    ]
    return Status(
        200,
        {
            "taxpayer_no": tp.taxpayer_no,
            "as_of": as_of,
            "installments": rows,
            "principal_due": sum(d.principal_due for d in dues),
            "late_charge": sum(d.late_charge or 0 for d in dues),
            "dunning_fee": sum(d.dunning_fee for d in dues),
            "total": sum(d.total for d in dues),
            "overpayment": overpayment_balance(municipality=token.client.municipality, taxpayer_ids=[tp.pk]),
        },
    )


@v1.get(
    "/taxpayers/{taxpayer_no}/slips",
    response={200: s.Slips, 401: s.Error, 403: s.Error, 404: s.Error, 422: s.Problem},
    summary="納付書",
)
def slips(request: HttpRequest, taxpayer_no: str) -> Any:
    token = _require(request, "037:slips:read")
    tp = _person(token, taxpayer_no)
    found = taxpayer_slips(token.client.municipality, tp.pk)
    _audit(request, token, "連携API 納付書照会", [tp.pk], slips=len(found))
    return Status(200, {"taxpayer_no": tp.taxpayer_no, "slips": [sl.as_dict() for sl in found]})


# Cursors: opaque to the caller, stable (ids only grow), refused when not ours.
def _cursor(kind: str, *parts: int) -> str:
    raw = ":".join([f"v1-{kind}", *map(str, parts)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(kind: str, cursor: str, width: int) -> tuple[int, ...]:
    if not cursor:
        return (0,) * width
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        head, *parts = raw.split(":")
        values = tuple(int(p) for p in parts)
        if head != f"v1-{kind}" or len(values) != width or min(values) < 0 or max(values) > 2**62:
            raise ValueError(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise HttpError(
            422, "cursor が正しくありません。前回の応答の next_cursor をそのまま渡してください。"
        ) from exc
    return values


class Page(s.Strict):
    cursor: str = Field("", max_length=200, description="前回の next_cursor（初回は空）")
    limit: int = Field(100, ge=1, le=PAGE_MAX)


def _page(items: list[dict[str, Any]], limit: int, last: str) -> dict[str, Any]:
    return {"items": items[:limit], "next_cursor": last, "has_more": len(items) > limit}


@v1.get(
    "/payments",
    response={200: s.PaymentPage, 401: s.Error, 403: s.Error, 422: s.Problem},
    summary="収納の一覧（カーソル以降）",
)
def payments(request: HttpRequest, q: Query[Page]) -> Any:
    token = _require(request, "037:payments:read")
    (after,) = _read_cursor("payments", q.cursor, 1)
    rows = list(
        Payment.objects.filter(municipality=token.client.municipality, pk__gt=after)
        .order_by("pk")
        .values(
            "pk", "taxpayer_id", "taxpayer__taxpayer_no", "channel", "status", "amount", "paid_on",
            "booked_on", "slip_no", "allocated", "overpaid", "suspended",
        )[: q.limit + 1]
    )  # fmt: skip
    shown = rows[: q.limit]
    items = [
        {
            "id": r["pk"],
            "taxpayer_no": r["taxpayer__taxpayer_no"],
            **{
                k: r[k]  # type: ignore[literal-required]
                for k in (
                    "channel",
                    "status",
                    "amount",
                    "paid_on",
                    "booked_on",
                    "slip_no",
                    "allocated",
                    "overpaid",
                    "suspended",
                )
            },
        }
        for r in rows
    ]
    last = _cursor("payments", shown[-1]["pk"]) if shown else (q.cursor or _cursor("payments", 0))
    _audit(
        request,
        token,
        "連携API 収納一覧",
        sorted({r["taxpayer_id"] for r in shown if r["taxpayer_id"]}),
        count=len(shown),
    )
    return Status(200, _page(items, q.limit, last))


@v1.get(
    "/dunning",
    response={200: s.DunningPage, 401: s.Error, 403: s.Error, 422: s.Problem},
    summary="督促の一覧（カーソル以降）",
)
def dunning(request: HttpRequest, q: Query[Page]) -> Any:
    token = _require(request, "037:dunning:read")
    (after,) = _read_cursor("dunning", q.cursor, 1)
    rows = list(
        DunningNotice.objects.filter(municipality=token.client.municipality, pk__gt=after)
        .order_by("pk")
        .values(
            "pk",
            "taxpayer_id",
            "taxpayer__taxpayer_no",
            "tax_item",
            "issued_on",
            "pay_by",
            "principal",
            "late_charge",
            "fee",
            "total",
        )[: q.limit + 1]
    )
    shown = rows[: q.limit]
    items = [
        {
            "id": r["pk"],
            "taxpayer_no": r["taxpayer__taxpayer_no"],
            **{
                k: r[k]  # type: ignore[literal-required]
                for k in ("tax_item", "issued_on", "pay_by", "principal", "late_charge", "fee", "total")
            },
        }
        for r in rows
    ]
    last = _cursor("dunning", shown[-1]["pk"]) if shown else (q.cursor or _cursor("dunning", 0))
    _audit(request, token, "連携API 督促一覧", sorted({r["taxpayer_id"] for r in shown}), count=len(shown))
    return Status(200, _page(items, q.limit, last))


@v1.get(
    "/write-offs",
    response={200: s.WriteOffPage, 401: s.Error, 403: s.Error, 422: s.Problem},
    summary="不納欠損の一覧（カーソル以降）",
)
def write_offs(request: HttpRequest, q: Query[Page]) -> Any:
    """Booked lines only, in the order of their 不納欠損 transaction (a line is booked when its batch is
    approved, long after it was proposed: the cursor follows the booking, not the proposal)."""
    token = _require(request, "037:write-offs:read")
    txn_after, id_after = _read_cursor("write-offs", q.cursor, 2)
    rows = list(
        WriteOffLine.objects.filter(
            batch__municipality=token.client.municipality,
            batch__status=WriteOffStatus.BOOKED,
            active=True,
            txn_id__isnull=False,
        )
        .filter(txn_id__gte=txn_after)
        .exclude(txn_id=txn_after, pk__lte=id_after)
        .order_by("txn_id", "pk")
        .values(
            "pk", "txn_id", "taxpayer_id", "taxpayer__taxpayer_no", "tax_item", "levy_year",
            "installment__levy__notice_no", "installment__installment_no", "reason", "extinguished_on",
            "batch__booked_on", "principal", "late_charge", "dunning_fee",
        )[: q.limit + 1]
    )  # fmt: skip
    shown = rows[: q.limit]
    items = [
        {
            "id": r["pk"],
            "taxpayer_no": r["taxpayer__taxpayer_no"],
            "tax_item": r["tax_item"],
            "levy_year": r["levy_year"],
            "notice_no": r["installment__levy__notice_no"],
            "installment_no": r["installment__installment_no"],
            "reason": r["reason"],
            "extinguished_on": r["extinguished_on"],
            "booked_on": r["batch__booked_on"],
            "principal": r["principal"],
            "late_charge": r["late_charge"],
            "dunning_fee": r["dunning_fee"],
        }
        for r in rows
    ]
    last = (
        _cursor("write-offs", shown[-1]["txn_id"], shown[-1]["pk"])
        if shown
        else (q.cursor or _cursor("write-offs", 0, 0))
    )
    _audit(
        request, token, "連携API 不納欠損一覧", sorted({r["taxpayer_id"] for r in shown}), count=len(shown)
    )
    return Status(200, _page(items, q.limit, last))


api.add_router("/v1", v1)
