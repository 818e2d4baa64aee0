"""Payments since a cursor: opaque, stable, by id; a foreign cursor is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from choshu.api.tests.conftest import bearer, get_token
from choshu.audit.models import AuditLog
from choshu.formats.payments import BANK_HEADER
from choshu.receipts.models import Payment
from choshu.receipts.services import payments_import
from choshu.receipts.slips import taxpayer_slips
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db


def pay(municipality: Any, write_csv: Callable[..., Path], taxpayer_no: str, paid_on: str) -> None:
    tp = Taxpayer.objects.get(municipality=municipality, taxpayer_no=taxpayer_no)
    rows = [
        f"{s.ocr_lower},{s.amount},{paid_on},0001,123,{paid_on}" for s in taxpayer_slips(municipality, tp.pk)
    ]
    payments_import(municipality=municipality, channel="bank", path=write_csv(",".join(BANK_HEADER), rows))


def test_payments_are_listed_after_the_cursor_page_by_page(
    sample_city: Any, write_csv: Callable[..., Path], register: Callable[..., tuple[str, str]]
) -> None:
    pay(sample_city, write_csv, "1001", "2024-06-28")
    ids = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 3
    http = Client()
    client_id, secret = register(sample_city, ["037:payments:read"])
    token = get_token(http, client_id, secret)

    seen: list[int] = []
    cursor: str = ""
    for _ in range(5):
        page = http.get("/api/v1/payments", {"cursor": cursor, "limit": "2"}, headers=bearer(token)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ids
    assert all(item["taxpayer_no"] == "1001" for item in page["items"])
    # nothing new: the same cursor comes back with no items; a new payment appears after it
    empty = http.get("/api/v1/payments", {"cursor": cursor}, headers=bearer(token)).json()
    assert empty == {"items": [], "next_cursor": cursor, "has_more": False}
    pay(sample_city, write_csv, "1002", "2024-05-20")
    later = http.get("/api/v1/payments", {"cursor": cursor}, headers=bearer(token)).json()
    assert [i["taxpayer_no"] for i in later["items"]] == ["1002"]
    # the people listed are on the audit record with the client
    record = AuditLog.objects.filter(function="連携API 収納一覧").order_by("pk").last()
    assert record is not None and record.detail["client_id"] == client_id
    assert record.subject_ids == [Taxpayer.objects.get(taxpayer_no="1002").pk]


@pytest.mark.parametrize("cursor", ["junk", "djEtZHVubmluZzox", "!!!", "djEtcGF5bWVudHM6LTE"])
def test_a_cursor_not_made_by_the_list_is_refused(
    municipality: Any, register: Callable[..., tuple[str, str]], cursor: str
) -> None:
    http = Client()
    token = get_token(http, *register(municipality))
    response = http.get("/api/v1/payments", {"cursor": cursor}, headers=bearer(token))
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]
    for url in ("/api/v1/dunning", "/api/v1/write-offs"):
        assert http.get(url, headers=bearer(token)).json()["items"] == []
        assert http.get(url, {"cursor": "junk"}, headers=bearer(token)).status_code == 422
