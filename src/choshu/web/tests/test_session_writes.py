"""The session row is written only when something changed or the idle window needs moving (issue 13 §10).

``SESSION_SAVE_EVERY_REQUEST`` rewrote ``django_session`` on every page view; the idle timeout must
still end a session that has not been used for ``SESSION_COOKIE_AGE`` seconds.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.middleware import RENEWED_AT


def _session_writes(client: Client, url: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]
    return response, writes


def _set_stamp(client: Client, seconds_ago: float) -> None:
    session = client.session
    session[RENEWED_AT] = time.time() - seconds_ago
    session.save()


def test_a_page_view_does_not_write_the_session_when_nothing_changed(
    clerk_client: Client, taxpayer: Any
) -> None:
    clerk_client.get(reverse("web:search"))  # the first request after signing in stamps the window
    for url in (
        reverse("web:search"),
        reverse("web:search") + "?kana=カワグチ",
        reverse("web:taxpayer-overview", args=[taxpayer.pk]),
    ):
        response, writes = _session_writes(clerk_client, url)
        assert response.status_code == 200
        assert writes == [], url


def test_the_window_is_moved_once_the_renewal_interval_has_passed(
    clerk_client: Client, settings: Any
) -> None:
    _set_stamp(clerk_client, settings.SESSION_RENEW_SECONDS + 5)
    key = clerk_client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=100))
    response, writes = _session_writes(clerk_client, reverse("web:search"))
    assert response.status_code == 200 and len(writes) == 1
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 10)
    assert time.time() - clerk_client.session[RENEWED_AT] < 5


def test_an_idle_session_ends(clerk_client: Client, settings: Any) -> None:
    """Past the idle timeout the clerk is signed out, whatever the session backend keeps."""
    assert clerk_client.get(reverse("web:search")).status_code == 200
    _set_stamp(clerk_client, settings.SESSION_COOKIE_AGE + 1)
    response = clerk_client.get(reverse("web:search"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert clerk_client.get(reverse("web:search")).status_code == 302


def test_an_expired_session_row_ends_the_session(clerk_client: Client) -> None:
    """The database backend's own expiry: the row's expire_date (moved only on renewal) has passed."""
    assert clerk_client.get(reverse("web:search")).status_code == 200
    key = clerk_client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = clerk_client.get(reverse("web:search"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))


def test_a_session_used_within_the_window_stays_signed_in(clerk_client: Client, settings: Any) -> None:
    _set_stamp(clerk_client, settings.SESSION_COOKIE_AGE - 30)
    assert clerk_client.get(reverse("web:search")).status_code == 200
    # renewed by that request: a full window again
    assert time.time() - clerk_client.session[RENEWED_AT] < 5


@pytest.mark.django_db
def test_an_anonymous_visit_creates_no_session(client: Client) -> None:
    response, writes = _session_writes(client, reverse("web:login"))
    assert response.status_code == 200 and writes == []
    assert not Session.objects.exists()
