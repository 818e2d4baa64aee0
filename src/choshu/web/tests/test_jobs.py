"""ファイル取込 from the browser: upload, the background task (django-tasks database backend), the
progress bar, the result page, the job history; the same file twice; a refused file; a crashed run."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from conftest import login_verified
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django_tasks.backends.database.models import DBTaskResult

from choshu.accounts.models import Role
from choshu.core.models import Job
from choshu.core.progress import JobProgress, TerminalBar, count_lines, job_progress
from choshu.formats.payments import BANK_HEADER
from choshu.formats.slipcodes import slip_codes
from choshu.operations.import_jobs import import_job_run, upload_dir
from choshu.receipts.models import Payment, SuspenseItem
from choshu.receipts.tests.test_import_payments import bank_row, slips
from choshu.rules.check_digits import make_slip_no

PAID = "2024-06-28"


def bank_file() -> bytes:
    """One payment that settles 川口 太郎's first installment, one on a slip nobody holds."""
    slip = slips("1001")[0]
    unknown = slip_codes(
        slip_no=make_slip_no("123456789012345"),
        confirmation_no="0000",
        amount=5000,
        pay_by=None,
        tax_item="01",
        company_code="912345",
        client_code="11203",
        agency_no="11203",
    )
    rows = [bank_row(slip, 30000, PAID), f"{unknown.ocr_lower},5000,{PAID},0001,123,{PAID}"]
    return ("\r\n".join([",".join(BANK_HEADER), *rows]) + "\r\n").encode()


def upload(client: Client, data: bytes, *, kind: str = "import-payments-bank", name: str = "bank.csv") -> Any:
    return client.post(
        reverse("web:job-upload"), {"kind": kind, "file": SimpleUploadedFile(name, data, "text/csv")}
    )


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.CHOSHU_UPLOAD_DIR = tmp_path / "uploads"
    settings.VAR_DIR = tmp_path


@pytest.fixture
def chief(make_user: Callable[..., Any], sample_city: Any) -> Any:
    return make_user("chief", role=Role.CHIEF, municipality=sample_city)


@pytest.fixture
def chief_client(client: Client, chief: Any) -> Client:
    login_verified(client, chief)
    return client


def test_a_chief_uploads_a_payment_file_and_the_worker_imports_it(
    transactional_db: Any, chief_client: Client, sample_city: Any
) -> None:
    """The real queue: the upload puts a task in django-tasks' database table; ``choshu worker
    --batch`` takes it and runs the same import as ``choshu import-payments``."""
    response = upload(chief_client, bank_file())
    job = Job.objects.get(kind=Job.Kind.IMPORT_PAYMENTS_BANK)
    assert response.status_code == 302 and response["Location"] == reverse("web:job-detail", args=[job.pk])
    assert job.status == Job.Status.QUEUED and job.parameters["source"] == "web"
    stored = upload_dir() / job.parameters["upload"]
    assert stored.read_bytes() == bank_file() and (stored.stat().st_mode & 0o777) == 0o600
    task = DBTaskResult.objects.get()
    assert (task.status, task.args_kwargs["args"]) == ("READY", [job.pk])

    page = chief_client.get(reverse("web:job-detail", args=[job.pk])).content.decode()
    assert "待機中" in page and 'hx-trigger="every 1s"' in page

    call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.errors
    assert DBTaskResult.objects.get().status == "SUCCEEDED"
    # both booked (``posted`` counts the suspended one too), one of them to suspense
    assert (job.counts["posted"], job.counts["suspense"], job.counts["amount_total"]) == (2, 1, 35000)
    assert (job.counts["amount_posted"], job.counts["amount_suspense"]) == (30000, 5000)
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert job.started_by is not None and job.started_by.username == "chief"
    assert Payment.objects.filter(job=job).count() == 2
    assert not stored.exists()  # personal data is not kept once imported

    page = chief_client.get(reverse("web:job-detail", args=[job.pk])).content.decode()
    assert "取込が完了しました" in page and "hx-trigger" not in page
    assert "35,000円" in page and "30,000円" in page and "5,000" in page
    item = SuspenseItem.objects.get()
    assert reverse("receipts:suspense-detail", args=[item.pk]) in page
    # the partial the page polled now asks the browser to reload the page with its result
    status = chief_client.get(
        reverse("web:job-status", args=[job.pk]) + "?active=1", headers={"HX-Request": "true"}
    )
    assert status.status_code == 286 or status.headers.get("HX-Refresh") == "true"


