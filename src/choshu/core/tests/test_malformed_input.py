"""Malformed input never reaches a 500 (issue 14 §4): a small fuzzer over the whole URL configuration.

Every route of the URL configuration, its ids filled with real objects (``object_world``) and with
an id too large for any column, is sent GET requests with malformed query strings and POST requests
with malformed form bodies, as a chief holding every right and as an anonymous visitor. The keys are
every field of every form of the project and every key a view module reads from ``request.GET`` /
``request.POST`` (found in its source), plus an unknown key; the values are huge and negative numbers,
non-numeric ids, NUL and other control characters, invalid UTF-8 percent-escapes, very long values,
repeated keys, impossible dates and 和暦 junk; each value in every key at once, then seeded random
mixes of junk and plausible values (this city's own numbers, so a view gets past its look-up). Each
answer must be below 500, and the chief must stay signed in. About 2,400 requests, the same on every
run: the point is breadth, each view's parsing reached by every kind of junk, not every combination.
Each request runs in a savepoint, so a database error in one does not hide what the next ones do.
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django import forms
from django.db import transaction
from django.test import Client
from django.urls import resolve

from choshu.core.tests.object_world import PARAM_KINDS, all_rights_chief, fill, kinds_of, objects_of
from choshu.core.tests.test_url_protection import PUBLIC, ROUTES
from choshu.receipts.slips import taxpayer_slips
from choshu.taxpayers.models import Taxpayer

# Values sent as they are (percent-encoded on the wire, so the view sees exactly these characters):
# one of each kind of junk, each sent to every route in every key at once.
MALFORMED = [
    "9" * 30,  # beyond any integer column
    "2147483648",  # beyond a PostgreSQL integer, within a bigint
    "-1",
    "abc",
    "1.5",
    " ",
    "a\x00b",
    "\x1b[31m",
    "x" * 5000,
    "2026-13-45",
    "9999-12-31",  # a real date with no day after it
    "0001-01-01",  # nor before it
    "2999-12-31",  # the last and first days a screen takes (core.forms.LATEST_DATE, EARLIEST_DATE)
    "1873-01-01",
    "R99.99.99",
    "令和99年13月45日",
    "平成元年2月30日",
    "<script>alert(1)</script>",
]
# Raw query-string values (not encoded again): invalid UTF-8, broken escapes, an encoded NUL.
RAW = ["%FF%FE", "%C3%28", "%00", "%", "%zz"]
# More junk for the random mixes, and plausible values so that a view gets past its first check.
MORE = ["", "-99999999999999999999", "9223372036854775808", "0", "NaN", "-inf", "\u200b", "あ" * 2000,
        "2026-02-30", "0000-00-00", "20261345", "明治-1年1月1日", "../../etc/passwd", "=cmd|' /C calc'!A0",
        "%E0%80%80", "%ED%A0%80", "１２３", "' OR 1=1 --"]  # fmt: skip
VALID = ["1", "2", "1001", "0000001001", "2024-05-31", "2024-04-01", "R6.5.31", "pending", "utf-8", "on"]
# Plausible values by the key's name, so that a view gets past its look-up and parses the junk beside it.
PLAUSIBLE = [
    (re.compile(r"date|_on$|as_of|^from$|^to$|pay_by|until"), ["2024-05-31", "2024-06-03", "2026-12-07"]),
    (re.compile(r"taxpayer_no"), ["1001", "0000001001", "2001"]),
    (re.compile(r"amount|principal"), ["10800", "5000", "1"]),
    (re.compile(r"^page$"), ["1", "2"]),
    (re.compile(r"status"), ["pending", "approved", "open"]),
    (re.compile(r"encoding"), ["utf-8", "cp932"]),
]
UNKNOWN_KEY = "zz_unknown"
FORM_BODY = "application/x-www-form-urlencoded"
# Signed-in POSTs that would end the fuzzing session itself (they are fuzzed anonymously).
SESSION_ROUTES = {"web:logout", "web:login", "web:login-otp"}
OPEN_ROUTES = PUBLIC | {"web:logout"}
MIXES = 6  # random GET requests per route beyond one per malformed value
POST_MIXES = 4  # random POST requests per route beyond a few of the malformed values

_READ_KEY = re.compile(r"""(?:GET|POST|data)\s*\.\s*(?:get|getlist)\(\s*["']([\w-]+)["']""")
_IN_KEY = re.compile(r"""["']([\w-]+)["']\s+in\s+request\.(?:GET|POST)""")


def _project_forms() -> Iterator[type[forms.BaseForm]]:
    seen: set[type] = set()
    todo: list[type] = [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if sub.__module__.startswith("choshu."):
                    yield sub


def _keys() -> list[str]:
    """Every form field of the project and every key a view module reads."""
    keys = {name for form in _project_forms() for name in getattr(form, "base_fields", {})}
    modules = {inspect.getmodule(inspect.unwrap(resolve_view(route))) for _, route in ROUTES}
    for module in modules:
        source = inspect.getsource(module) if module is not None else ""
        keys |= set(_READ_KEY.findall(source)) | set(_IN_KEY.findall(source))
    keys -= {"csrfmiddlewaretoken"}
    return sorted(keys | {UNKNOWN_KEY})


def resolve_view(route: str) -> Callable[..., Any]:
    return resolve(fill(route, dict.fromkeys(PARAM_KINDS.values(), 1))).func


def _pair(key: str, value: str, raw: bool) -> str:
    return f"{quote(key)}={value if raw else quote(value, safe='')}"


def _every_key(keys: list[str], value: str, raw: bool = False) -> str:
    """Every key set to ``value``, twice (a repeated key)."""
    return "&".join(_pair(k, value, raw) for k in keys for _ in range(2))


def _short(body: str) -> str:
    """``every key = '…'`` for a request setting every key alike, else the first 300 characters."""
    values = {pair.split("=", 1)[-1] for pair in body.split("&")}
    return f"every key = {values.pop()[:40]!r}" if len(values) == 1 else body[:300]


class Fuzzer:
    def __init__(
        self, client: Client, keys: list[str], *, signed_in: bool, valid: list[str], failures: list[str]
    ) -> None:
        self.client, self.keys, self.signed_in, self.valid = client, keys, signed_in, valid
        self.failures = failures  # shared, in the order found
        self.sent = 0
        self.plausible = [*PLAUSIBLE, (re.compile(r"slip"), [v for v in valid if len(v) == 16])]

    def _plausible(self, key: str, rng: random.Random) -> str:
        for pattern, values in self.plausible:
            if pattern.search(key) and values:
                return rng.choice(values)
        return rng.choice(self.valid)

    def mix(self, rng: random.Random) -> str:
        """Most keys with a plausible value, some with junk (a few repeated), some left out."""
        pairs = []
        for key in self.keys:
            if rng.random() < 0.3:
                continue
            if rng.random() < 0.7:
                pairs.append(_pair(key, self._plausible(key, rng), raw=False))
                continue
            value = rng.choice(MALFORMED + RAW + MORE)
            pairs.append(_pair(key, value, raw=value.startswith("%")))
            if rng.random() < 0.2:
                pairs.append(_pair(key, rng.choice(MALFORMED), raw=False))
        return "&".join(pairs)

    def _check(self, method: str, url: str, body: str, response: Any) -> None:
        self.sent += 1
        status = response.status_code
        logged_out = self.signed_in and status == 302 and response["Location"].startswith("/login/")
        if status >= 500 or logged_out:
            exc = getattr(response, "exc_info", None)
            error = f" {exc[0].__name__}: {exc[1]}" if exc else ""
            who = "chief" if self.signed_in else "anonymous"
            self.failures.append(f"{who}: {method} {url} [{_short(body)}] → {status}{error}")

    def _send(self, method: str, url: str, body: str) -> int:
        # A savepoint per request: a database error in one (PostgreSQL then refuses every later
        # statement of the transaction the test runs in) does not hide what the next ones do.
        savepoint = transaction.savepoint()
        if method == "GET":
            response = self.client.get(url, QUERY_STRING=body)
        else:
            response = self.client.generic("POST", url, body.encode(), content_type=FORM_BODY)
        if response.status_code >= 500:
            transaction.savepoint_rollback(savepoint)
        else:
            transaction.savepoint_commit(savepoint)
        self._check(method, url, body, response)
        return int(response.status_code)

    def get(self, url: str, query: str) -> int:
        return self._send("GET", url, query)

    def post(self, url: str, body: str) -> int:
        return self._send("POST", url, body)

    def route(self, route: str, ids: dict[str, int], *, get: bool = True, post: bool = True) -> None:
        """Every malformed value in every key, a few random mixes; the same requests on every run. A
        method the view does not take (405) is not sent again."""
        rng = random.Random(route)
        url = fill(route, ids)
        if get and self.get(url, self.mix(rng)) != 405:
            for value in MALFORMED + RAW:
                self.get(url, _every_key(self.keys, value, raw=value in RAW))
            for _ in range(MIXES):
                self.get(url, self.mix(rng))
        if post and self.post(url, self.mix(rng)) != 405:
            for value in rng.sample(MALFORMED, 4) + rng.sample(RAW, 1):
                self.post(url, _every_key(self.keys, value, raw=value in RAW))
            for _ in range(POST_MIXES):
                self.post(url, self.mix(rng))

    def once(self, route: str, ids: dict[str, int]) -> None:
        rng = random.Random(route)
        url = fill(route, ids)
        self.get(url, self.mix(rng))
        self.post(url, self.mix(rng))

    def huge_ids(self, route: str, ids: dict[str, int]) -> None:
        """Every id of the route too large for a bigint column (the path converter accepts it)."""
        url = fill(route, dict.fromkeys(ids, int("9" * 25)))
        self.get(url, "")
        self.post(url, "reason=x")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_fuzzer_knows_the_keys_the_views_read() -> None:
    keys = _keys()
    # a few a view reads directly and a few form fields, so the key finder cannot silently find nothing
    assert {"page", "status", "encoding", "slip_no", "taxpayer_no", "as_of", "date_from", UNKNOWN_KEY} <= set(
        keys
    )
    assert len(keys) >= 40


def test_no_url_answers_500_to_malformed_input(
    sample_city: Any,
    make_user: Callable[..., Any],
    write_csv: Callable[..., Path],
    settings: Any,
    tmp_path: Path,
) -> None:
    from conftest import login_verified

    settings.VAR_DIR = tmp_path  # disclosure files and uploads go to a temporary directory
    settings.CHOSHU_UPLOAD_DIR = tmp_path / "uploads"
    ids = objects_of(sample_city, make_user, write_csv)
    keys = _keys()
    # this city's own numbers, so that a view gets past its look-up and parses the junk beside them
    taro = Taxpayer.objects.get(pk=ids["taxpayer"])
    valid = [*VALID, *(s.slip_no for s in taxpayer_slips(sample_city, taro.pk)), *map(str, ids.values())]
    chief = all_rights_chief("fuzz-chief", sample_city, make_user)
    client = login_verified(Client(raise_request_exception=False), chief)
    failures: list[str] = []
    signed_in = Fuzzer(client, keys, signed_in=True, valid=valid, failures=failures)
    anonymous = Fuzzer(
        Client(raise_request_exception=False), keys, signed_in=False, valid=valid, failures=failures
    )
    for name, route in ROUTES:
        if name not in SESSION_ROUTES:  # a signed-in POST there would end the session under test
            signed_in.route(route, ids)
        if kinds_of(route):
            signed_in.huge_ids(route, ids)
        if name in OPEN_ROUTES:
            anonymous.route(route, ids)
        else:  # sent to the login page before anything is parsed: one of each is enough
            anonymous.once(route, ids)
    assert signed_in.sent > 1000 and anonymous.sent > 150
    assert failures == [], "\n".join(failures)
