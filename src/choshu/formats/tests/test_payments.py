"""Payment files of the three channels (interchange.md §3): good files parse, bad files are refused whole
with the line, column and a Japanese reason for every problem."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from choshu.formats.errors import FileRefused, RowError
from choshu.formats.payments import (
    BANK_HEADER,
    CONVENI_HEADER,
    ELTAX_HEADER,
    ChannelSettings,
    PaymentFile,
    RecordKind,
    parse_payment_file,
)
from choshu.formats.slipcodes import SlipCodes, slip_codes
from choshu.rules.check_digits import gs1_mod10_check_digit, make_slip_no

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = ChannelSettings(
    conveni_company_code="912345", conveni_client_code="11203", eltax_agency_no="11203"
)
SLIP_A = make_slip_no("202500100000001")  # 2025001000000017
SLIP_B = make_slip_no("202500400000017")  # 2025004000000179
SLIP_C = make_slip_no("202500500000023")  # 2025005000000237


def printed(
    slip_no: str = SLIP_A, amount: int = 12300, tax_item: str = "01", confirmation_no: str = "4821"
) -> SlipCodes:
    return slip_codes(
        slip_no=slip_no,
        confirmation_no=confirmation_no,
        amount=amount,
        pay_by=date(2025, 6, 30),
        tax_item=tax_item,
        company_code="912345",
        client_code="11203",
        agency_no="11203",
    )


BARCODE = printed().barcode


def with_cd(body43: str) -> str:
    return body43 + str(gs1_mod10_check_digit(body43))


def conveni_row(**fields: str) -> list[str]:
    """A clean 確報 of slip A unless overridden; user fields follow the barcode given."""
    barcode = fields.pop("barcode", BARCODE)
    digits = barcode.removeprefix("EAN")
    row = {
        "種別": "02",
        "収納日": "20250610",
        "収納時刻": "1432",
        "バーコード情報": barcode if barcode.startswith("EAN") or not barcode else "EAN" + barcode,
        "ユーザー使用欄1": digits[13:19],
        "ユーザー使用欄2": digits[19:30],
        "印紙フラグ": "0",
        "金額": str(int(digits[37:43])) if len(digits) == 44 and digits.isdigit() else "12300",
        "コンビニ本部コード": "020",
        "コンビニ名": "ローソン",
        "コンビニ店舗コード": "266376",
        "振込日": "20250620",
        "データ作成日": "20250616",
    }
    row.update(fields)
    return [row[h] for h in CONVENI_HEADER]


def csv_bytes(header: tuple[str, ...], rows: list[list[str]], encoding: str = "cp932") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([list(header), *rows])
    return out.getvalue().encode(encoding)


def conveni(*rows: list[str]) -> bytes:
    return csv_bytes(CONVENI_HEADER, list(rows))


def bank_row(**fields: str) -> list[str]:
    row = {
        "ocr_lower": printed().ocr_lower,
        "amount": "12300",
        "paid_on": "2025-06-10",
        "bank_code": "0001",
        "branch_code": "001",
        "booked_on": "2025-06-11",
    }
    row.update(fields)
    return [row[h] for h in BANK_HEADER]


def bank(*rows: list[str]) -> bytes:
    return csv_bytes(BANK_HEADER, list(rows), "utf-8")


def eltax_row(**fields: str) -> list[str]:
    row = {
        "transaction_id": "ELT20250610000001",
        "agency_no": "11203",
        "payment_no": SLIP_A,
        "confirmation_no": "4821",
        "payment_class": "001",
        "amount": "12300",
        "paid_on": "2025-06-10",
        "remitted_on": "2025-06-13",
        "cancelled": "0",
    }
    row.update(fields)
    return [row[h] for h in ELTAX_HEADER]


def eltax(*rows: list[str]) -> bytes:
    return csv_bytes(ELTAX_HEADER, list(rows), "utf-8")


def parse(data: bytes, channel: str, settings: ChannelSettings = SETTINGS) -> PaymentFile:
    return parse_payment_file(data, channel, settings=settings, file_name=f"{channel}.csv")


def refused(data: bytes, channel: str, settings: ChannelSettings = SETTINGS) -> list[RowError]:
    with pytest.raises(FileRefused) as exc:
        parse(data, channel, settings)
    assert exc.value.file_name == f"{channel}.csv"
    return exc.value.errors


def only_error(data: bytes, channel: str, settings: ChannelSettings = SETTINGS) -> RowError:
    errors = refused(data, channel, settings)
    assert len(errors) == 1, errors
    return errors[0]


# --- good files ----------------------------------------------------------------------------------------


def test_the_conveni_sample_file_parses_into_provisional_final_and_cancel_records() -> None:
    f = parse((FIXTURES / "conveni_ok.csv").read_bytes(), "conveni")
    assert (f.channel, f.encoding, len(f.sha256)) == ("conveni", "cp932", 64)
    assert [(r.line, r.kind) for r in f.records] == [
        (2, RecordKind.PROVISIONAL),
        (3, RecordKind.PROVISIONAL),
        (4, RecordKind.CANCEL_PROVISIONAL),
        (5, RecordKind.PROVISIONAL),
        (6, RecordKind.FINAL),
        (7, RecordKind.FINAL),
        (8, RecordKind.PROVISIONAL),
    ]
    first, final = f.records[0], f.records[4]
    assert first.reference == final.reference  # 速報 and 確報 of one payment share the key
    assert final.reference == f"2025-06-10|{BARCODE}|1432|010|458762"
    assert f.records[7 - 2].reference != first.reference  # the same slip paid again elsewhere
    assert (final.slip_no, final.confirmation_no, final.tax_item, final.amount) == (SLIP_A, "", "", 12300)
    assert (final.paid_on, final.booked_on, first.booked_on) == (date(2025, 6, 10), date(2025, 6, 20), None)
    assert final.detail["chain_name"] == "セブンイレブン" and final.detail["store_code"] == "458762"
    assert final.detail["barcode"] == BARCODE and final.detail["pay_by"] == "2025-06-30"
    assert f.records[5].booked_on == date(2025, 6, 20)  # YYYY-MM-DD dates are accepted too
    assert f.records[5].amount == 999_999
    assert f.count == 7 and f.amount_total == 12300 + 999_999  # FINAL only
    assert all(r.channel == "conveni" and len(r.reference) <= 120 for r in f.records)


def test_the_bank_sample_file_reads_slip_confirmation_and_tax_item_from_the_ocr_line() -> None:
    f = parse((FIXTURES / "bank_ok.csv").read_bytes(), "bank")
    assert f.encoding == "utf-8" and f.count == 4 and f.amount_total == 12300 + 45600 * 2 + 10800
    assert [(r.slip_no, r.confirmation_no, r.tax_item) for r in f.records] == [
        (SLIP_A, "4821", "01"),
        (SLIP_B, "0093", "04"),
        (SLIP_B, "0093", "04"),
        (SLIP_C, "7310", "05"),
    ]
    assert all(r.kind is RecordKind.FINAL for r in f.records)
    assert f.records[0].detail == {
        "ocr_lower": printed().ocr_lower,
        "bank_code": "0001",
        "branch_code": "001",
    }
    assert (f.records[0].paid_on, f.records[0].booked_on) == (date(2025, 6, 10), date(2025, 6, 11))


def test_two_identical_bank_rows_are_two_payments_with_distinct_references() -> None:
    f = parse((FIXTURES / "bank_ok.csv").read_bytes(), "bank")
    second, third = f.records[1].reference, f.records[2].reference
    assert second.startswith("bank:") and second.endswith(":1") and third.endswith(":2")
    assert second[:-2] == third[:-2]
    _, paid_on, slip_no, digest, _ = second.split(":")
    assert (paid_on, slip_no) == (f.records[1].paid_on.isoformat(), f.records[1].slip_no) and len(
        digest
    ) == 32
    assert len({r.reference for r in f.records}) == 4


def test_bank_references_are_stable_across_files() -> None:
    once = parse(bank(bank_row()), "bank").records[0].reference
    again = parse(bank(bank_row(amount="012300"), bank_row(amount="1")), "bank").records[0].reference
    assert once == again  # normalized: a zero-padded amount is the same receipt


def test_the_eltax_sample_file_parses_payments_and_cancellations() -> None:
    f = parse((FIXTURES / "eltax_ok.csv").read_bytes(), "eltax")
    assert f.encoding == "utf-8-sig" and f.count == 4
    assert [(r.reference, r.kind) for r in f.records] == [
        ("ELT20250610000001", RecordKind.FINAL),
        ("ELT20250610000002", RecordKind.FINAL),
        ("ELT20250610000002", RecordKind.CANCEL),
        ("ELT20250611000003", RecordKind.FINAL),
    ]
    cancel = f.records[2]
    assert (cancel.slip_no, cancel.confirmation_no, cancel.tax_item, cancel.amount) == (
        SLIP_B,
        "0093",
        "04",
        45600,
    )
    assert cancel.booked_on is None and f.records[1].booked_on == date(2025, 6, 13)
    assert f.amount_total == 12300 + 45600 + 10800  # cancellations are neither added nor subtracted


def test_a_conveni_file_in_utf8_and_a_barcode_without_ean_are_accepted() -> None:
    data = csv_bytes(CONVENI_HEADER, [conveni_row(**{"バーコード情報": BARCODE})], "utf-8")
    f = parse(data, "conveni")
    assert f.encoding == "utf-8" and f.records[0].detail["barcode"] == BARCODE


def test_empty_user_fields_are_accepted() -> None:
    f = parse(conveni(conveni_row(**{"ユーザー使用欄1": "", "ユーザー使用欄2": ""})), "conveni")
    assert f.records[0].slip_no == SLIP_A


def test_a_cancel_of_a_provisional_record_from_an_earlier_file_is_not_a_format_error() -> None:
    f = parse(conveni(conveni_row(**{"種別": "03", "振込日": "0"})), "conveni")
    assert f.records[0].kind is RecordKind.CANCEL_PROVISIONAL and f.records[0].booked_on is None


def test_a_file_with_only_a_header_has_no_records() -> None:
    f = parse(conveni(), "conveni")
    assert f.records == () and f.amount_total == 0


@pytest.mark.parametrize("channel", ["conveni", "bank", "eltax"])
def test_slip_codes_round_trip_through_every_channel(channel: str) -> None:
    codes = printed(slip_no=SLIP_C, amount=98765, tax_item="05", confirmation_no="7310")
    if channel == "conveni":
        data = conveni(conveni_row(barcode=codes.barcode))
    elif channel == "bank":
        data = bank(bank_row(ocr_lower=codes.ocr_lower, amount="98765"))
    else:
        el = codes.el_number
        data = eltax(
            eltax_row(
                agency_no=el[:5],
                payment_no=el[5:21],
                confirmation_no=el[21:25],
                payment_class=el[25:],
                amount="98765",
            )
        )
    record = parse(data, channel).records[0]
    assert (record.slip_no, record.amount) == (SLIP_C, 98765)
    if channel != "conveni":  # the barcode carries neither
        assert (record.confirmation_no, record.tax_item) == ("7310", "05")


# --- refusals common to every channel ---------------------------------------------------------------------


def test_an_unknown_channel_is_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="zengin"):
        parse_payment_file(b"", "zengin", settings=SETTINGS)


def test_invalid_settings_are_a_programmer_error() -> None:
    with pytest.raises(ValueError, match="conveni_company_code"):
        ChannelSettings("12345", "11203", "11203")


@pytest.mark.parametrize("channel", ["conveni", "bank", "eltax"])
def test_a_wrong_header_is_refused_at_line_1(channel: str) -> None:
    error = only_error("収納日,金額\r\n20250610,100\r\n".encode("cp932"), channel)
    assert (error.line, error.column) == (1, "") and "見出し行" in error.reason


def test_wrong_column_counts_and_truncated_rows_are_each_refused() -> None:
    data = conveni(conveni_row(), conveni_row()[:7], conveni_row() + ["x"])
    errors = refused(data, "conveni")
    assert [(e.line, e.column) for e in errors] == [(3, ""), (4, "")]
    assert "7 です" in errors[0].reason and "14 です" in errors[1].reason


def test_a_row_cut_inside_quotes_is_refused() -> None:
    data = conveni(conveni_row()) + b'02,20250610,1432,"EAN9191'
    error = refused(data, "conveni")[0]
    assert error.line == 3


def test_undecodable_bytes_are_refused_with_the_line() -> None:
    data = conveni(conveni_row()) + b"02,\xff\xfe\xfd\r\n"
    error = only_error(data, "conveni")
    assert error.line == 3 and "文字コード" in error.reason


def test_a_file_mixing_utf8_and_cp932_lines_is_refused() -> None:
    data = conveni(conveni_row()) + ",".join(conveni_row(**{"コンビニ店舗コード": "266377"})).encode("utf-8")
    error = only_error(data, "conveni")
    assert error.line == 3 and "混在" in error.reason


def test_every_error_in_the_file_is_listed_not_just_the_first() -> None:
    data = conveni(
        conveni_row(**{"収納日": "20250230"}),
        conveni_row(),
        conveni_row(**{"金額": "12301", "コンビニ本部コード": "1"}),
    )
    errors = refused(data, "conveni")
    assert [(e.line, e.column) for e in errors] == [(2, "収納日"), (4, "金額"), (4, "コンビニ本部コード")]


# --- conveni ---------------------------------------------------------------------------------------------


def test_conveni_files_are_refused_when_the_agent_codes_are_not_configured() -> None:
    error = only_error(conveni(conveni_row()), "conveni", ChannelSettings("", "", "11203"))
    assert error.line == 0 and "企業コード・委託者コードが設定されていません" in error.reason


CONVENI_BAD = [
    ("check digit + 1", {"barcode": BARCODE[:43] + str((int(BARCODE[43]) + 1) % 10)}, "バーコード情報", "チェックデジットが一致しません"),
    ("43-digit barcode", {"barcode": BARCODE[:43]}, "バーコード情報", "43桁"),
    ("letters in the barcode", {"バーコード情報": "EAN" + BARCODE[:10] + "O" + BARCODE[11:]}, "バーコード情報", "数字以外"),
    ("empty barcode", {"バーコード情報": ""}, "バーコード情報", "必須"),
    ("AI other than 91", {"barcode": with_cd("90" + BARCODE[2:43])}, "バーコード情報", "AI"),
    ("another agent's company code", {"barcode": with_cd("91" + "912346" + BARCODE[8:43])}, "バーコード情報", "企業コード 912346"),
    ("another city's client code", {"barcode": with_cd(BARCODE[:8] + "11204" + BARCODE[13:43])}, "バーコード情報", "委託者コード 11204"),
    ("slip number check digit", {"barcode": with_cd(BARCODE[:28] + str((int(SLIP_A[15]) + 1) % 10) + BARCODE[29:43])}, "バーコード情報", "納付番号"),
    ("amount differs from the barcode", {"金額": "12301"}, "金額", "バーコードの金額（12300円）"),
    ("7-digit amount", {"金額": "1000000"}, "金額", "999,999"),
    ("zero amount", {"金額": "0"}, "金額", "0円"),
    ("non-numeric amount", {"金額": "12,300"}, "金額", "整数"),
    ("negative amount", {"金額": "-12300"}, "金額", "負"),
    ("bad 支払期限", {"barcode": with_cd(BARCODE[:30] + "251340" + BARCODE[36:43])}, "バーコード情報", "支払期限 251340"),
    ("impossible 収納日", {"収納日": "20250231"}, "収納日", "存在しない日付"),
    ("slashed 収納日", {"収納日": "2025/06/10"}, "収納日", "YYYYMMDD"),
    ("empty 収納日", {"収納日": ""}, "収納日", "必須"),
    ("収納時刻 24:00", {"収納時刻": "2400"}, "収納時刻", "HHMM"),
    ("収納時刻 09:60", {"収納時刻": "0960"}, "収納時刻", "HHMM"),
    ("収納時刻 3 digits", {"収納時刻": "930"}, "収納時刻", "HHMM"),
    ("振込日 0 on a 確報", {"振込日": "0"}, "振込日", "確報には振込日が必要"),
    ("振込日 empty on a 確報", {"振込日": ""}, "振込日", "確報には振込日が必要"),
    ("振込日 before 収納日", {"振込日": "20250609"}, "振込日", "収納日より前"),
    ("振込日 on a 速報", {"種別": "01"}, "振込日", "確報だけ"),
    ("振込日 on a 速報取消", {"種別": "03"}, "振込日", "確報だけ"),
    ("bad データ作成日", {"データ作成日": "2025061"}, "データ作成日", "YYYYMMDD"),
    ("unknown 種別", {"種別": "04"}, "種別", "01 速報, 02 確報, 03 速報取消"),
    ("種別 without leading zero", {"種別": "2"}, "種別", "01 速報, 02 確報, 03 速報取消"),
    ("郵便振替 (12)", {"種別": "12"}, "種別", "郵便振替）には対応していません"),
    ("郵便振替訂正 (22)", {"種別": "22"}, "種別", "郵便振替訂正）には対応していません"),
    ("リアルデータ (81)", {"種別": "81"}, "種別", "リアルデータ）には対応していません"),
    ("ユーザー使用欄1 differs", {"ユーザー使用欄1": "202501"}, "ユーザー使用欄1", "202500"),
    ("ユーザー使用欄2 differs", {"ユーザー使用欄2": "99999999999"}, "ユーザー使用欄2", BARCODE[19:30]),
    ("chain code of 2 digits", {"コンビニ本部コード": "10"}, "コンビニ本部コード", "3桁"),
    ("store code with a space", {"コンビニ店舗コード": "12 34"}, "コンビニ店舗コード", "英数字"),
    ("empty store code", {"コンビニ店舗コード": ""}, "コンビニ店舗コード", "英数字"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "column", "reason"), [c[1:] for c in CONVENI_BAD], ids=[c[0] for c in CONVENI_BAD]
)
def test_a_malformed_conveni_row_is_refused_with_line_column_and_reason(
    fields: dict[str, str], column: str, reason: str
) -> None:
    data = conveni(conveni_row(), conveni_row(**{"コンビニ店舗コード": "999", **fields}))
    error = only_error(data, "conveni")
    assert (error.line, error.column) == (3, column)
    assert reason in error.reason, error.reason


def test_stamp_flag_1_is_refused_in_the_column_and_in_the_barcode() -> None:
    stamped = with_cd(BARCODE[:36] + "1" + BARCODE[37:43])
    errors = refused(conveni(conveni_row(barcode=stamped, **{"印紙フラグ": "1"})), "conveni")
    assert sorted((e.line, e.column) for e in errors) == [(2, "バーコード情報"), (2, "印紙フラグ")]
    assert all("印紙フラグ" in e.reason for e in errors)


def test_a_duplicate_final_record_is_refused_at_the_second_line() -> None:
    error = only_error(conveni(conveni_row(), conveni_row(**{"データ作成日": "20250617"})), "conveni")
    assert (error.line, error.column) == (3, "バーコード情報")
    assert "確報が2行目にもあります" in error.reason


def test_the_same_slip_paid_twice_at_different_stores_or_times_is_two_payments() -> None:
    f = parse(conveni(conveni_row(), conveni_row(**{"収納時刻": "1433"})), "conveni")
    assert len({r.reference for r in f.records}) == 2


def test_the_reference_does_not_depend_on_the_date_notation() -> None:
    dsk = parse(conveni(conveni_row(**{"種別": "01", "振込日": "0"})), "conveni").records[0]
    iso = parse(conveni(conveni_row(**{"収納日": "2025-06-10"})), "conveni").records[0]
    assert dsk.reference == iso.reference and dsk.kind != iso.kind


# --- bank ------------------------------------------------------------------------------------------------


def swapped_ocr() -> str:
    ocr = next(o for o in (printed(confirmation_no=f"{n:04d}").ocr_lower for n in range(100)) if o[0] != o[1])
    return ocr[1] + ocr[0] + ocr[2:]


BANK_BAD = [
    ("swapped OCR check digits", {"ocr_lower": swapped_ocr()}, "ocr_lower", "チェックデジットが一致しません"),
    ("43-digit OCR line", {"ocr_lower": printed().ocr_lower[:43]}, "ocr_lower", "43桁"),
    ("45-digit OCR line", {"ocr_lower": printed().ocr_lower + "0"}, "ocr_lower", "45桁"),
    ("empty OCR line", {"ocr_lower": ""}, "ocr_lower", "必須"),
    ("OCR line of another layout", {"ocr_lower": "22100250881102000000061050501000000000000000"}, "ocr_lower", "予算区分"),
    ("bank code 99999", {"bank_code": "99999"}, "bank_code", "4桁"),
    ("bank code with a letter", {"bank_code": "00a1"}, "bank_code", "4桁"),
    ("branch code of 2 digits", {"branch_code": "01"}, "branch_code", "3桁"),
    ("impossible paid_on", {"paid_on": "2025-02-29"}, "paid_on", "存在しない日付"),
    ("DSK-style paid_on", {"paid_on": "20250610"}, "paid_on", "YYYY-MM-DD"),
    ("booked_on missing", {"booked_on": ""}, "booked_on", "必須"),
    ("booked_on before paid_on", {"booked_on": "2025-06-09"}, "booked_on", "より前"),
    ("non-numeric amount", {"amount": "1.5"}, "amount", "整数"),
    ("negative amount", {"amount": "-12300"}, "amount", "負"),
    ("zero amount", {"amount": "0"}, "amount", "0円"),
    ("13-digit amount", {"amount": "1000000000000"}, "amount", "大きすぎ"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "column", "reason"), [c[1:] for c in BANK_BAD], ids=[c[0] for c in BANK_BAD]
)
def test_a_malformed_bank_row_is_refused_with_line_column_and_reason(
    fields: dict[str, str], column: str, reason: str
) -> None:
    error = only_error(bank(bank_row(), bank_row(**fields)), "bank")
    assert (error.line, error.column) == (3, column)
    assert reason in error.reason, error.reason


# --- eltax -----------------------------------------------------------------------------------------------


def test_eltax_files_are_refused_when_the_agency_number_is_not_configured() -> None:
    error = only_error(eltax(eltax_row()), "eltax", ChannelSettings("912345", "11203", ""))
    assert error.line == 0 and "収納機関番号が設定されていません" in error.reason


ELTAX_BAD = [
    ("another city's agency number", {"agency_no": "11204"}, "agency_no", "この団体の設定（11203）と異なります"),
    ("agency number of 4 digits", {"agency_no": "1120"}, "agency_no", "5桁"),
    ("payment_no check digit", {"payment_no": SLIP_A[:15] + str((int(SLIP_A[15]) + 1) % 10)}, "payment_no", "チェックデジット"),
    ("payment_no of 15 digits", {"payment_no": SLIP_A[:15]}, "payment_no", "16桁"),
    ("confirmation of 3 digits", {"confirmation_no": "482"}, "confirmation_no", "4桁"),
    ("payment class of an unknown tax", {"payment_class": "008"}, "payment_class", "値が不正"),
    ("payment class of 2 digits", {"payment_class": "01"}, "payment_class", "値が不正"),
    ("payment class not starting with 0", {"payment_class": "101"}, "payment_class", "値が不正"),
    ("cancelled 2", {"cancelled": "2"}, "cancelled", "値が不正"),
    ("cancelled empty", {"cancelled": ""}, "cancelled", "値が不正"),
    ("empty transaction id", {"transaction_id": ""}, "transaction_id", "64文字"),
    ("transaction id with a space", {"transaction_id": "ELT 1"}, "transaction_id", "64文字"),
    ("transaction id of 65 characters", {"transaction_id": "T" * 65}, "transaction_id", "64文字"),
    ("non-ASCII transaction id", {"transaction_id": "ＥＬＴ１"}, "transaction_id", "64文字"),
    ("remitted_on missing on a payment", {"remitted_on": ""}, "remitted_on", "必須"),
    ("remitted_on before paid_on", {"remitted_on": "2025-06-09"}, "remitted_on", "より前"),
    ("bad paid_on", {"paid_on": "2025-13-01"}, "paid_on", "存在しない日付"),
    ("negative amount", {"amount": "-1"}, "amount", "負"),
    ("non-numeric amount", {"amount": "１２３"}, "amount", "整数"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "column", "reason"), [c[1:] for c in ELTAX_BAD], ids=[c[0] for c in ELTAX_BAD]
)
def test_a_malformed_eltax_row_is_refused_with_line_column_and_reason(
    fields: dict[str, str], column: str, reason: str
) -> None:
    other = {"transaction_id": "ELT-OTHER"} if "transaction_id" not in fields else {}
    error = only_error(eltax(eltax_row(), eltax_row(**fields, **other)), "eltax")
    assert (error.line, error.column) == (3, column)
    assert reason in error.reason, error.reason


def test_a_cancellation_may_come_before_the_remittance_date_is_known() -> None:
    f = parse(eltax(eltax_row(cancelled="1", remitted_on="")), "eltax")
    assert f.records[0].kind is RecordKind.CANCEL and f.records[0].booked_on is None


@pytest.mark.parametrize("cancelled", ["0", "1"])
def test_a_transaction_id_twice_with_the_same_kind_is_refused(cancelled: str) -> None:
    error = only_error(eltax(eltax_row(cancelled=cancelled), eltax_row(cancelled=cancelled)), "eltax")
    assert (error.line, error.column, error.value) == (3, "transaction_id", "ELT20250610000001")
    assert "2行目" in error.reason


def test_a_ten_digit_user_field_2_as_in_the_gs1_free_area_layout_is_accepted() -> None:
    # formats-reference §2.1 splits the free area as 14–19 / 20–29; DSK's file carries 20–30.
    for value in (BARCODE[19:29], BARCODE[19:30], ""):
        row = conveni_row(**{"ユーザー使用欄2": value})
        parsed = parse(csv_bytes(CONVENI_HEADER, [row]), "conveni")
        assert parsed.records[0].amount == int(BARCODE[37:43])
