"""The related-record layouts (docs/formats.md §7–§12): each bad field is reported with its line, column
and a Japanese reason, and a good row is read as typed values. Pure: no database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import Any

import pytest

from choshu.formats import related_csv as rc
from choshu.formats.errors import FileRefused, RowError

ITEMS = {"01", "02", "03", "04", "05", "06", "07"}


def _csv(header: tuple[str, ...], *rows: str) -> str:
    return "\r\n".join([",".join(header), *rows]) + "\r\n"


def parse(
    parser: Callable[..., Any], header: tuple[str, ...], *rows: str, width: int | None = None
) -> tuple[list[Any], list[RowError]]:
    errors: list[RowError] = []
    options: dict[str, Any] = {"taxpayer_no_width": width}
    if parser in (rc.parse_mailing_addresses, rc.parse_representatives):
        options["tax_items"] = ITEMS
    records = list(parser(_csv(header, *rows), errors, "test.csv", **options))
    return records, errors


MAIL = "1001,04,,山田 花子,ヤマダ ハナコ,３３２－００１１,埼玉県川口市元郷1-1-1,201,01,入院中,048-111-2222,2024-01-01,2024-12-31,メモ,0,OP01,2024-01-05,101500"
REP = "1001,4001,00,tax_manager,2024-01-01,,03-1111-2222,,0,,,"
CO = "3001,2024,A1,1,1001,1,1,2,0,,,"
HEIR = "1003,1,1001,1,1,2,2024-01-15,0,,,"
SC = "00012345,2002,鋳物工業株式会社,1,総務 花子,048-333-4445,0,,,"
EMP = "00012345,1001,2024,120000,2024-06,,0,,,"


def test_a_good_mailing_address_row_is_read_with_a_normalised_postal_code_and_stamps() -> None:
    (record,), errors = parse(rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL)
    assert errors == []
    assert (record.line, record.taxpayer_no, record.tax_item, record.postal_code) == (
        2,
        "1001",
        "04",
        "3320011",
    )
    assert (record.valid_from, record.valid_until) == (date(2024, 1, 1), date(2024, 12, 31))
    assert record.stamps == rc.Stamps(False, "OP01", date(2024, 1, 5), time(10, 15))


def test_the_standard_title_code_09_is_a_tax_manager_and_other_codes_are_agents() -> None:
    records, errors = parse(
        rc.parse_representatives, rc.REPRESENTATIVE_HEADER, REP.replace("tax_manager", "09"),
        REP.replace("tax_manager", "01").replace("2024-01-01", "2024-02-01"),
    )  # fmt: skip
    assert errors == [] and [r.role for r in records] == ["tax_manager", "agent"]


def test_a_delete_row_needs_only_its_key() -> None:
    records, errors = parse(rc.parse_mailing_addresses, rc.MAILING_HEADER, "1001,04,,,,,,,,,,,,,1,,,")
    assert errors == [] and records[0].stamps.delete and records[0].address == ""
    records, errors = parse(rc.parse_co_owners, rc.CO_OWNER_HEADER, "3001,2024,A1,1,1001,,,,1,,,")
    assert errors == [] and records[0].stamps.delete


def test_a_zero_filled_number_is_canonicalised_to_the_municipality_width() -> None:
    (record,), errors = parse(rc.parse_heirs, rc.HEIR_HEADER, "0000001003,1,1001,1,,,,0,,,", width=6)
    assert errors == [] and (record.deceased_taxpayer_no, record.heir_taxpayer_no) == ("001003", "001001")


BAD = [
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("1001,", "10a1,", 1), "taxpayer_no", "半角数字"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace(",04,", ",4,"), "tax_item", "半角英数字2桁"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace(",04,", ",08,"), "tax_item", "税目マスタにありません"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace(",04,,", ",00,V1,"), "vehicle_no", "税目を指定した送付先"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("３３２－００１１", "33200"), "postal_code", "7桁"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("埼玉県川口市元郷1-1-1", ""), "address", "必須項目が空です"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace(",01,入院中,048-111-2222", ",99,,"), "phone", "区分 99"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("048-111-2222", "048 111"), "phone", "電話番号"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("2024-12-31", "2023-12-31"), "valid_until", "開始日より前"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("2024-01-01", "2024/01/01"), "valid_from", "YYYY-MM-DD"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace(",0,OP01", ",2,OP01"), "delete_flag", "値が不正です"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("101500", "25:00:00"), "operated_time", "HH:MM:SS"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("OP01", "O" * 21), "operator_id", "20文字を超えています"),
    (rc.parse_mailing_addresses, rc.MAILING_HEADER, MAIL.replace("山田 花子", "山" * 201), "name", "200文字を超えています"),
    (rc.parse_representatives, rc.REPRESENTATIVE_HEADER, REP.replace("4001", "1001"), "agent_taxpayer_no", "自分の代理人"),
    (rc.parse_representatives, rc.REPRESENTATIVE_HEADER, REP.replace("2024-01-01", ""), "valid_from", "必須項目が空です"),
    (rc.parse_representatives, rc.REPRESENTATIVE_HEADER, REP.replace("tax_manager", "manager"), "role", "肩書"),
    (rc.parse_co_owners, rc.CO_OWNER_HEADER, CO.replace("2024", "24"), "levy_year", "西暦4桁"),
    (rc.parse_co_owners, rc.CO_OWNER_HEADER, CO.replace(",A1,1,", ",A1,0,"), "member_seq", "1〜32767"),
    (rc.parse_co_owners, rc.CO_OWNER_HEADER, CO.replace(",1,2,0", ",3,2,0"), "share_numerator", "分母より大きく"),
    (rc.parse_co_owners, rc.CO_OWNER_HEADER, CO.replace(",1,2,0", ",1,,0"), "share_denominator", "両方指定"),
    (rc.parse_co_owners, rc.CO_OWNER_HEADER, CO.replace("1001,1,", "1001,yes,"), "is_representative", "値が不正です"),
    (rc.parse_heirs, rc.HEIR_HEADER, HEIR.replace("1003,1,1001", "1003,1,1003"), "heir_taxpayer_no", "自分の相続人"),
    (rc.parse_heirs, rc.HEIR_HEADER, HEIR.replace("2024-01-15", "2024-02-30"), "since", "存在しない日付"),
    (rc.parse_special_collectors, rc.SPECIAL_COLLECTOR_HEADER, SC.replace("00012345", "0001 2345"), "designation_no", "指定番号"),
    (rc.parse_special_collectors, rc.SPECIAL_COLLECTOR_HEADER, SC.replace("鋳物工業株式会社", ""), "name", "必須項目が空です"),
    (rc.parse_special_collectors, rc.SPECIAL_COLLECTOR_HEADER, SC.replace(",1,総務", ",2,総務"), "due_date_special", "値が不正です"),
    (rc.parse_special_employees, rc.SPECIAL_EMPLOYEE_HEADER, EMP.replace("120000", "12,000"), "", "列の数"),
    (rc.parse_special_employees, rc.SPECIAL_EMPLOYEE_HEADER, EMP.replace("120000", "-5"), "annual_amount", "金額が負です"),
    (rc.parse_special_employees, rc.SPECIAL_EMPLOYEE_HEADER, EMP.replace("2024-06", "2024-13"), "start_month", "YYYY-MM"),
]  # fmt: skip


@pytest.mark.parametrize(("parser", "header", "row", "column", "reason"), BAD)
def test_a_bad_field_is_reported_with_line_column_and_a_japanese_reason(
    parser: Callable[..., Any], header: tuple[str, ...], row: str, column: str, reason: str
) -> None:
    good = {rc.MAILING_HEADER: MAIL, rc.REPRESENTATIVE_HEADER: REP, rc.CO_OWNER_HEADER: CO, rc.HEIR_HEADER: HEIR,
            rc.SPECIAL_COLLECTOR_HEADER: SC, rc.SPECIAL_EMPLOYEE_HEADER: EMP}[header]  # fmt: skip
    records, errors = parse(parser, header, good, row)
    assert len(records) == 1 and records[0].line == 2  # the good row is read, the bad one is not
    assert [(e.line, e.column) for e in errors] == [(3, column)]
    assert reason in errors[0].reason


@pytest.mark.parametrize(
    ("parser", "header"),
    [(rc.parse_mailing_addresses, rc.MAILING_HEADER), (rc.parse_representatives, rc.REPRESENTATIVE_HEADER),
     (rc.parse_co_owners, rc.CO_OWNER_HEADER), (rc.parse_heirs, rc.HEIR_HEADER),
     (rc.parse_special_collectors, rc.SPECIAL_COLLECTOR_HEADER),
     (rc.parse_special_employees, rc.SPECIAL_EMPLOYEE_HEADER)],
)  # fmt: skip
def test_a_header_out_of_order_refuses_the_file(parser: Callable[..., Any], header: tuple[str, ...]) -> None:
    with pytest.raises(FileRefused) as refused:
        parse(parser, (header[1], header[0], *header[2:]))
    assert refused.value.errors[0].line == 1
