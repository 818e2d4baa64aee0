"""口座振替依頼 (issue 17 §1): checked and converted, effective only after a second person approves,
ゆうちょ 記号・番号 converted, unknown bank codes blocking until a chief confirms, the bulk CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from choshu.approvals.models import ApprovalStatus, ChangeRequest, RequestKind
from choshu.approvals.services import request_approve, request_reject, request_withdraw
from choshu.audit.models import AuditLog
from choshu.debits.models import Mandate, MandateKind, MandateStatus, StartNotice
from choshu.debits.services import mandate_override_bank, mandate_request, mandates_import
from choshu.debits.tests.conftest import approved, entry, request_of
from choshu.formats.debit_mandates import check_mandate, parse_mandates_csv
from choshu.formats.errors import FileRefused
from choshu.taxpayers.models import Taxpayer

pytestmark = pytest.mark.django_db
D = date


def test_the_holder_name_is_converted_to_the_zengin_repertoire() -> None:
    checked = check_mandate(entry(holder_name="キューポラ　ショウジ"))
    assert checked.ok and checked.holder_kana == "ｷﾕ-ﾎﾟﾗ ｼﾖｳｼﾞ"  # ー → '-', small kana enlarged, voiced split


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"holder_name": "川口太郎"}, "holder_name"),  # kanji cannot be converted: refused, never guessed
        ({"holder_name": "ア" * 31}, "holder_name"),  # 31 bytes: refused, never truncated
        ({"bank_code": "01"}, "bank_code"),
        ({"branch_code": "1a1"}, "branch_code"),
        ({"deposit_type": "4"}, "deposit_type"),
        ({"account": "12345678"}, "account"),
        ({"end": D(2024, 5, 1)}, "end"),
        ({"bank_code": "9900", "branch_code": "", "jp_kigo": "14031", "jp_bango": "12345671"}, "jp_kigo"),
        ({"bank_code": "0001", "jp_kigo": "14030", "jp_bango": "12345671"}, "jp_kigo"),
    ],
)
def test_a_bad_mandate_is_refused_naming_the_field(over: dict[str, Any], field: str) -> None:
    checked = check_mandate(entry(**over))
    assert not checked.ok and field in [f for f, _ in checked.errors]


def test_japan_post_bank_kigo_bango_become_the_zengin_branch_type_and_account() -> None:
    checked = check_mandate(entry(bank_code="", branch_code="", deposit_type="", account="", jp_kigo="00580",
                                  jp_bango="654321"))  # fmt: skip
    assert (checked.bank_code, checked.branch_code, checked.deposit_type, checked.account) == (
        "9900", "059", "2", "0654321"
    )  # fmt: skip


def test_a_mandate_takes_effect_only_when_another_person_approves(people: dict[str, Any]) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    m = mandate_request(actor=people["clerk"], taxpayer=tp, data=entry(), reason="依頼書受付")
    assert m.status == MandateStatus.PENDING and request_of(m).kind == RequestKind.DIRECT_DEBIT_MANDATE
    with pytest.raises(PermissionDenied):
        request_approve(actor=people["clerk"], request=request_of(m), decided_on=D(2024, 5, 21))
    m2 = mandate_request(actor=people["chief"], taxpayer=tp, data=entry(tax_item="01"), reason="受付")
    with pytest.raises(PermissionDenied, match="自分の申請"):
        request_approve(actor=people["chief"], request=request_of(m2), decided_on=D(2024, 5, 21))
    request_approve(actor=people["chief"], request=request_of(m), decided_on=D(2024, 5, 21))
    m.refresh_from_db()
    assert (m.status, m.approved_by, m.holder_kana) == (MandateStatus.ACTIVE, people["chief"], "ｶﾜｸﾞﾁ ﾀﾛｳ")
    assert StartNotice.objects.filter(mandate=m).exists()
    assert AuditLog.objects.filter(function="口座振替依頼の登録（決裁）").exists()


def test_a_rejected_or_withdrawn_mandate_stops_waiting_at_once(people: dict[str, Any]) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    m = mandate_request(actor=people["clerk"], taxpayer=tp, data=entry(), reason="依頼書受付")
    request_reject(actor=people["chief"], request=request_of(m), comment="口座名義が依頼書と違う")
    m.refresh_from_db()
    assert (m.status, m.status_note) == (MandateStatus.REJECTED, f"決裁否認（申請#{request_of(m).pk}）")
    assert AuditLog.objects.filter(function="口座振替依頼の否認・取下げ", subject_ids=[tp.pk]).exists()
    w = mandate_request(actor=people["clerk"], taxpayer=tp, data=entry(tax_item="01"), reason="受付")
    request_withdraw(actor=people["clerk"], request=request_of(w))
    w.refresh_from_db()
    assert w.status == MandateStatus.REJECTED and "取下げ" in w.status_note
    assert Mandate.objects.filter(status=MandateStatus.PENDING).count() == 0


def test_a_change_replaces_the_old_mandate_on_approval(people: dict[str, Any]) -> None:
    old = approved(people, "1001")
    tp = old.taxpayer
    new = mandate_request(
        actor=people["clerk"], taxpayer=tp, data=entry(account="7777777", start=D(2024, 9, 1)), reason="口座変更",
        replaces=old,
    )  # fmt: skip
    old.refresh_from_db()
    assert old.status == MandateStatus.ACTIVE  # nothing changes before the approval
    request_approve(actor=people["chief"], request=request_of(new), decided_on=D(2024, 8, 20))
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.end) == (MandateStatus.ENDED, D(2024, 8, 31))
    assert (new.status, new.kind) == (MandateStatus.ACTIVE, MandateKind.CHANGE)


def test_staff_without_the_edit_right_cannot_enter_a_mandate(people: dict[str, Any]) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    with pytest.raises(PermissionDenied):
        mandate_request(actor=people["window"], taxpayer=tp, data=entry(), reason="x")
    assert not Mandate.objects.exists()


def test_an_unknown_bank_code_blocks_until_a_chief_confirms_it(people: dict[str, Any]) -> None:
    m = approved(people, "1001", bank_code="9999", branch_code="999")
    assert m.bank_warnings and m.blocked
    with pytest.raises(PermissionDenied):
        mandate_override_bank(actor=people["clerk"], mandate=m, note="新設の支店")
    mandate_override_bank(actor=people["chief2"], mandate=m, note="新設の支店（金融機関に確認）")
    m.refresh_from_db()
    assert not m.blocked


CSV_HEADER = "taxpayer_no,tax_item,bank_code,branch_code,deposit_type,account,jp_kigo,jp_bango,holder_kana,start,end,received_on"


def test_the_bulk_csv_becomes_one_request_and_mandates_after_approval(
    people: dict[str, Any], write_csv: Any
) -> None:
    path = write_csv(
        CSV_HEADER,
        [
            "1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ ﾀﾛｳ,2024-06-01,,2024-05-10",
            "1002,,9900,,,,14030,12345671,ハトガヤ ハナコ,2024-06-01,,2024-05-10",
        ],
        encoding="cp932",
    )
    counts = mandates_import(municipality=people["clerk"].municipality, path=path, actor=people["clerk"],
                             reason="Pay-easy 受付結果 5月分")  # fmt: skip
    assert counts["mandates"] == 2
    req = ChangeRequest.objects.get(pk=counts["request_id"])
    assert set(Mandate.objects.values_list("status", flat=True)) == {MandateStatus.PENDING}
    request_approve(actor=people["chief"], request=req, decided_on=D(2024, 5, 21))
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    rows = dict(Mandate.objects.values_list("taxpayer__taxpayer_no", "account"))
    assert rows == {"1001": "0000123", "1002": "1234567"}
    assert set(Mandate.objects.values_list("status", flat=True)) == {MandateStatus.ACTIVE}


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("1001,01,0001,001,1,123,,,川口,2024-06-01,,2024-05-10", "holder_kana"),
        ("1001,01,0001,001,5,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10", "deposit_type"),
        ("1001,1,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10", "tax_item"),
        ("1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-31,,2024-05-10", "start"),
        ("1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,,,2024-05-10", "start"),
        ("1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10,extra", ""),
        ("x1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10", "taxpayer_no"),
    ],
)
def test_a_bad_csv_row_refuses_the_file_and_nothing_is_written(
    people: dict[str, Any], write_csv: Any, row: str, column: str
) -> None:
    path = write_csv(CSV_HEADER, ["1002,,9900,,,,14030,12345671,ﾊﾄｶﾞﾔ,2024-06-01,,2024-05-10", row])
    with pytest.raises(FileRefused) as refused:
        mandates_import(
            municipality=people["clerk"].municipality, path=path, actor=people["clerk"], reason="x"
        )
    assert [e.line for e in refused.value.errors] == [3]
    if column:
        assert refused.value.errors[0].column == column
    assert not Mandate.objects.exists() and not ChangeRequest.objects.exists()


def test_an_unknown_taxpayer_or_tax_item_refuses_the_csv(people: dict[str, Any], write_csv: Any) -> None:
    path = write_csv(CSV_HEADER, ["9999,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10",
                                  "1001,77,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10"])  # fmt: skip
    with pytest.raises(FileRefused) as refused:
        mandates_import(
            municipality=people["clerk"].municipality, path=path, actor=people["clerk"], reason="x"
        )
    assert {(e.line, e.column) for e in refused.value.errors} == {(2, "taxpayer_no"), (3, "tax_item")}
    assert not Mandate.objects.exists()


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xfe\x00garbage", CSV_HEADER.encode() + b"\r\n", b"a,b,c\r\n1,2,3\r\n"],
)
def test_the_mandate_parser_refuses_empty_garbage_and_wrong_headers(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(FileRefused):
        parse_mandates_csv(data, file_name="x.csv")


def test_a_duplicate_taxpayer_and_item_in_the_csv_is_refused() -> None:
    rows = "1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10\r\n"
    with pytest.raises(FileRefused) as refused:
        parse_mandates_csv((CSV_HEADER + "\r\n" + rows * 2).encode("cp932"))
    assert refused.value.errors[0].line == 3 and "2行目" in refused.value.errors[0].reason


def test_the_command_refuses_an_unknown_operator(sample_city: Any, write_csv: Any) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    path = write_csv(CSV_HEADER, ["1001,01,0001,001,1,123,,,ｶﾜｸﾞﾁ,2024-06-01,,2024-05-10"])
    with pytest.raises(CommandError, match="nobody"):
        call_command("debit_mandates", str(path), "--operator", "nobody", "--reason", "x")
    assert not Mandate.objects.exists()


def test_validation_errors_from_the_service_name_fields(people: dict[str, Any]) -> None:
    tp = Taxpayer.objects.get(taxpayer_no="1001")
    with pytest.raises(ValidationError) as exc:
        mandate_request(actor=people["clerk"], taxpayer=tp, data=entry(holder_name="山田"), reason="x")
    assert "holder_name" in exc.value.message_dict
    with pytest.raises(ValidationError, match="税目コード 77"):
        mandate_request(actor=people["clerk"], taxpayer=tp, data=entry(tax_item="77"), reason="x")
    assert not Mandate.objects.exists()
