"""Notices (issue 16 §5): the 充当通知書 as a PDF with the embedded font, and the print-vendor file in
CP932, read back by the csv module; notices are marked printed once; bad options refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from choshu.refunds.models import NoticeKind, RefundNotice
from choshu.refunds.notices import notice_content, print_data_write, render_notice
from choshu.refunds.tests.helpers import cmd, pay, run

pytestmark = pytest.mark.django_db
D = date


@pytest.fixture
def appropriated(sample_city: Any, write_csv: Callable[..., Any]) -> RefundNotice:
    pay(write_csv, "1001", "100001", 30000, "2024-06-20")
    pay(write_csv, "1001", "100001", 30000, "2024-08-10")
    run("2024-09-30")
    return RefundNotice.objects.get(kind=NoticeKind.APPROPRIATION)


def test_the_appropriation_notice_lists_each_appropriation_with_its_date(appropriated: RefundNotice) -> None:
    d = notice_content(appropriated, user=None, on=D(2024, 10, 1))
    assert d.amount == 30000 and [(ln.amount, ln.on) for ln in d.lines] == [
        (12000, D(2024, 8, 10)),
        (18000, D(2024, 9, 2)),
    ]
    assert d.address_withheld  # no user: the address is not printed
    pdf = render_notice(d)
    assert pdf.startswith(b"%PDF") and b"IPAexGothic" in pdf and b"FontFile2" in pdf


def test_the_print_data_is_cp932_and_marks_the_notices_printed_once(
    appropriated: RefundNotice, tmp_path: Path
) -> None:
    out = tmp_path / "notices.csv"
    result = cmd("refund_notices", "--out", str(out))
    assert (result["rows"], result["blocked"]) == (1, 0)
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("cp932"))))
    assert rows[0][:4] == ["通知番号", "通知の種類", "通知日", "宛名番号"]
    [row] = rows[1:]
    assert row[1] == "過誤納金充当通知書" and row[3] == "1001" and row[4] == "川口 太郎"
    assert row[12] == "30000" and "12000円" in row[14] and "18000円" in row[14]
    assert RefundNotice.objects.get().printed_at is not None
    again = cmd("refund_notices", "--out", str(tmp_path / "again.csv"))
    assert again["rows"] == 0


def test_bad_options_are_refused_and_nothing_is_written(appropriated: RefundNotice, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    out.write_text("existing")
    with pytest.raises(CommandError, match="既に存在します"):
        cmd("refund_notices", "--out", str(out))
    with pytest.raises(ValidationError, match="文字コード"):
        print_data_write(
            municipality=appropriated.municipality,
            out=tmp_path / "y.csv",
            on=D(2024, 10, 1),
            encoding="latin-1",
        )
    assert not (tmp_path / "y.csv").exists() and RefundNotice.objects.get().printed_at is None
