"""開示請求用に出力: CSV and PDF of everything held about one person, for the right role, logged once."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.audit.models import AuditKind, AuditLog
from choshu.web.tests.conftest import MY_NUMBER_OF_TARO, by_no

ROLES = list(Role)
TOKEN = "0" * 32


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    """Exports go under a temporary VAR_DIR, never the working copy's ``var/``."""
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def chief(make_user: Callable[..., Any], sample_city: Any) -> Any:
    return make_user("chief", role=Role.CHIEF, municipality=sample_city)


@pytest.fixture
def chief_client(client: Client, chief: Any) -> Client:
    return login_verified(client, chief)


def _export_logs() -> list[AuditLog]:
    return list(AuditLog.objects.filter(kind=AuditKind.EXPORT, function="開示請求出力").order_by("pk"))


def _export(client: Client, taxpayer: Any) -> str:
    """Press 「開示請求用に出力」 and return the token of the export."""
    response = client.post(reverse("web:disclosure", args=[taxpayer.pk]))
    assert response.status_code == 302, response.content.decode()[:300]
    match = re.search(r"/disclosure/([0-9a-f]{32})/$", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def _files(var_dir: Path) -> list[Path]:
    return sorted(p for p in (var_dir / "exports").rglob("*") if p.is_file())


# --- permission matrix --------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page_for_every_disclosure_url(
    client: Client, taxpayer: Any
) -> None:
    urls = [
        ("post", reverse("web:disclosure", args=[taxpayer.pk])),
        ("get", reverse("web:disclosure-ready", args=[taxpayer.pk, TOKEN])),
        ("get", reverse("web:disclosure-csv", args=[taxpayer.pk, TOKEN])),
        ("get", reverse("web:disclosure-pdf", args=[taxpayer.pk, TOKEN])),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("web:login") + "?next="), url
    assert _export_logs() == []


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_with_the_disclosure_right_can_export(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, var_dir: Path, role: str
) -> None:
    user = make_user(f"user-{role}", role=role, municipality=taxpayer.municipality)
    login_verified(client, user)
    allowed = Right.DISCLOSURE_EXPORT in effective_rights(user)
    response = client.post(reverse("web:disclosure", args=[taxpayer.pk]))
    assert response.status_code == (302 if allowed else 403)
    assert len(_export_logs()) == (1 if allowed else 0)
    assert len(_files(var_dir)) == (2 if allowed else 0)
    for name in ("disclosure-ready", "disclosure-csv", "disclosure-pdf"):
        refused = client.get(reverse(f"web:{name}", args=[taxpayer.pk, TOKEN]))
        assert refused.status_code == (404 if allowed else 403), name  # 404: no such export in the session


@pytest.mark.parametrize("role", ROLES)
def test_the_overview_shows_the_export_button_only_with_the_right(
    client: Client, make_user: Callable[..., Any], taxpayer: Any, role: str
) -> None:
    user = make_user(f"user-{role}", role=role, municipality=taxpayer.municipality)
    login_verified(client, user)
    response = client.get(reverse("web:taxpayer-overview", args=[taxpayer.pk]))
    if Right.TAXPAYER_VIEW not in effective_rights(user):
        assert response.status_code == 403
        return
    html = response.content.decode()
    has_button = f'action="{reverse("web:disclosure", args=[taxpayer.pk])}"' in html
    assert has_button is (Right.DISCLOSURE_EXPORT in effective_rights(user))
    assert ("開示請求用に出力" in html) is has_button


def test_the_only_role_with_the_disclosure_right_by_default_is_the_chief() -> None:
    from choshu.accounts.permissions import ROLE_DEFAULTS

    assert {r for r in Role if Right.DISCLOSURE_EXPORT in ROLE_DEFAULTS[r]} == {Role.CHIEF}


def test_another_municipalitys_person_is_not_found_and_nothing_is_written(
    chief_client: Client, other_city: Any, var_dir: Path
) -> None:
    stranger = by_no(other_city, "1001")
    response = chief_client.post(reverse("web:disclosure", args=[stranger.pk]))
    assert response.status_code == 404
    assert "草加 次郎" not in response.content.decode()
    assert _export_logs() == []
    assert _files(var_dir) == []


def test_an_export_by_get_is_refused(chief_client: Client, taxpayer: Any) -> None:
    assert chief_client.get(reverse("web:disclosure", args=[taxpayer.pk])).status_code == 405
    assert _export_logs() == []


# --- the export ---------------------------------------------------------------------------------


