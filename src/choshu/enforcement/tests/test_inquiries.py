"""財産調査 (issue 19 §1, §4): ``choshu inquiries-create`` — exactly the expected recipients and people,
one letter per recipient (a CSV for an electronic bank, docs/formats.md §25), no address of a 支援措置
person, all or nothing; tracking (照会中 / 期限超過 / 回答済) and answers recorded as assets."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from choshu.audit.models import AuditLog
from choshu.cases.models import Case
from choshu.enforcement.inquiries import Recipient, inquiries_create, inquiry_answer, inquiry_state
from choshu.enforcement.models import Asset, Inquiry, InquiryBatch
from choshu.enforcement.tests.conftest import D
from choshu.taxpayers.models import SpecialCollectionEmployee, SpecialCollector, Taxpayer

pytestmark = pytest.mark.django_db
AS_OF = D(2024, 8, 1)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("inquiries_create", *args, "--json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def employ(w: dict[str, Any], employee_no: str) -> None:
    corp = Taxpayer.objects.get(taxpayer_no="2001")
    collector = SpecialCollector.objects.create(
        municipality=w["city"], taxpayer=corp, designation_no="S0001", name="株式会社キューポラ",
        changed_at=timezone.now(),
    )  # fmt: skip
    SpecialCollectionEmployee.objects.create(
        municipality=w["city"], collector=collector, employee=Taxpayer.objects.get(taxpayer_no=employee_no),
        levy_year=2024, changed_at=timezone.now(),
    )  # fmt: skip


def test_deposit_inquiry_one_file_per_bank_with_every_target(w: dict[str, Any], out: Path) -> None:
    w["case"].stage = "investigating"
    w["case"].save(update_fields=["stage"])
    d = run("--kind", "deposit", "--as-of", "2024-08-01", "--out", str(out), "--case-stage", "investigating",
            "--to", "0001:みずほ銀行", "--to", "1234:川口信用金庫:e")  # fmt: skip
    people = set(Inquiry.objects.values_list("taxpayer__taxpayer_no", flat=True))
    assert people == {"1001"}  # the only case 調査中
    assert (d["recipients"], d["inquiries"]) == (2, 2)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["inquiry-deposit-20240801-001.pdf", "inquiry-deposit-20240801-002.csv"]
    assert (out / names[0]).read_bytes().startswith(b"%PDF")
    rows = list(csv.reader(io.StringIO((out / names[1]).read_bytes().decode("cp932"))))
    assert rows[0][:5] == ["照会番号", "照会日", "照会先コード", "照会先", "宛名番号"]
    assert [r[4] for r in rows[1:]] == ["1001"]
    assert rows[1][9] == "埼玉県川口市東川口1-2-3" and rows[1][10] == "2024-08-31"
    assert AuditLog.objects.filter(function="財産調査の照会（預貯金）").exists()
    # without a stage: every person with an open case, each bank asked about each of them
    every = set(Case.objects.filter(closed_on__isnull=True).values_list("taxpayer__taxpayer_no", flat=True))
    assert len(every) == 3
    d = run("--kind", "deposit", "--as-of", "2024-08-02", "--out", str(out), "--to", "0001:みずほ銀行",
            "--to", "0002:三井住友銀行")  # fmt: skip
    got = Inquiry.objects.filter(batch_id=d["batch_id"]).values_list(
        "recipient_name", "taxpayer__taxpayer_no"
    )
    assert sorted(got) == sorted((bank, no) for bank in ("みずほ銀行", "三井住友銀行") for no in every)


def test_protected_persons_address_is_not_written(w: dict[str, Any], out: Path) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    tp.support_measure_from = D(2024, 1, 1)
    tp.save(update_fields=["support_measure_from"])
    d = run("--kind", "deposit", "--as-of", "2024-08-01", "--out", str(out), "--to", "1234:川口信用金庫:e")
    assert d["protected"] == 1
    text = next(out.iterdir()).read_bytes().decode("cp932")
    assert "東川口" not in text and "3330801" not in text


def test_salary_inquiry_goes_to_each_employer_for_its_employees_only(w: dict[str, Any], out: Path) -> None:
    employ(w, "1001")
    d = run("--kind", "salary", "--as-of", "2024-08-01", "--out", str(out))
    assert d["recipients"] == 1
    assert list(Inquiry.objects.values_list("recipient_name", "taxpayer__taxpayer_no")) == [
        ("株式会社キューポラ", "1001")
    ]


def test_bad_requests_write_nothing(w: dict[str, Any], out: Path) -> None:
    for args, msg in [
        (["--kind", "deposit", "--as-of", "2024-08-01", "--out", str(out)], "照会先"),
        (["--kind", "deposit", "--as-of", "2024-13-01", "--out", str(out), "--to", "1:a"], "YYYY-MM-DD"),
        (
            ["--kind", "deposit", "--as-of", "2024-08-01", "--out", str(out / "no"), "--to", "1:a"],
            "フォルダ",
        ),
        (["--kind", "pension", "--as-of", "2024-08-01", "--out", str(out), "--to", "1:a:e"], "電子照会"),
        (
            ["--kind", "deposit", "--as-of", "2024-08-01", "--out", str(out), "--to", "bad"],
            "コード:名称",
        ),
        (
            [
                "--kind",
                "deposit",
                "--as-of",
                "2024-08-01",
                "--out",
                str(out),
                "--to",
                "1:a",
                "--case-stage",
                "x",
            ],
            "進行状況",
        ),
    ]:
        with pytest.raises(CommandError, match=msg):
            run(*args)
    assert not InquiryBatch.objects.exists() and list(out.iterdir()) == []
    # an existing file refuses the whole batch: nothing recorded, the other file not left behind
    (out / "inquiry-deposit-20240801-002.pdf").write_bytes(b"x")
    with pytest.raises(CommandError, match="既に存在します"):
        run("--kind", "deposit", "--as-of", "2024-08-01", "--out", str(out), "--to", "1:a", "--to", "2:b")
    assert not InquiryBatch.objects.exists() and [p.name for p in out.iterdir()] == [
        "inquiry-deposit-20240801-002.pdf"
    ]


def test_tracking_and_answers_become_assets(w: dict[str, Any], out: Path) -> None:
    inquiries_create(municipality=w["city"], kind="deposit", as_of=AS_OF, out_dir=out, actor=w["officer"],
                     recipients=[Recipient("1234", "川口信用金庫")], answer_days=14)  # fmt: skip
    inq = Inquiry.objects.get(taxpayer__taxpayer_no="1001")
    assert inquiry_state(inq, D(2024, 8, 15)) == "照会中"
    assert inquiry_state(inq, D(2024, 8, 16)) == "期限超過"
    with pytest.raises(ValidationError, match="回答日"):
        inquiry_answer(
            actor=w["officer"], inquiry=inq, answered_on=D(2024, 7, 1), note="残高あり", today=D(2024, 8, 20)
        )
    [asset] = inquiry_answer(
        actor=w["officer"], inquiry=inq, answered_on=D(2024, 8, 20), note="残高あり", today=D(2024, 8, 20),
        assets=[{"kind": "deposit", "description": "本店 普通 1234567", "amount": 85_000}],
    )  # fmt: skip
    inq.refresh_from_db()
    assert inquiry_state(inq, D(2024, 9, 1)) == "回答済"
    assert (asset.holder, asset.amount, asset.as_of, asset.taxpayer.taxpayer_no) == (
        "川口信用金庫",
        85_000,
        D(2024, 8, 20),
        "1001",
    )
    assert Asset.objects.count() == 1
    # the case file shows the asset and the answered inquiry
    from conftest import login_verified
    from django.test import Client

    page = login_verified(Client(), w["officer"]).get(f"/cases/{w['case'].pk}/").content.decode()
    assert "本店 普通 1234567" in page and "85,000円" in page and "回答済" in page
    with pytest.raises(ValidationError, match="回答済"):
        inquiry_answer(
            actor=w["officer"], inquiry=inq, answered_on=D(2024, 8, 20), note="x", today=D(2024, 8, 20)
        )
