"""利用者登録: the TOTP enrolment URI is also shown as a QR code (inline SVG made by segno on the server;
no external request; the page is not cached)."""

from __future__ import annotations

import html as html_lib
import re
from base64 import b32encode
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import segno  # type: ignore[import-untyped]
from conftest import login_verified
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.models import Role, User
from choshu.accounts.views import QR_OPTIONS, totp_qr_svg

NEW_USER = {
    "username": "shinnin.jiro",
    "display_name": "新任 次郎",
    "role": Role.CLERK,
    "team": "収納係",
    "password": "sakura no hana 2025",
    "password_confirm": "sakura no hana 2025",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chief_client(make_user: Callable[..., Any], municipality: Any) -> Client:
    return login_verified(Client(), make_user("kacho", role=Role.CHIEF, municipality=municipality))


def test_the_created_page_shows_the_uri_as_a_qr_code(chief_client: Client) -> None:
    response = chief_client.post(reverse("accounts:user-new"), NEW_USER)
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    uri = html_lib.unescape(re.search(r'<code class="secret" id="totp-uri">(.*?)</code>', page).group(1))  # type: ignore[union-attr]
    # what the URI says: a TOTP key for this account, issued by choshu, the key of its device
    parsed = urlparse(uri)
    query = parse_qs(parsed.query)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert unquote(parsed.path) == "/choshu:shinnin.jiro"
    assert query["issuer"] == ["choshu"]
    device = TOTPDevice.objects.get(user=User.objects.get(username="shinnin.jiro"))
    assert query["secret"] == [b32encode(device.bin_key).decode()]
    # the QR code on the page is segno's encoding of exactly that URI, inline (no <img>, no URL)
    figure = page.split('id="totp-qr"', 1)[1].split("</figure>", 1)[0]
    svg = re.search(r"<svg.*?</svg>", figure, flags=re.S).group(0)  # type: ignore[union-attr]
    assert svg == segno.make(uri, error="m", micro=False).svg_inline(**QR_OPTIONS)
    assert svg != segno.make(uri.replace("shinnin.jiro", "other"), error="m").svg_inline(**QR_OPTIONS)
    assert "<img" not in figure and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_the_qr_matrix_decodes_back_to_the_uri_bits() -> None:
    """The SVG's dark modules are the QR matrix of the URI (read back from the SVG path)."""
    uri = (
        "otpauth://totp/choshu%3Ataro?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30&issuer=choshu"
    )
    qr = segno.make(uri, error="m", micro=False)
    svg = totp_qr_svg(uri)
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    assert f'transform="scale({QR_OPTIONS["scale"]})"' in svg
    dark = _modules(path, QR_OPTIONS["border"])
    expected = {(x, y) for y, row in enumerate(qr.matrix) for x, bit in enumerate(row) if bit}
    assert dark == expected


def _modules(path: str, border: int) -> set[tuple[int, int]]:
    """The dark modules drawn by segno's path, in module units: horizontal strokes through the middle
    of each row ("M x y+.5 h n", then "m dx dy h n")."""
    cells: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, args in re.findall(r"([MmHhVv])\s*([-\d.\s]+)", path):
        nums = [float(n) for n in args.split()]
        if op == "M":
            x, y = nums[0], nums[1]
        elif op == "m":
            x, y = x + nums[0], y + nums[1]
        elif op in "hH":
            end = x + nums[0] if op == "h" else nums[0]
            for i in range(int(round(min(x, end))), int(round(max(x, end)))):
                cells.add((i - border, int(y - 0.5) - border))
            x = end
    return cells
