"""``levies.csv``: a plainly well-formed row read by one regular expression gives the record the field
checks give, and any row the expression passes over is still read (and refused) by the field checks —
in both layouts; the layout is chosen by the header; every column's bad form is refused with its line
and column."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from choshu.formats.errors import FileRefused, RowError
from choshu.formats.levies_csv import HEADER, OLD_HEADER, parse_levies
from choshu.rules.check_digits import make_slip_no

SLIP = make_slip_no("123456789012345")

OLD_FIELDS = {
    "tax_item": st.sampled_from(["01", "04", "06", "07", "A1", "1", "", "０１", "0-"]),
    "levy_year": st.sampled_from(["2024", "1949", "1950", "2200", "2201", "24", "20x4"]),
    "notice_no": st.sampled_from(["1", "100001", "123456789012", "1234567890123", "", "1-2"]),
    "taxpayer_no": st.sampled_from(["1001", "0001001", "123456789012345", "1234567890123456", "", "１"]),
    "installment_no": st.sampled_from(["1", "12", "0", "00", "123", ""]),
    "due_date": st.sampled_from(["2024-07-01", "2024-02-30", "2024-13-01", "2024/07/01", "", "2024-7-1"]),
    "principal": st.sampled_from(["0", "30000", "007", "-5", "1.000", "", "１００"]),
    "slip_no": st.sampled_from(["", SLIP, "1234567890123456", "12345", '"1,2"']),
}

NEW_FIELDS = {
    **OLD_FIELDS,
    "relevant_year": st.sampled_from(["", "2023", "1949", "23"]),
    "special_collector_no": st.sampled_from(["", "12345678", "AB12", "123456789012345678901", "１２"]),
    "filing_type": st.sampled_from(["", "1", "01", "123", "x"]),
    "filing_history_no": st.sampled_from(["", "0", "12345678", "123456789", "-1"]),
    "business_year_no": st.sampled_from(["", "1", "99999999", "1.5"]),
    "business_year_start": st.sampled_from(["", "2023-04-01", "2024-04-01", "2023-02-30"]),
    "business_year_end": st.sampled_from(["", "2024-03-31", "2023-13-01"]),
    "statutory_due_date": st.sampled_from(["", "2024-05-31", "2024-5-31"]),
    "designated_due_date": st.sampled_from(["", "2024-08-20", "2024-02-31"]),
    "due_date_special": st.sampled_from(["", "1", "0", "2"]),
    "breakdown_1": st.sampled_from(["", "0", "20000", "-1", "1,0"]),
    "breakdown_2": st.sampled_from(["", "10000", "x"]),
    "breakdown_3": st.sampled_from(["", "5"]),
    "operator_id": st.sampled_from(["", "OP001", "a.b-c_d", "担当者", "123456789012345678901", "\x01"]),
    "operated_on": st.sampled_from(["", "2024-04-01", "2024-04-31", "20240401"]),
    "operated_time": st.sampled_from(["", "09:30:00", "23:59:59", "24:00:00", "9:30:00", "09:30"]),
}


def _csv(header: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    return ",".join(header) + "\r\n" + "".join(",".join(r[h] for h in header) + "\r\n" for r in rows)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries(OLD_FIELDS), min_size=1, max_size=6), st.sampled_from([None, 7, 10]))
def test_the_plain_reading_gives_what_the_field_checks_give(
    rows: list[dict[str, str]], width: int | None
) -> None:
    text = _csv(OLD_HEADER, rows)
    plain_errors: list[RowError] = []
    checked_errors: list[RowError] = []
    plain = list(parse_levies(text, plain_errors, taxpayer_no_width=width))
    checked = list(parse_levies(text, checked_errors, plain=False, taxpayer_no_width=width))
    assert plain == checked
    assert plain_errors == checked_errors


@settings(max_examples=400, deadline=None)
@given(st.lists(st.fixed_dictionaries(NEW_FIELDS), min_size=1, max_size=6), st.sampled_from([None, 7]))
def test_the_plain_reading_of_the_standard_layout_gives_what_the_field_checks_give(
    rows: list[dict[str, str]], width: int | None
) -> None:
    text = _csv(HEADER, rows)
    plain_errors: list[RowError] = []
    checked_errors: list[RowError] = []
    plain = list(parse_levies(text, plain_errors, taxpayer_no_width=width))
    checked = list(parse_levies(text, checked_errors, plain=False, taxpayer_no_width=width))
    assert plain == checked
    assert plain_errors == checked_errors


GOOD = {
    "tax_item": "03", "levy_year": "2024", "relevant_year": "2023", "notice_no": "300001", "taxpayer_no": "2001",
    "special_collector_no": "", "filing_type": "01", "filing_history_no": "2", "business_year_no": "1",
    "business_year_start": "2023-04-01", "business_year_end": "2024-03-31", "installment_no": "1",
    "statutory_due_date": "2024-05-31", "due_date": "2024-07-10", "designated_due_date": "2024-07-25",
    "due_date_special": "", "principal": "130000", "breakdown_1": "50000", "breakdown_2": "80000",
    "breakdown_3": "", "slip_no": SLIP, "operator_id": "OP01", "operated_on": "2024-07-01",
    "operated_time": "09:15:30",
}  # fmt: skip


@pytest.mark.parametrize("plain", [True, False])
def test_a_row_of_the_standard_layout_gives_every_column(plain: bool) -> None:
    errors: list[RowError] = []
    (rec,) = parse_levies(_csv(HEADER, [GOOD]), errors, plain=plain, taxpayer_no_width=8)
    assert errors == []
    assert rec.taxpayer_no == "00002001"  # the municipality's fixed width
    assert rec.levy_key == ("03", 2024, 2023, "300001", "", 2, 1)
    assert (rec.filing_type, rec.business_year_start, rec.business_year_end) == (
        "01",
        date(2023, 4, 1),
        date(2024, 3, 31),
    )
    assert (rec.statutory_due_date, rec.due_date, rec.designated_due_date) == (
        date(2024, 5, 31),
        date(2024, 7, 10),
        date(2024, 7, 25),
    )
    assert rec.breakdown == (50000, 80000, None) and rec.principal == 130000 and rec.detailed
    assert (rec.operator_id, rec.operated_on, rec.operated_time) == (
        "OP01",
        date(2024, 7, 1),
        time(9, 15, 30),
    )


@pytest.mark.parametrize("plain", [True, False])
def test_empty_optional_columns_take_their_defaults(plain: bool) -> None:
    row = {k: "" for k in HEADER} | {
        "tax_item": "01", "levy_year": "2024", "notice_no": "1", "taxpayer_no": "1001", "installment_no": "2",
        "due_date": "2024-09-02", "principal": "29000",
    }  # fmt: skip
    (rec,) = parse_levies(_csv(HEADER, [row]), [], plain=plain)
    assert rec.relevant_year == 2024  # 相当年度 = 賦課年度
    assert rec.statutory_due_date == rec.designated_due_date == date(2024, 9, 2)  # = 納期限
    assert (rec.filing_history_no, rec.business_year_no, rec.special_collector_no) == (0, 0, "")
    assert rec.breakdown == (None, None, None) and rec.operated_on is None and rec.operated_time is None


def test_the_old_layout_gives_the_record_it_always_gave() -> None:
    (rec,) = parse_levies(",".join(OLD_HEADER) + "\r\n01,2024,100001,1001,1,2024-07-01,30000,\r\n", [])
    assert rec.key == ("01", 2024, 2024, "100001", "", 0, 0, 1)
    assert rec.statutory_due_date == rec.designated_due_date == rec.due_date == date(2024, 7, 1)
    assert not rec.detailed and rec.breakdown == (None, None, None) and rec.operator_id == ""


def test_a_header_of_neither_layout_refuses_the_file_naming_both() -> None:
    with pytest.raises(FileRefused) as exc:
        list(parse_levies("tax_item,levy_year\r\n01,2024\r\n", []))
    (error,) = exc.value.errors
    assert error.line == 1 and "relevant_year" in error.reason and "または" in error.reason


BAD_COLUMNS = [
    ("tax_item", "１"),
    ("relevant_year", "1949"),
    ("taxpayer_no", "123456789"),  # wider than the municipality's 8 digits
    ("special_collector_no", "AB-12"),
    ("filing_type", "123"),
    ("filing_history_no", "123456789"),
    ("business_year_no", "x"),
    ("business_year_start", ""),  # the end alone
    ("business_year_end", "2023-03-31"),  # before the start
    ("installment_no", "0"),
    ("statutory_due_date", "2024/05/31"),
    ("due_date", ""),
    ("designated_due_date", "2024-02-30"),
    ("due_date_special", "0"),
    ("principal", "-1"),
    ("breakdown_2", "8,0000"),
    ("slip_no", "1234567890123456"),
    ("operator_id", "123456789012345678901"),
    ("operated_on", "2024-04-31"),
    ("operated_time", "25:00:00"),
]


@pytest.mark.parametrize(("column", "value"), BAD_COLUMNS)
@pytest.mark.parametrize("plain", [True, False])
def test_a_bad_value_is_refused_with_its_line_and_column(column: str, value: str, plain: bool) -> None:
    row = GOOD | {column: value}
    text = _csv(HEADER, [GOOD, row]).replace("8,0000", '"8,0000"')
    errors: list[RowError] = []
    records = list(parse_levies(text, errors, plain=plain, taxpayer_no_width=8))
    assert [r.line for r in records] == [2]
    assert [(e.line, e.column) for e in errors] == [(3, column)]
    assert errors[0].reason  # a Japanese reason
