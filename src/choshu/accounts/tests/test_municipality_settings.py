"""団体設定: section chiefs change the slip and payment-file codes in the UI (interchange.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import login_verified
from django.test import Client
from django.urls import reverse

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.audit.models import AuditLog
from choshu.core.models import Municipality

URL = "accounts:municipality-settings"


@pytest.mark.parametrize("role", Role.values)
def test_only_roles_with_the_settings_right_open_the_page(
    client: Client, municipality: Any, make_user: Callable, role: str
) -> None:
    user = make_user(f"u-{role}", role=role, municipality=municipality)
    login_verified(client, user)
    expected = 200 if Right.MUNICIPALITY_SETTINGS in effective_rights(user) else 403
    assert client.get(reverse(URL)).status_code == expected


def test_anonymous_users_are_sent_to_login(client: Client, db: Any) -> None:
    assert client.get(reverse(URL))["Location"].startswith(reverse("web:login"))


def test_a_chief_changes_the_codes_and_the_change_is_logged(
    client: Client, municipality: Any, make_user: Callable
) -> None:
    login_verified(client, make_user("chief", role=Role.CHIEF, municipality=municipality))
    response = client.post(
        reverse(URL),
        {"conveni_company_code": "954321", "conveni_client_code": "11203", "eltax_agency_no": "11204"},
    )
    assert response.status_code == 302
    m = Municipality.objects.get(pk=municipality.pk)
    assert (m.conveni_company_code, m.eltax_agency_no) == ("954321", "11204")
    log = AuditLog.objects.get(function="団体設定の変更")
    assert log.detail == {
        "before": {"conveni_company_code": "912345", "eltax_agency_no": "11203"},
        "after": {"conveni_company_code": "954321", "eltax_agency_no": "11204"},
    }


def test_a_malformed_code_is_refused_with_a_message(
    client: Client, municipality: Any, make_user: Callable
) -> None:
    login_verified(client, make_user("chief", role=Role.CHIEF, municipality=municipality))
    response = client.post(
        reverse(URL),
        {"conveni_company_code": "12AB56", "conveni_client_code": "11203", "eltax_agency_no": "11203"},
    )
    assert response.status_code == 200 and "半角数字6桁" in response.content.decode()
    assert Municipality.objects.get(pk=municipality.pk).conveni_company_code == "912345"


def test_a_chief_only_ever_changes_their_own_municipality(
    client: Client, municipality: Any, other_municipality: Any, make_user: Callable
) -> None:
    login_verified(client, make_user("soka", role=Role.CHIEF, municipality=other_municipality))
    client.post(
        reverse(URL), {"conveni_company_code": "900000", "conveni_client_code": "", "eltax_agency_no": ""}
    )
    assert Municipality.objects.get(pk=municipality.pk).conveni_company_code == "912345"
    assert Municipality.objects.get(pk=other_municipality.pk).conveni_company_code == "900000"


def test_a_chief_sets_the_office_printed_on_notices(
    client: Client, municipality: Any, make_user: Callable
) -> None:
    login_verified(client, make_user("chief", role=Role.CHIEF, municipality=municipality))
    codes = {"conveni_company_code": "912345", "conveni_client_code": "11203", "eltax_agency_no": "11203"}
    bad = client.post(reverse(URL), {**codes, "office_name": "納税課", "office_phone": "048（258）1110"})
    assert bad.status_code == 200 and "半角数字とハイフン" in bad.content.decode()
    assert Municipality.objects.get(pk=municipality.pk).office_phone == ""
    response = client.post(
        reverse(URL), {**codes, "office_name": "川口市 納税課", "office_phone": "048-258-1110"}
    )
    assert response.status_code == 302
    m = Municipality.objects.get(pk=municipality.pk)
    assert (m.office_name, m.office_phone) == ("川口市 納税課", "048-258-1110")
    log = AuditLog.objects.get(function="団体設定の変更")
    assert log.detail["after"] == {"office_name": "川口市 納税課", "office_phone": "048-258-1110"}