def test_the_same_file_twice_changes_nothing_and_says_so(chief_client: Client, sample_city: Any) -> None:
    first = upload(chief_client, bank_file())
    import_job_run.call(int(first["Location"].rstrip("/").split("/")[-1]))
    before = list(Payment.objects.order_by("pk").values_list("pk", "status", "amount"))

    second = upload(chief_client, bank_file())
    job_id = int(second["Location"].rstrip("/").split("/")[-1])
    import_job_run.call(job_id)

    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.SUCCEEDED and job.counts["file_already_imported"] is True
    assert (job.counts["posted"], job.counts["already_imported"]) == (0, 2)
    assert list(Payment.objects.order_by("pk").values_list("pk", "status", "amount")) == before
    page = chief_client.get(reverse("web:job-detail", args=[job_id])).content.decode()
    assert "このファイルは取込済みです" in page and "登録・変更したものはありません" in page


def test_a_refused_file_changes_nothing_and_its_page_lists_why(
    chief_client: Client, sample_city: Any
) -> None:
    slip = slips("1001")[0]
    bad = (
        ",".join(BANK_HEADER)
        + "\r\n"
        + bank_row(slip, 30000, PAID)
        + "\r\n"
        + bank_row(slip, 0, "2024-13-40")
    )
    response = upload(chief_client, bad.encode())
    job_id = int(response["Location"].rstrip("/").split("/")[-1])
    import_job_run.call(job_id)

    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.REFUSED and job.errors
    assert Payment.objects.count() == 0
    assert all(e["line"] == 3 for e in job.errors)
    page = chief_client.get(reverse("web:job-detail", args=[job_id])).content.decode()
    assert "取り込まなかった理由" in page and "ファイル全体を取り込んでいません" in page
    assert '<td class="num">3</td>' in page and job.errors[0]["reason"] in page
    assert "再実行" not in page  # a bad file is fixed and uploaded again, not re-run


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "ファイルが空です"),
        ("book.xlsx", b"PK\x03\x04 spreadsheet", "テキスト形式のファイル"),
        ("zip.csv", b"PK\x03\x04\x00\x00binary", "テキスト形式（CSV・固定長）のファイルではありません"),
    ],
)
def test_a_wrong_or_empty_upload_is_refused_in_japanese(
    chief_client: Client, sample_city: Any, name: str, data: bytes, message: str
) -> None:
    response = upload(chief_client, data, name=name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Job.objects.filter(status=Job.Status.QUEUED).exists() and not DBTaskResult.objects.exists()


def test_an_oversized_upload_is_refused(chief_client: Client, sample_city: Any, settings: Any) -> None:
    settings.CHOSHU_UPLOAD_MAX_BYTES = 100
    response = upload(chief_client, bank_file())
    assert response.status_code == 400
    assert "ファイルが大きすぎます" in response.content.decode() and "上限は0MB" not in ""
    assert not DBTaskResult.objects.exists()
    assert not list(upload_dir().rglob("*.csv")) if upload_dir().exists() else True


def test_a_chief_imports_taxpayers_and_levies_from_the_browser(
    chief_client: Client, sample_city: Any
) -> None:
    from conftest import LEVY_HEADER, TAXPAYER_HEADER

    people = (
        TAXPAYER_HEADER
        + "\r\n3001,individual,青木 一郎,アオキ イチロウ,1980-01-01,1,3330801,埼玉県川口市1-1,,,,,1,\r\n"
    )
    job_id = int(upload(chief_client, people.encode(), kind="import-taxpayers")["Location"].split("/")[-2])
    import_job_run.call(job_id)
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.counts["created"]) == (Job.Status.SUCCEEDED, 1)

    levies = LEVY_HEADER + "\r\n01,2024,100009,3001,1,2024-07-01,8000,\r\n"
    response = chief_client.post(
        reverse("web:job-upload"),
        {
            "kind": "import-levies",
            "booking_date": "2024-04-02",
            "file": SimpleUploadedFile("levies.csv", levies.encode(), "text/csv"),
        },
    )
    job = Job.objects.get(pk=int(response["Location"].split("/")[-2]))
    assert job.parameters["booking_date"] == "2024-04-02"
    import_job_run.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.counts["created"], job.counts["amount_levied"]) == (Job.Status.SUCCEEDED, 1, 8000)
    page = chief_client.get(reverse("web:job-detail", args=[job.pk])).content.decode()
    assert "調定額" in page and "8,000円" in page


