"""権限変更の報告書と権限一覧: screens, CSV downloads (CP932 / UTF-8 with BOM, CRLF), the export log,
and the ``rights-report`` / ``rights-review`` commands that write the same files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import login_verified
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from choshu.accounts.admin_services import csv_bytes
from choshu.accounts.models import RightChange, Role
from choshu.accounts.permissions import Right, effective_rights
from choshu.accounts.services import right_set
from choshu.audit.models import AuditKind, AuditLog

MY_NUMBER_OF_TARO = "621498320257"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 takes about 0.2 s per account; these tests are about screens, not password hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(municipality: Any, make_user: Callable[..., Any]) -> dict[str, Any]:
    chief = make_user("kacho", role=Role.CHIEF, municipality=municipality)
    clerk = make_user("tanto", role=Role.CLERK, municipality=municipality)
    auditor = make_user("kansa", role=Role.AUDITOR, municipality=municipality)
    right_set(actor=chief, user=clerk, right=Right.APPROVE, granted=True, reason="係長代理として決裁")
    return {"chief": chief, "clerk": clerk, "auditor": auditor}


@pytest.fixture
def auditor_client(staff: dict[str, Any]) -> Client:
    return login_verified(Client(), staff["auditor"])


def _today() -> str:
    return timezone.localdate().isoformat()


def _period(days_back: int = 0) -> dict[str, str]:
    start = timezone.localdate() - timedelta(days=days_back)
    return {"from": start.isoformat(), "to": _today()}


def _csv_lines(content: bytes, encoding: str) -> list[str]:
    text = content.decode(encoding)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.split("\r\n")[:-1]


# ---------------------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------------------


def test_the_change_report_lists_the_grants_of_the_period_with_reason_and_author(
    auditor_client: Client, staff: dict[str, Any]
) -> None:
    response = auditor_client.get(reverse("accounts:report-changes"), _period())
    html = response.content.decode()
    assert response.status_code == 200
    assert "係長代理として決裁" in html and Right.APPROVE.label in html
    assert "kacho" in html and "tanto" in html
    assert "印刷" in html and "課長" in html  # print button and the seal boxes of the printed form


def test_the_change_report_leaves_out_changes_outside_the_period(
    auditor_client: Client, staff: dict[str, Any]
) -> None:
    old = timezone.localdate() - timedelta(days=40)
    response = auditor_client.get(
        reverse("accounts:report-changes"),
        {"from": old.isoformat(), "to": (old + timedelta(days=1)).isoformat()},
    )
    assert "係長代理として決裁" not in response.content.decode()
    assert "この期間の権限変更はありません" in response.content.decode()


def test_the_change_report_defaults_to_this_month(auditor_client: Client, staff: dict[str, Any]) -> None:
    response = auditor_client.get(reverse("accounts:report-changes"))
    assert response.status_code == 200
    assert "係長代理として決裁" in response.content.decode()
    assert timezone.localdate().replace(day=1).isoformat() in response.content.decode()


@pytest.mark.parametrize(
    "period, message",
    [
        ({"from": "2025-05-01", "to": "2025-04-01"}, "終了日は開始日以降の日付にしてください"),
        ({"from": "2025/04/01", "to": "2025-04-30"}, "開始日は YYYY-MM-DD の形で入力してください"),
        ({"from": "2025-04-01"}, "終了日を入力してください"),
    ],
)
def test_a_wrong_period_is_refused_in_japanese_and_nothing_is_exported(
    auditor_client: Client, staff: dict[str, Any], period: dict[str, str], message: str
) -> None:
    for view in ("accounts:report-changes", "accounts:report-changes-csv"):
        response = auditor_client.get(reverse(view), period)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not AuditLog.objects.filter(kind=AuditKind.EXPORT).exists()


def test_the_change_report_never_shows_another_municipalitys_changes(
    auditor_client: Client, staff: dict[str, Any], other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    soka_chief = make_user("soka-kacho", role=Role.CHIEF, municipality=other_municipality)
    soka_clerk = make_user("soka-tanto", role=Role.CLERK, municipality=other_municipality)
    right_set(actor=soka_chief, user=soka_clerk, right=Right.APPROVE, granted=True, reason="草加の理由")
    html = auditor_client.get(reverse("accounts:report-changes"), _period()).content.decode()
    assert "草加の理由" not in html and "soka-tanto" not in html
    review = auditor_client.get(reverse("accounts:report-review")).content.decode()
    assert "soka-tanto" not in review and "tanto" in review


def test_the_review_marks_each_right_each_account_holds(
    auditor_client: Client, staff: dict[str, Any]
) -> None:
    html = auditor_client.get(reverse("accounts:report-review")).content.decode()
    assert "権限一覧（定期確認用）" in html
    held = sum(len(effective_rights(user)) for user in staff.values())
    # the chief's defaults (15 + 督促状の一括発付, 督促停止, 催告対象リスト, 過誤納・還付, 滞納整理,
    # 全班の滞納案件, 不納欠損, 緩和制度, 滞納処分, 決算, 納税証明書, 催告センターの管理), the clerk's with the grant (9 + 督促停止,
    # 過誤納・還付, 納税証明書), the auditor's
    assert held == 27 + 12 + 2
    assert html.count('class="mark">○</td>') == held
    assert Right.BACKUP.label in html


# ---------------------------------------------------------------------------------------------------
# CSV downloads and the export log
# ---------------------------------------------------------------------------------------------------


def test_the_change_report_csv_is_cp932_with_crlf_and_its_export_is_logged(
    auditor_client: Client, staff: dict[str, Any]
) -> None:
    response = auditor_client.get(reverse("accounts:report-changes-csv"), _period())
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert "attachment" in response["Content-Disposition"]
    lines = _csv_lines(response.content, "cp932")
    assert lines[0].startswith("変更日時,利用者ID,氏名,処理,権限,変更前,変更後,理由")
    grant = [line for line in lines if "係長代理として決裁" in line]
    assert len(grant) == 1 and "付与" in grant[0] and Right.APPROVE.label in grant[0]
    log = AuditLog.objects.get(kind=AuditKind.EXPORT)
    assert log.user == staff["auditor"] and log.function == "権限変更の報告書の出力"
    assert log.detail["rows"] == len(lines) - 1
    assert log.detail["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert log.detail["parameters"] == {"from": _today(), "to": _today()}


def test_the_csv_in_utf8_starts_with_a_bom_for_excel(auditor_client: Client, staff: dict[str, Any]) -> None:
    response = auditor_client.get(reverse("accounts:report-changes-csv"), {**_period(), "encoding": "utf-8"})
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = _csv_lines(response.content, "utf-8-sig")
    assert lines[0].startswith("変更日時,")
    log = AuditLog.objects.get(kind=AuditKind.EXPORT)
    assert (log.detail["encoding"], log.detail["sha256"]) == (
        "utf-8",
        hashlib.sha256(response.content).hexdigest(),
    )


def test_the_review_csv_has_a_row_per_account_and_a_column_per_right(
    auditor_client: Client, staff: dict[str, Any]
) -> None:
    response = auditor_client.get(reverse("accounts:report-review-csv"))
    lines = _csv_lines(response.content, "cp932")
    header = lines[0].split(",")
    assert header[:6] == ["利用者ID", "氏名", "職務", "班", "状態", "最終ログイン"]
    assert header[6:] == [str(label) for label in Right.labels]
    rows = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    assert set(rows) == {"kacho", "tanto", "kansa"}
    approve_col = header.index(Right.APPROVE.label)
    assert rows["tanto"][approve_col] == "○"  # granted by the chief
    assert rows["kansa"][approve_col] == ""
    log = AuditLog.objects.get(kind=AuditKind.EXPORT)
    assert (log.detail["rows"], log.detail["sha256"]) == (3, hashlib.sha256(response.content).hexdigest())
    assert sorted(log.subject_ids) == sorted(u.pk for u in staff.values())


def test_viewing_a_report_on_screen_is_not_an_export(auditor_client: Client, staff: dict[str, Any]) -> None:
    auditor_client.get(reverse("accounts:report-review"))
    auditor_client.get(reverse("accounts:report-changes"), _period())
    assert not AuditLog.objects.filter(kind=AuditKind.EXPORT).exists()


def test_a_deactivation_appears_in_the_change_report(staff: dict[str, Any], auditor_client: Client) -> None:
    chief_client = login_verified(Client(), staff["chief"])
    chief_client.post(reverse("accounts:user-deactivate", args=[staff["clerk"].pk]), {"reason": "退職"})
    lines = _csv_lines(auditor_client.get(reverse("accounts:report-changes-csv"), _period()).content, "cp932")
    assert any(",利用停止," in line and ",退職," in line for line in lines)


def test_a_character_cp932_cannot_hold_becomes_a_geta_mark_and_stays_exact_in_utf8() -> None:
    rows = [["𠮷田 一郎", "〜", "－"]]
    cp932 = csv_bytes(["氏名", "a", "b"], rows, encoding="cp932").decode("cp932")
    assert "〓田 一郎" in cp932 and "～" in cp932
    utf8 = csv_bytes(["氏名", "a", "b"], rows, encoding="utf-8").decode("utf-8-sig")
    assert "𠮷田 一郎" in utf8


def test_no_my_number_is_ever_written_to_a_rights_csv(
    sample_city: Any, make_user: Callable[..., Any]
) -> None:
    auditor = make_user("kansa", role=Role.AUDITOR, municipality=sample_city)
    client = login_verified(Client(), auditor)
    for view in ("accounts:report-changes-csv", "accounts:report-review-csv"):
        for encoding in ("cp932", "utf-8"):
            content = client.get(reverse(view), {**_period(), "encoding": encoding}).content
            assert MY_NUMBER_OF_TARO.encode() not in content


# ---------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------


def _run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    payload: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
    return payload


def test_rights_report_writes_the_same_csv_and_logs_it(staff: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "changes.csv"
    payload = _run("rights_report", "--from", _today(), "--to", _today(), "--output", str(target))
    content = target.read_bytes()
    assert payload["file"] == str(target) and payload["sha256"] == hashlib.sha256(content).hexdigest()
    lines = _csv_lines(content, "cp932")
    assert payload["rows"] == len(lines) - 1 == RightChange.objects.count()
    log = AuditLog.objects.get(kind=AuditKind.EXPORT)
    assert (log.user, log.detail["sha256"], log.detail["rows"]) == (None, payload["sha256"], payload["rows"])


def test_rights_review_writes_utf8_when_asked_and_records_the_operator(
    staff: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "review.csv"
    payload = _run("rights_review", "--output", str(target), "--encoding", "utf-8", "--operator", "kansa")
    content = target.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and payload["rows"] == 3
    assert AuditLog.objects.get(kind=AuditKind.EXPORT).user == staff["auditor"]


def test_the_commands_refuse_an_operator_without_the_report_right(
    staff: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="出力する権限がありません") as refused:
        call_command("rights_review", "--output", str(tmp_path / "x.csv"), "--operator", "tanto")
    assert refused.value.returncode == 2
    assert not (tmp_path / "x.csv").exists()
    assert not AuditLog.objects.filter(kind=AuditKind.EXPORT).exists()


@pytest.mark.parametrize(
    "dates, message",
    [
        (("2025-13-01", "2025-12-31"), "--from の日付が不正です"),
        (("2025-05-01", "2025-04-01"), "開始日が終了日より後"),
    ],
)
def test_rights_report_refuses_a_wrong_period(
    staff: dict[str, Any], tmp_path: Path, dates: tuple[str, str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command(
            "rights_report", "--from", dates[0], "--to", dates[1], "--output", str(tmp_path / "x.csv")
        )
    assert not AuditLog.objects.filter(kind=AuditKind.EXPORT).exists()


def test_the_command_report_is_byte_for_byte_the_download(
    staff: dict[str, Any], auditor_client: Client, tmp_path: Path
) -> None:
    target = tmp_path / "review.csv"
    _run("rights_review", "--output", str(target))
    download = auditor_client.get(reverse("accounts:report-review-csv")).content
    assert download == target.read_bytes()


def test_a_display_name_like_a_formula_is_written_as_text_in_the_review_csv(
    staff: dict[str, Any], auditor_client: Client
) -> None:
    """OWASP CSV injection (issue 14 §3): the rights-review CSV is opened in a spreadsheet."""
    from choshu.accounts.services import user_create

    formula = '=HYPERLINK("http://example.invalid/","開く")'
    user_create(
        username="formula",
        password="correct horse 1",
        role=Role.CLERK,
        municipality=staff["chief"].municipality,
        display_name=formula,
        actor=staff["chief"],
    )
    for encoding in ("cp932", "utf-8"):
        content = auditor_client.get(
            reverse("accounts:report-review-csv"), {**_period(), "encoding": encoding}
        )
        lines = _csv_lines(content.content, "utf-8-sig" if encoding == "utf-8" else encoding)
        cells = [cell for line in lines for cell in next(csv.reader([line]))]
        assert "'" + formula in cells
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
