"""Fixtures shared by the whole suite. Data is set up through the real services, never hand-made rows."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("CHOSHU_FIELD_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")  # test-only key
os.environ.setdefault("CHOSHU_AUDIT_KEY", "YXVkaXQta2V5LWZvci10ZXN0cy1vbmx5LTMyYnl0ZXM=")  # test-only key

TAXPAYER_HEADER = (
    "taxpayer_no,kind,name,name_kana,birth_date,sex,postal_code,address,address_extra,phone,"
    "my_number,corporate_number,resident,deceased_on"
)
# The business day the sample city's levies are booked on (調定日・日計日).
LEVIES_BOOKED_ON = date(2024, 4, 1)
LEVY_HEADER = "tax_item,levy_year,notice_no,taxpayer_no,installment_no,due_date,principal,slip_no"


# Argon2 (the production hasher, choshu.config.settings) costs 0.2–0.5 s per hash and per check on the
# CI machine, and the suite creates and signs in hundreds of users. The tests run with Django's fast
# test-only hasher; the tests of password storage itself ask for ``production_password_hashers``.
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _suite_settings(django_test_environment: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fast hasher, and runtime files (exports, reports, uploads, job progress, key files) in a
    directory of this test process's own, never the working copy's ``var/``: ``make test`` runs the
    SQLite and PostgreSQL passes at the same time and pytest-xdist runs workers side by side, each
    with its own database whose ids (job ids name progress files) start at 1 in every one."""
    from django.test.utils import override_settings

    var = tmp_path_factory.mktemp("var")
    with override_settings(
        PASSWORD_HASHERS=FAST_PASSWORD_HASHERS, VAR_DIR=var, CHOSHU_UPLOAD_DIR=var / "uploads"
    ):
        yield


@pytest.fixture
def production_password_hashers(settings: Any) -> Any:
    """The hashers production uses (argon2 first), for the tests that check how passwords are stored."""
    from choshu.config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    return production.PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings: Any, tmp_path: Path) -> Any:
    """Each test has its own checkpoint file (its database is rolled back; the file would not be)."""
    from choshu.audit.sealing import forget_process_state

    settings.CHOSHU_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"
    forget_process_state()
    yield
    forget_process_state()


@pytest.fixture(autouse=True)
def _fresh_tax_item_catalog() -> Any:
    """Each test reads the tax items its own database holds (ids are reused after a rollback)."""
    from choshu.levies.tax_items import forget_catalog

    forget_catalog()
    yield
    forget_catalog()


@pytest.fixture
def municipality(db: Any) -> Any:
    from choshu.core.services import municipality_create

    return municipality_create(
        code="112038",
        name="川口市",
        conveni_company_code="912345",
        conveni_client_code="11203",
        eltax_agency_no="11203",
    )


@pytest.fixture
def other_municipality(db: Any) -> Any:
    from choshu.core.services import municipality_create

    return municipality_create(code="112089", name="草加市")


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def write(header: str, rows: list[str], *, encoding: str = "utf-8", name: str | None = None) -> Path:
        path = tmp_path / (name or f"file{next(counter)}.csv")
        path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
        return path

    return write


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from choshu.accounts.models import User

    def make(
        username: str, *, role: str, municipality: Any, team: str = "", password: str = "correct horse 1"
    ) -> Any:
        return User.objects.create_user(
            username=username,
            password=password,
            role=role,
            team=team,
            municipality=municipality,
            display_name=username,
        )

    return make


def totp_device(user: Any) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
        user=user, name="TOTP", confirmed=True
    )


def totp_now(user: Any) -> str:
    """The code the user's authenticator app shows right now."""
    from django_otp.oath import totp

    device = totp_device(user)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def login_verified(client: Any, user: Any) -> Any:
    """Sign ``user`` in on the test client as after password + TOTP (the second factor passed)."""
    device = totp_device(user)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def sample_city(municipality: Any, write_csv: Callable[..., Path]) -> Any:
    """Three taxpayers with levies, imported through the real import services."""
    from choshu.levies.services import levies_import
    from choshu.taxpayers.services import taxpayers_import

    taxpayers = write_csv(
        TAXPAYER_HEADER,
        [
            "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,,048-111-2222,"
            "621498320257,,1,",
            "1002,individual,鳩ヶ谷 花子,ハトガヤ ハナコ,1985-12-24,2,3340002,埼玉県川口市鳩ヶ谷本町2-1-1,101号,,,,0,",
            "2001,corporation,株式会社キューポラ,キューポラ,1999-01-04,,3320012,埼玉県川口市本町4-1-1,,048-222-3333,"
            ",5835678256246,0,",
        ],
    )
    levies = write_csv(
        LEVY_HEADER,
        [
            "01,2024,100001,1001,1,2024-07-01,30000,",
            "01,2024,100001,1001,2,2024-09-02,29000,",
            "04,2024,400001,1001,1,2024-04-30,12000,",
            "05,2024,500001,1002,1,2024-05-31,10800,",
            "03,2024,300001,2001,1,2024-05-31,70000,",
        ],
    )
    taxpayers_import(municipality=municipality, path=taxpayers)
    levies_import(municipality=municipality, path=levies, booking_date=LEVIES_BOOKED_ON)
    return municipality


def purge_with_approval(municipality: Any, as_of: str, *extra: str) -> dict[str, Any]:
    """A real ``choshu purge`` as production runs it: chief A (granted the purge right by chief B)
    requests it, chief B approves; returns the purge report (the last JSON line of the approval)."""
    import json
    from io import StringIO

    from django.core.management import call_command

    from choshu.accounts.models import Role, User
    from choshu.accounts.permissions import Right
    from choshu.accounts.services import right_set

    def chief(name: str) -> Any:
        return User.objects.filter(username=name).first() or User.objects.create_user(
            username=name, password="correct horse 1", role=Role.CHIEF, municipality=municipality
        )

    requester, approver = chief("purge-requester"), chief("purge-approver")
    if not requester.right_overrides.filter(right=Right.PURGE, granted=True).exists():
        right_set(actor=approver, user=requester, right=Right.PURGE, granted=True, reason="年次の消去")
    out = StringIO()
    common = ("--json", "--municipality", municipality.code)
    call_command(
        "purge", "--as-of", as_of, "--operator", requester.username, "--request", "--reason", "年次の消去",
        *common, *extra, stdout=out,
    )  # fmt: skip
    request_id = json.loads(out.getvalue().strip().splitlines()[-1])["request_id"]
    out = StringIO()
    call_command("purge", "--operator", approver.username, "--approve", str(request_id), *common, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))
