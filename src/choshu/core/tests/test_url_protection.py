"""Every page and endpoint requires a signed-in, second-factor-verified user (except the login steps).

This walks the whole URL configuration, so a view added later without a login check fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {"web:login", "web:login-otp", "web:home"}


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield f"{namespace}{p.name}", prefix + str(p.pattern)


def _concrete(route: str) -> str:
    """Fill path converters with plausible values (ids that exist or not: either way, login first)."""
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):\w+>", "x", route)
    route = re.sub(r"<\w+>", "x", route)
    route = route.replace("^", "").replace("$", "")
    return "/" + route.lstrip("/")


# The integration API (namespace ``api``, and its token endpoint) serves systems, not staff: no session,
# a bearer token from ``/api/oauth/token``. Its own battery (``api/tests``): every route answers 401
# without a valid token, 403 outside the token's scopes, 404 for another municipality's person.
MACHINE = ("api:", "oauth-token")
ROUTES = sorted(r for r in set(_walk(get_resolver().url_patterns)) if not r[0].startswith(MACHINE))


def test_the_url_configuration_is_walked() -> None:
    names = {name for name, _ in ROUTES}
    assert {"web:search", "web:taxpayer-overview"} <= names


@pytest.mark.parametrize(("name", "route"), [r for r in ROUTES if r[0] not in PUBLIC])
def test_anonymous_requests_are_sent_to_the_login_page(
    db: Any, client: Client, name: str, route: str
) -> None:
    url = _concrete(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        if response.status_code == 405:
            continue
        assert response.status_code == 302, (name, method, response.status_code)
        assert response["Location"].startswith("/login/"), (name, method, response["Location"])


@pytest.mark.parametrize(("name", "route"), [r for r in ROUTES if r[0] not in PUBLIC])
def test_a_password_only_session_is_sent_back_to_login(
    client: Client, make_user: Any, municipality: Any, name: str, route: str
) -> None:
    client.force_login(make_user("half", role="chief", municipality=municipality))  # no second factor
    response = client.get(_concrete(route))
    assert response.status_code in (302, 405), (name, response.status_code)
    if response.status_code == 302:
        assert response["Location"].startswith("/login/")