def test_progress_is_written_at_chunk_boundaries(
    transactional_db: Any, sample_city: Any, monkeypatch: Any
) -> None:
    """Inside the import's open transaction the progress still reaches the screens (a connection of
    its own on PostgreSQL, a side file on SQLite), once per chunk, not per record."""
    import choshu.receipts.services as receipts_services
    from choshu.receipts.services import payments_import

    job = Job.objects.create(
        municipality=sample_city, kind=Job.Kind.IMPORT_PAYMENTS_BANK, status=Job.Status.RUNNING
    )
    progress = JobProgress(job, total=10)
    with transaction.atomic():
        progress(4)
        assert job_progress(Job.objects.get(pk=job.pk))[:2] == (4, 10)
    progress(7)  # outside a transaction: into the row itself
    assert Job.objects.values_list("progress_done", "progress_total").get(pk=job.pk) == (7, 10)
    progress.close()

    monkeypatch.setattr(receipts_services, "CHUNK", 2)
    slip = slips("1001")[0]
    rows = [bank_row(slip, 100 + i, PAID) for i in range(5)]
    path = Path(settings_var()) / "five.csv"
    path.write_text("\r\n".join([",".join(BANK_HEADER), *rows]) + "\r\n")
    seen: list[int] = []
    payments_import(municipality=sample_city, channel="bank", path=path, progress=seen.append)
    assert seen == [2, 4, 5]
    assert count_lines(path) == 6


def settings_var() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR)


def test_a_job_whose_worker_died_shows_as_interrupted_and_can_be_run_again(
    chief_client: Client, sample_city: Any
) -> None:
    response = upload(chief_client, bank_file())
    job = Job.objects.get(pk=int(response["Location"].split("/")[-2]))
    dead = subprocess.Popen(["true"])  # a process that has ended: its pid is no worker's
    dead.wait()
    import socket

    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        parameters={**job.parameters, "worker_pid": dead.pid, "worker_host": socket.gethostname()},
    )
    page = chief_client.get(reverse("web:job-detail", args=[job.pk])).content.decode()
    assert "中断" in page and "同じファイルで再実行する" in page and "hx-trigger" not in page
    assert "status-interrupted" in chief_client.get(reverse("web:job-list")).content.decode()

    again = chief_client.post(reverse("web:job-rerun", args=[job.pk]))
    new = Job.objects.get(pk=int(again["Location"].split("/")[-2]))
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "停止" in job.errors[0]["reason"]
    assert new.status == Job.Status.QUEUED and new.parameters["rerun_of"] == job.pk
    import_job_run.call(new.pk)
    new.refresh_from_db()
    assert new.status == Job.Status.SUCCEEDED and new.counts["amount_posted"] == 30000
    # a finished job cannot be re-run
    assert chief_client.post(reverse("web:job-rerun", args=[new.pk])).status_code == 302
    assert Job.objects.filter(parameters__rerun_of=new.pk).count() == 0


def test_the_history_lists_command_line_and_browser_imports_newest_first(
    chief_client: Client, sample_city: Any
) -> None:
    upload(chief_client, bank_file())
    page = chief_client.get(reverse("web:job-list")).content.decode()
    # sample_city's taxpayers and levies came from the import services (as the command line does)
    cells = [page.index(f"<td>{kind}</td>") for kind in ("収納取込（金融機関）", "調定取込", "宛名取込")]
    assert cells == sorted(cells)
    assert "ブラウザ" in page and "コマンド" in page
    levies_only = chief_client.get(reverse("web:job-list"), {"kind": "import-levies"}).content.decode()
    assert "調定取込" in levies_only and "宛名取込</td>" not in levies_only
    queued = chief_client.get(reverse("web:job-list"), {"status": "queued"}).content.decode()
    assert "収納取込（金融機関）</td>" in queued and "調定取込</td>" not in queued


def test_the_history_is_paginated(chief_client: Client, sample_city: Any) -> None:
    Job.objects.bulk_create(
        Job(municipality=sample_city, kind=Job.Kind.IMPORT_TAXPAYERS, status=Job.Status.SUCCEEDED)
        for _ in range(60)
    )
    page = chief_client.get(reverse("web:job-list")).content.decode()
    assert "次の50件" in page
    assert "前の50件" in chief_client.get(reverse("web:job-list"), {"page": 2}).content.decode()