def test_the_export_offers_both_files_and_each_downloads_once_as_an_attachment(
    chief_client: Client, taxpayer: Any, var_dir: Path
) -> None:
    token = _export(chief_client, taxpayer)
    page = chief_client.get(reverse("web:disclosure-ready", args=[taxpayer.pk, token]))
    html = page.content.decode()
    csv_url = reverse("web:disclosure-csv", args=[taxpayer.pk, token])
    pdf_url = reverse("web:disclosure-pdf", args=[taxpayer.pk, token])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert csv_url in html and pdf_url in html

    csv_response = chief_client.get(csv_url)
    assert csv_response.status_code == 200
    assert csv_response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in csv_response["Cache-Control"]
    text = csv_response.content.decode("utf-8-sig")
    assert "区分,項目,内容" in text and "川口 太郎" in text
    assert MY_NUMBER_OF_TARO not in text

    pdf_response = chief_client.get(pdf_url)
    assert pdf_response.status_code == 200
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response.content.startswith(b"%PDF")
    assert MY_NUMBER_OF_TARO.encode() not in pdf_response.content

    assert _files(var_dir) == [], "downloaded files are deleted from the server"
    assert not (var_dir / "exports" / token).exists()
    assert chief_client.get(csv_url).status_code == 404
    page_after = chief_client.get(reverse("web:disclosure-ready", args=[taxpayer.pk, token]))
    assert page_after.status_code == 404


def test_the_export_is_logged_once_with_the_hashes_of_the_files_handed_out(
    chief: Any, chief_client: Client, taxpayer: Any
) -> None:
    token = _export(chief_client, taxpayer)
    csv_bytes = chief_client.get(reverse("web:disclosure-csv", args=[taxpayer.pk, token])).content
    pdf_bytes = chief_client.get(reverse("web:disclosure-pdf", args=[taxpayer.pk, token])).content
    [log] = _export_logs()
    assert log.user == chief
    assert log.subject_ids == [taxpayer.pk]
    hashes = sorted(log.detail["files"].values())
    assert hashes == sorted(hashlib.sha256(b).hexdigest() for b in (csv_bytes, pdf_bytes))


def test_a_file_is_kept_until_its_own_download_when_only_the_other_was_taken(
    chief_client: Client, taxpayer: Any, var_dir: Path
) -> None:
    token = _export(chief_client, taxpayer)
    chief_client.get(reverse("web:disclosure-csv", args=[taxpayer.pk, token]))
    assert [p.suffix for p in _files(var_dir)] == [".pdf"]
    html = chief_client.get(reverse("web:disclosure-ready", args=[taxpayer.pk, token])).content.decode()
    assert "CSV はダウンロード済みです" in html


def test_another_user_cannot_download_an_export_they_did_not_make(
    chief_client: Client, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    token = _export(chief_client, taxpayer)
    colleague = make_user("chief2", role=Role.CHIEF, municipality=taxpayer.municipality)
    other = login_verified(Client(), colleague)
    assert other.get(reverse("web:disclosure-csv", args=[taxpayer.pk, token])).status_code == 404
    assert other.get(reverse("web:disclosure-ready", args=[taxpayer.pk, token])).status_code == 404


def test_the_token_of_one_person_does_not_open_another_persons_file(
    chief_client: Client, sample_city: Any, taxpayer: Any
) -> None:
    token = _export(chief_client, taxpayer)
    hanako = by_no(sample_city, "1002")
    assert chief_client.get(reverse("web:disclosure-csv", args=[hanako.pk, token])).status_code == 404


def test_a_user_whose_right_was_withdrawn_after_the_export_can_no_longer_download(
    chief_client: Client, chief: Any, make_user: Callable[..., Any], taxpayer: Any
) -> None:
    from choshu.accounts.services import right_set

    token = _export(chief_client, taxpayer)
    admin = make_user("chief-admin", role=Role.CHIEF, municipality=taxpayer.municipality)
    right_set(actor=admin, user=chief, right=Right.DISCLOSURE_EXPORT, granted=False, reason="担当替え")
    assert chief_client.get(reverse("web:disclosure-csv", args=[taxpayer.pk, token])).status_code == 403


def test_exports_never_downloaded_are_swept_after_the_session_lifetime(
    chief_client: Client, taxpayer: Any, var_dir: Path, settings: Any
) -> None:
    stale = var_dir / "exports" / ("f" * 32)
    stale.mkdir(parents=True)
    (stale / "disclosure-1002-2020-01-01.csv").write_text("old")
    old = time.time() - settings.SESSION_COOKIE_AGE - 60
    os.utime(stale, (old, old))
    _export(chief_client, taxpayer)
    assert not stale.exists()
    assert len(_files(var_dir)) == 2