@pytest.mark.parametrize("role", [Role.CLERK, Role.CASE_OFFICER, Role.WINDOW_CONTRACTOR, Role.AUDITOR])
def test_without_the_import_right_every_screen_is_forbidden(
    client: Client, make_user: Callable[..., Any], sample_city: Any, role: str
) -> None:
    job = Job.objects.filter(municipality=sample_city).first()
    assert job is not None
    login_verified(client, make_user("someone", role=role, municipality=sample_city))
    for url in (
        reverse("web:job-list"),
        reverse("web:job-upload"),
        reverse("web:job-detail", args=[job.pk]),
        reverse("web:job-status", args=[job.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("web:job-rerun", args=[job.pk])).status_code == 403
    assert upload(client, bank_file()).status_code == 403
    assert not DBTaskResult.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client: Client, sample_city: Any) -> None:
    job = Job.objects.filter(municipality=sample_city).first()
    assert job is not None
    for url in (reverse("web:job-list"), reverse("web:job-upload"), reverse("web:job-detail", args=[job.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("web:login")), url


def test_another_citys_jobs_do_not_exist(
    client: Client, make_user: Callable[..., Any], sample_city: Any, other_city: Any
) -> None:
    theirs = Job.objects.filter(municipality=other_city).first()
    assert theirs is not None
    login_verified(client, make_user("chief", role=Role.CHIEF, municipality=sample_city))
    for url in (reverse("web:job-detail", args=[theirs.pk]), reverse("web:job-status", args=[theirs.pk])):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("web:job-rerun", args=[theirs.pk])).status_code == 404
    assert f"#{theirs.pk}<" not in client.get(reverse("web:job-list")).content.decode()


def test_the_terminal_bar_draws_only_on_a_terminal() -> None:
    class Tty(StringIO):
        def isatty(self) -> bool:
            return True

    quiet = StringIO()
    TerminalBar(quiet, total=10)(5)
    assert quiet.getvalue() == ""
    tty = Tty()
    bar = TerminalBar(tty, total=10)
    bar(5)
    bar.finish("")
    assert "[###############...............]  50% 5/10件" in tty.getvalue()
    assert tty.getvalue().endswith("\n") and "100% 10/10件" in tty.getvalue()


def test_a_command_line_import_prints_nothing_extra_when_not_on_a_terminal(
    sample_city: Any, write_csv: Callable[..., Path]
) -> None:
    slip = slips("1001")[0]
    path = write_csv(",".join(BANK_HEADER), [bank_row(slip, 30000, PAID)])
    out, err = StringIO(), StringIO()
    call_command("import_payments", "--channel", "bank", str(path), "--json", stdout=out, stderr=err)
    assert err.getvalue() == "" and out.getvalue().count("\n") == 1


@pytest.mark.parametrize("kind", ["import-taxpayers", "import-levies"])
def test_a_refused_taxpayer_or_levy_file_refuses_its_own_queued_job(
    chief_client: Client, sample_city: Any, kind: str
) -> None:
    jobs_before = Job.objects.count()
    response = upload(chief_client, b"wrong,header\r\n1,2\r\n", kind=kind)
    job_id = int(response["Location"].split("/")[-2])
    import_job_run.call(job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.REFUSED and "見出し行" in job.errors[0]["reason"]
    assert Job.objects.count() == jobs_before + 1  # the queued job itself, no second record
    page = chief_client.get(reverse("web:job-detail", args=[job_id])).content.decode()
    assert "取り込まなかった理由" in page


def test_a_worker_on_another_server_is_judged_by_its_last_progress(sample_city: Any, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from choshu.operations.import_jobs import job_interrupted

    settings.CHOSHU_JOB_STALE_MINUTES = 30
    job = Job.objects.create(
        municipality=sample_city,
        kind=Job.Kind.IMPORT_PAYMENTS_BANK,
        status=Job.Status.RUNNING,
        parameters={"source": "web", "upload": "x.csv", "worker_host": "elsewhere", "worker_pid": 1},
        heartbeat_at=timezone.now() - timedelta(minutes=10),
    )
    assert not job_interrupted(job)
    assert job_interrupted(job, now=timezone.now() + timedelta(minutes=25))
    job.status = Job.Status.SUCCEEDED
    assert not job_interrupted(job, now=timezone.now() + timedelta(days=1))
