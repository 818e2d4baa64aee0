"""The payment parsers' fast lane changes nothing but speed.

``_parse_bank`` / ``_parse_conveni`` read plain, valid rows themselves and hand every other row to the
field-by-field path; ``_parse_bank_reference`` / ``_parse_conveni_reference`` send every row through
that path. For any file — valid rows and rows with one mutation each, odd line breaks, quotes, blank
lines, duplicates — both yield the same records and the same errors in the same order. Likewise the
whole-file CP932 checks of ``decode_strict`` against the line-by-line check, and ``RawRows`` against
``iter_rows``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import pickle
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choshu.formats import csvfile, payments
from choshu.formats.csvfile import RawRows, decode_strict, iter_rows
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.payments import (
    BANK_HEADER,
    CONVENI_HEADER,
    REFERENCE_HAS_SLIP,
    ChannelSettings,
    PaymentRecord,
    parse_payment_file,
    stream_payment_file,
)
from choshu.formats.slipcodes import slip_codes
from choshu.rules.check_digits import (
    gs1_mod10_check_digit,
    is_valid_slip_no,
    make_slip_no,
    ocr_check_digits,
)

SETTINGS = ChannelSettings(
    conveni_company_code="912345", conveni_client_code="11203", eltax_agency_no="11203"
)
OTHER_CITY = ChannelSettings(conveni_company_code="912345", conveni_client_code="11204", eltax_agency_no="")

_Parser = Callable[[str, ChannelSettings, list[RowError], str], Iterator[PaymentRecord]]
PARSERS: dict[str, tuple[_Parser, _Parser]] = {
    "bank": (payments._parse_bank, payments._parse_bank_reference),
    "conveni": (payments._parse_conveni, payments._parse_conveni_reference),
}

Outcome = tuple[list[PaymentRecord], list[RowError], str]


def run(parser: _Parser, text: str, channel_settings: ChannelSettings = SETTINGS) -> Outcome:
    """Records, errors, and the refusal raised while reading (header, settings), if any."""
    errors: list[RowError] = []
    records: list[PaymentRecord] = []
    try:
        for record in parser(text, channel_settings, errors, "x.csv"):
            records.append(record)
    except FileRefused as exc:
        return records, errors, repr(exc.errors)
    return records, errors, ""


def assert_same(channel: str, text: str, channel_settings: ChannelSettings = SETTINGS) -> Outcome:
    fast, reference = PARSERS[channel]
    got = run(fast, text, channel_settings)
    expected = run(reference, text, channel_settings)
    assert got[2] == expected[2]
    assert got[1] == expected[1]
    assert got[0] == expected[0]
    for a, b in zip(got[0], expected[0], strict=True):  # == on dataclasses; check the details too
        assert type(a) is PaymentRecord and repr(a) == repr(b) and a.detail == b.detail
        assert channel in REFERENCE_HAS_SLIP and slip_in_reference(a) == a.slip_no
    return got


def slip_in_reference(rec: PaymentRecord) -> str:
    """The slip number where ``REFERENCE_HAS_SLIP`` says the reference holds it."""
    if rec.channel == "bank":
        return rec.reference.split(":")[2]
    return rec.reference.split("|")[1][13:29]


# --- generated rows ------------------------------------------------------------------------------------

DIGIT_SWAP = str.maketrans("0123456789", "１２３４５６７８９０")


def flip_digit(s: str, i: int, d: int) -> str:
    """``s`` with the i-th digit (mod len) replaced by a different digit."""
    if not s:
        return "1"
    i %= len(s)
    old = s[i]
    new = str((int(old) + 1 + d % 9) % 10) if old.isdigit() else "7"
    return s[:i] + new + s[i + 1 :]


def refix_gs1(digits: str) -> str:
    """A 44-digit barcode with its check digit made right again (to reach the checks behind it)."""
    return digits[:43] + str(gs1_mod10_check_digit(digits[:43]))


def refix_ocr(ocr: str) -> str:
    return ocr_check_digits(ocr[2:]) + ocr[2:]


PAY_BY = date(2025, 6, 30)


@st.composite
def printed_codes(draw: st.DrawFn) -> tuple[str, str, int]:
    """A slip's barcode digits, lower OCR line and amount."""
    amount = draw(st.one_of(st.integers(1, 999_999), st.sampled_from([1, 999_999, 100_000, 12300])))
    codes = slip_codes(
        slip_no=make_slip_no(f"{draw(st.integers(0, 10**15 - 1)):015d}"),
        confirmation_no=f"{draw(st.integers(0, 9999)):04d}",
        amount=amount,
        # mostly the few 支払期限 and 再発行区分 of the warm-up rows: the fast lane knows them
        pay_by=draw(st.sampled_from([None, PAY_BY, PAY_BY, date(2031, 2, 28)])),
        tax_item=draw(st.sampled_from(["01", "02", "03", "04", "05", "06"])),
        company_code=SETTINGS.conveni_company_code,
        client_code=SETTINGS.conveni_client_code,
        agency_no=SETTINGS.eltax_agency_no,
        reissue=draw(st.sampled_from([0, 0, 1, 9])),
    )
    return codes.barcode, codes.ocr_lower, amount


DAYS = st.dates(date(2025, 6, 1), date(2025, 6, 5))  # a few: a known date takes the fast lane

FIELD_MUTATIONS = [
    "flip",
    "fullwidth",
    "empty",
    "quote",
    "quote_comma",
    "quote_newline",
    "quote_doubled",
    "stray_quote",
    "space",
    "leading_zero",
    "zero",
    "negative",
    "append_digit",
    "drop_char",
]


def mutate_field(value: str, how: str, i: int) -> str:
    match how:
        case "flip":
            return flip_digit(value, i, i // 7)
        case "fullwidth":
            return value.translate(DIGIT_SWAP) if i % 2 else value[:1].translate(DIGIT_SWAP) + value[1:]
        case "empty":
            return ""
        case "quote":
            return f'"{value}"'
        case "quote_comma":
            return f'"{value},1"'
        case "quote_newline":
            return f'"{value}\r\n{value}"'
        case "quote_doubled":
            return f'"{value}""x"'
        case "stray_quote":
            return value[:1] + '"' + value[1:]
        case "space":
            return " " + value if i % 2 else value + " "
        case "leading_zero":
            return "0" + value
        case "zero":
            return "0"
        case "negative":
            return "-" + value
        case "append_digit":
            return value + str(i % 10)
        case _:
            return value[1:]


@st.composite
def bank_row(draw: st.DrawFn) -> list[str]:
    _, ocr, amount = draw(printed_codes())
    paid = draw(DAYS)
    booked = paid + timedelta(days=draw(st.integers(0, 3)))
    row = [
        ocr,
        str(amount),
        paid.isoformat(),
        f"{draw(st.integers(0, 9999)):04d}",
        f"{draw(st.integers(0, 999)):03d}",
        booked.isoformat(),
    ]
    kind = draw(st.integers(0, 9))
    if kind >= 5:  # about half the rows are valid as printed
        return row
    column = draw(st.integers(0, len(row) - 1))
    how = draw(st.sampled_from([*FIELD_MUTATIONS, "refix_ocr", "bad_date", "dsk_date", "early", "big"]))
    i = draw(st.integers(0, 99))
    if how == "refix_ocr":  # a wrong fixed part with right check digits: the checks behind them
        row[0] = refix_ocr(flip_digit(row[0], 2 + i % 42, i))
    elif how == "bad_date":
        row[2 + 3 * (i % 2)] = draw(st.sampled_from(["2025-02-30", "2025-13-01", "2025/06/01", "0000-01-01"]))
    elif how == "dsk_date":
        row[2] = row[2].replace("-", "")
    elif how == "early":
        row[5] = (paid - timedelta(days=1)).isoformat()
    elif how == "big":
        row[1] = draw(st.sampled_from(["999999999999", "1000000000000", "99999999999999999999"]))
    else:
        row[column] = mutate_field(row[column], how, i)
    return row


@st.composite
def conveni_row(draw: st.DrawFn) -> list[str]:
    digits, _, amount = draw(printed_codes())
    kind = draw(st.sampled_from(["01", "02", "02", "02", "03"]))
    paid = draw(DAYS)
    booked = paid + timedelta(days=draw(st.integers(0, 3)))
    dsk = draw(st.booleans())

    def day(d: date) -> str:
        return d.strftime("%Y%m%d") if dsk else d.isoformat()

    name = draw(st.sampled_from(["セブンイレブン", "ローソン", "ファミリーマート", "", "ﾐﾆｽﾄｯﾌﾟ"]))
    users = draw(st.sampled_from(["none", "both", "short", "one"]))
    row = [
        kind,
        day(paid),
        f"{draw(st.integers(0, 23)):02d}{draw(st.integers(0, 59)):02d}",
        ("EAN" if draw(st.booleans()) else "") + digits,
        digits[13:19] if users in ("both", "one") else "",
        digits[19:30] if users == "both" else digits[19:29] if users == "short" else "",
        "0",
        str(amount),
        draw(st.sampled_from(["010", "020", "030"])),
        f'"{name}"' if draw(st.booleans()) else name,
        draw(st.sampled_from(["266376", "0000001", "A1b2", "12345678901234567890"])),
        day(booked) if kind == "02" else draw(st.sampled_from(["", "0"])),
        day(booked),
    ]
    if draw(st.integers(0, 9)) >= 5:
        return row
    column = draw(st.integers(0, len(row) - 1))
    how = draw(
        st.sampled_from(
            [
                *FIELD_MUTATIONS,
                "refix_barcode",
                "stamp_1",
                "bad_deadline",
                "kind",
                "remit",
                "bad_date",
                "time",
            ]
            + ["long_name", "store", "user"]
        )
    )
    i = draw(st.integers(0, 99))
    bc = row[3].removeprefix("EAN")
    prefix = row[3][: len(row[3]) - len(bc)]
    if how == "refix_barcode":  # other company/client code, AI, slip number… with a right check digit
        row[3] = prefix + refix_gs1(flip_digit(bc, i % 43, i))
    elif how == "stamp_1":
        row[3] = prefix + refix_gs1(bc[:36] + "1" + bc[37:])
    elif how == "bad_deadline":
        row[3] = prefix + refix_gs1(bc[:30] + draw(st.sampled_from(["250230", "251301", "000000"])) + bc[36:])
    elif how == "kind":
        row[0] = draw(st.sampled_from(["12", "22", "81", "04", "2", "1"]))
    elif how == "remit":
        row[11] = draw(st.sampled_from(["", "0", day(paid - timedelta(days=1)), "20250631", day(booked)]))
    elif how == "bad_date":
        row[1 + 11 * (i % 2)] = draw(st.sampled_from(["20250230", "2025-6-1", "2025061", "0", "99999999"]))
    elif how == "time":
        row[2] = draw(st.sampled_from(["2400", "0960", "123", "12345", "ab12"]))
    elif how == "long_name":
        row[9] = "ア" * (payments._NAME_MAX + i % 3 - 1)
    elif how == "store":
        row[10] = draw(st.sampled_from(["", "123456789012345678901", "12-34", "ｱ1"]))
    elif how == "user":
        row[4 + i % 2] = flip_digit(row[4 + i % 2] or "123456", i, i)
    else:
        row[column] = mutate_field(row[column], how, i)
    return row


def warm_up(channel: str) -> list[str]:
    """Valid rows paid and booked on each day of DAYS and the two after (both DSK forms for conveni),
    so that the rows after them find their dates known and take the fast lane."""
    lines = []
    for i in range(7):
        day = date(2025, 6, 1 + i)
        codes = slip_codes(
            slip_no=make_slip_no(f"9{i:014d}"),
            confirmation_no="1234",
            amount=500 + i,
            pay_by=PAY_BY if i % 2 else None,
            tax_item="02",
            company_code="912345",
            client_code="11203",
            agency_no="11203",
            reissue=i % 3 // 2,
        )
        if channel == "bank":
            lines.append(f"{codes.ocr_lower},{500 + i},{day},0009,009,{day}")
        else:
            for d in (day.isoformat(), day.strftime("%Y%m%d")):
                lines.append(f"02,{d},0000,EAN{codes.barcode},,,0,{500 + i},090,ポプラ,{len(lines)},{d},{d}")
    return lines


@st.composite
def csv_text(draw: st.DrawFn, header: tuple[str, ...], rows: st.SearchStrategy[list[str]]) -> str:
    """A file: header, rows with their odd line breaks, blank lines, duplicates, extra/missing columns."""
    lines: list[str] = []
    if draw(st.integers(0, 4)):
        lines = warm_up("bank" if header == BANK_HEADER else "conveni")
    for row in draw(st.lists(rows, max_size=12)):
        shape = draw(st.integers(0, 19))
        if shape == 0 and lines:
            lines.append(draw(st.sampled_from(lines)))  # a duplicate row
        elif shape == 1:
            lines.append(",".join([*row, "x"]))
        elif shape == 2:
            lines.append(",".join(row[:-1]))
        elif shape == 3:
            lines.append("")  # a blank line
        else:
            lines.append(",".join(row))
    ends = draw(st.lists(st.sampled_from(["\r\n", "\r\n", "\n", "\r"]), min_size=len(lines) + 1))
    text = ",".join(header) + ends[0]
    for line, end in zip(lines, ends[1:], strict=False):
        text += line + end
    if draw(st.integers(0, 9)) == 0:
        text = text.rstrip("\r\n")  # no line break at the end
    return text


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(csv_text(BANK_HEADER, bank_row()))
def test_bank_fast_lane_yields_exactly_the_reference_records_and_errors(text: str) -> None:
    assert_same("bank", text)


@FAST
@given(csv_text(CONVENI_HEADER, conveni_row()))
def test_conveni_fast_lane_yields_exactly_the_reference_records_and_errors(text: str) -> None:
    assert_same("conveni", text)


@settings(max_examples=50, deadline=None)
@given(csv_text(CONVENI_HEADER, conveni_row()))
def test_conveni_addressed_elsewhere_or_unconfigured_is_refused_the_same(text: str) -> None:
    assert_same("conveni", text, OTHER_CITY)
    assert_same("conveni", text, ChannelSettings("", "", ""))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_public_entry_points_match_the_reference_through_decoding(data: st.DataObject) -> None:
    channel = data.draw(st.sampled_from(["bank", "conveni"]))
    rows = bank_row() if channel == "bank" else conveni_row()
    text = data.draw(csv_text(BANK_HEADER if channel == "bank" else CONVENI_HEADER, rows))
    raw = text.encode(data.draw(st.sampled_from(["utf-8", "cp932", "utf-8-sig"])))
    stream = stream_payment_file(raw, channel, settings=SETTINGS, file_name="x.csv")
    records = list(stream.records)
    expected = run(PARSERS[channel][1], decode_strict(raw).text)
    assert (records, stream.errors) == (expected[0], expected[1])
    if not expected[1]:
        assert parse_payment_file(raw, channel, settings=SETTINGS).records == tuple(records)


# --- every single mutation of one row, systematically -------------------------------------------------


def _one_mutation_cases(channel: str) -> Iterator[list[str]]:
    """A valid row with known dates and 支払期限, then each field mutated every way, every digit of
    the OCR line or barcode changed (with and without its check digit made right again)."""
    codes = slip_codes(
        slip_no=make_slip_no("202500700000123"),
        confirmation_no="4821",
        amount=12300,
        pay_by=PAY_BY,
        tax_item="04",
        company_code="912345",
        client_code="11203",
        agency_no="11203",
    )
    refix: Callable[[str], str]
    if channel == "bank":
        base = [codes.ocr_lower, "12300", "2025-06-02", "0001", "123", "2025-06-03"]
        code_column, prefix, refix = 0, "", refix_ocr
    else:
        bc = codes.barcode
        base = ["02", "20250602", "1432", "EAN" + bc, bc[13:19], bc[19:30], "0", "12300", "020"]
        base += ["ローソン", "266376", "20250603", "20250603"]
        code_column, prefix, refix = 3, "EAN", refix_gs1
    yield base
    for column in range(len(base)):
        for how in FIELD_MUTATIONS:
            for i in (0, 1, 5, 13, 40):
                row = base.copy()
                row[column] = mutate_field(row[column], how, i)
                yield row
    code = base[code_column].removeprefix(prefix)
    for position in range(44):
        for d in (0, 4, 8):
            row = base.copy()
            row[code_column] = prefix + flip_digit(code, position, d)
            yield row
            row = base.copy()
            row[code_column] = prefix + refix(flip_digit(code, position, d))
            yield row
    if channel == "conveni":
        for column, values in (
            (0, ["01", "03", "12", "81", "00"]),
            (4, ["", bc[13:19], bc[14:20]]),
            (5, ["", bc[19:29], bc[19:30], bc[20:31]]),
            (11, ["", "0", "20250601", "20250602", "2025-06-03", "20250608"]),
        ):
            for value in values:
                row = base.copy()
                row[column] = value
                yield row
                if column == 11:
                    yield [row[0].replace("02", "01"), *row[1:]]
    else:
        for paid, booked in (
            ("2025-06-03", "2025-06-02"),
            ("2025-06-02", "2025-06-02"),
            ("2025-06-07", "2025-06-01"),
        ):
            yield [base[0], base[1], paid, base[3], base[4], booked]


@pytest.mark.parametrize("channel", ["bank", "conveni"])
def test_every_single_mutation_of_a_row_gives_the_reference_result(channel: str) -> None:
    header = ",".join(BANK_HEADER if channel == "bank" else CONVENI_HEADER)
    warm = warm_up(channel)
    cases = list(_one_mutation_cases(channel))
    valid = ",".join(cases[0])
    fast_records = 0
    for row in cases:
        text = "\r\n".join([header, *warm, ",".join(row), valid]) + "\r\n"
        records, errors, _ = assert_same(channel, text)
        fast_records += not errors
    assert len(cases) > 500 and fast_records > 20


# --- the fast lane is taken, and stops where the reference stops -------------------------------------


def _valid_rows(n: int) -> tuple[str, str]:
    bank, conveni = [",".join(BANK_HEADER)], [",".join(CONVENI_HEADER)]
    for i in range(n):
        codes = slip_codes(
            slip_no=make_slip_no(f"2025{i:011d}"),
            confirmation_no=f"{i % 10000:04d}",
            amount=1000 + i,
            pay_by=date(2025, 6, 30) if i % 2 else None,
            tax_item="01",
            company_code="912345",
            client_code="11203",
            agency_no="11203",
        )
        day = date(2025, 6, 1 + i % 3)
        bank.append(f"{codes.ocr_lower},{1000 + i},{day},0001,{i % 1000:03d},{day}")
        name = '"ローソン"' if i % 2 else "ローソン"
        d = day.strftime("%Y%m%d")
        conveni.append(f"02,{d},1200,EAN{codes.barcode},,,0,{1000 + i},010,{name},{i},{d},{d}")
    return "\r\n".join(bank) + "\r\n", "\r\n".join(conveni) + "\r\n"


def test_valid_rows_take_the_fast_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a row with a date not seen before goes the slow way (it learns the date)."""
    bank, conveni = _valid_rows(60)
    slow: list[int] = []
    for name in ("_bank_row", "_conveni_row"):
        original = getattr(payments, name)

        def counted(line: int, *args: object, original: Callable[..., object] = original) -> object:
            slow.append(line)
            return original(line, *args)

        monkeypatch.setattr(payments, name, counted)
    for channel, text in (("bank", bank), ("conveni", conveni)):
        slow.clear()
        records, errors, _ = run(PARSERS[channel][0], text)
        assert len(records) == 60 and not errors
        assert slow == [2, 3, 4]


def test_the_error_cap_stops_both_paths_at_the_same_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "MAX_ERRORS", 3)
    bank, conveni = _valid_rows(12)
    for channel, text in (("bank", bank), ("conveni", conveni)):
        lines = text.split("\r\n")
        lines[3] = lines[5] = lines[8] = "1,2"
        records, errors, _ = assert_same(channel, "\r\n".join(lines))
        assert len(errors) == 3 and [r.line for r in records] == [2, 3, 5, 7, 8]


def test_a_csv_syntax_error_stops_both_paths() -> None:
    bank, _ = _valid_rows(5)
    lines = bank.split("\r\n")
    lines[3] = '"unterminated,' + lines[3]
    records, errors, _ = assert_same("bank", "\r\n".join(lines))
    assert [r.line for r in records] == [2, 3] and "CSV" in errors[0].reason


def test_a_quoted_field_over_several_lines_keeps_the_line_numbers() -> None:
    """A line break inside a field is refused as a control character (issue 14 §4) by both paths
    alike; the rows after it keep their physical line numbers."""
    _, conveni = _valid_rows(6)
    lines = conveni.split("\r\n")
    lines[2] = lines[2].replace(',"ローソン",', ',"ロー\r\nソン\nX",')
    records, errors, _ = assert_same("conveni", "\r\n".join(lines))
    assert [r.line for r in records] == [2, 6, 7, 8, 9]
    assert [e.line for e in errors] == [3] and "制御文字（改行(CR)" in errors[0].reason


def test_a_nul_in_a_plain_line_is_refused_by_both_paths() -> None:
    bank, conveni = _valid_rows(4)
    for channel, text in (("bank", bank), ("conveni", conveni)):
        lines = text.split("\r\n")
        lines[2] = lines[2][:-1] + "\x00" + lines[2][-1:]
        records, errors, _ = assert_same(channel, "\r\n".join(lines))
        assert [r.line for r in records] == [2, 4, 5]
        assert [e.line for e in errors] == [3] and "NUL" in errors[0].reason


def test_a_small_csv_field_size_limit_leaves_the_fast_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    bank, conveni = _valid_rows(3)
    old = csv.field_size_limit()
    try:
        csv.field_size_limit(40)
        assert_same("bank", bank)
        assert_same("conveni", conveni)
    finally:
        csv.field_size_limit(old)


# --- the building blocks -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**15 - 1),
    st.integers(0, 9999),
    st.sampled_from(["01", "02", "03", "04", "05", "06"]),
    st.integers(0, 43),
    st.integers(0, 9),
)
def test_the_ocr_lanes_check_exactly_what_the_check_digit_functions_check(
    body: int, confirmation: int, tax_item: str, position: int, digit: int
) -> None:
    slip = f"{body:015d}"
    slip += str(digit if position == 43 else gs1_mod10_check_digit(slip))  # sometimes a wrong one
    body42 = f"00000{tax_item}8000{slip}{confirmation:04d}" + "0" * 11
    cds = ocr_check_digits(body42)
    for ocr in (cds + body42, flip_digit(cds + body42, position, digit)):
        fields = (ocr[7:9], ocr[13:17], ocr[17:21], ocr[21:25], ocr[25:29], ocr[29:33])
        if (
            fields[0] not in payments._bank_tables()[0]
            or ocr[2:7] + ocr[9:13] + ocr[33:] != "000008000" + "0" * 11
        ):
            continue  # the pattern holds these fixed
        lanes = sum(table[f] for table, f in zip(payments._bank_tables(), fields, strict=True))
        fast = ocr[:2] == payments._OCR_CHECK_DIGITS[lanes & 0xFFFF] and payments._MULTIPLE_OF_10[lanes >> 16]
        assert fast == (ocr_check_digits(ocr[2:]) == ocr[:2] and is_valid_slip_no(ocr[13:29]))


@settings(max_examples=300, deadline=None)
@given(printed_codes(), st.integers(13, 43), st.integers(0, 9))
def test_the_barcode_lanes_check_exactly_what_the_check_digit_functions_check(
    codes: tuple[str, str, int], position: int, digit: int
) -> None:
    for bc in (codes[0], flip_digit(codes[0], position, digit)):
        prefix = payments._lanes(payments._BARCODE_LANES, 0, bc[:13])
        t1, t2, t3, t4, ta, tb = payments._conveni_tables()
        lanes = prefix + payments._lanes(payments._BARCODE_LANES, 29, bc[29:37])
        lanes += t1[bc[13:17]] + t2[bc[17:21]] + t3[bc[21:25]] + t4[bc[25:29]] + ta[bc[37:40]] + tb[bc[40:44]]
        expected = gs1_mod10_check_digit(bc[:43]) == int(bc[43]) and is_valid_slip_no(bc[13:29])
        assert payments._BARCODE_CHECKS[lanes] == expected


@pytest.mark.parametrize("channel", ["bank", "conveni"])
def test_a_fast_record_is_a_real_payment_record(channel: str) -> None:
    bank, conveni = _valid_rows(4)
    fast = run(PARSERS[channel][0], bank if channel == "bank" else conveni)[0][-1]  # a fast-lane one
    slow = PaymentRecord(**{f.name: getattr(fast, f.name) for f in dataclasses.fields(PaymentRecord)})
    assert type(fast) is PaymentRecord and fast == slow and hash(fast) == hash(slow)
    assert repr(fast) == repr(slow) and dataclasses.asdict(fast) == dataclasses.asdict(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow and copy.copy(fast) == slow  # noqa: S301
    assert dataclasses.replace(fast, amount=6) == dataclasses.replace(slow, amount=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.amount = 6  # type: ignore[misc]
    assert not hasattr(fast, "__dict__")


# --- RawRows against iter_rows -------------------------------------------------------------------------

CSV_ALPHABET = st.sampled_from(["1", "a", ",", '"', "\r", "\n", "\r\n", " ", "ア", "\x00"])


def _iter_raw_rows(text: str, header: tuple[str, ...], errors: list[RowError]) -> Iterator[tuple[int, dict]]:
    """What a caller of RawRows does with the plain pattern below: split plain lines itself."""
    rows = RawRows(text, header, errors, plain="[1a]*,[1a]*")
    line = rows.start()[0]
    if rows.done:
        return
    for fields in rows.start()[1]:
        line += 1
        if fields[0]:
            yield line, dict(zip(header, fields[0].split(","), strict=True))
            continue
        row = rows.row(line, fields)
        if row is not None:
            yield line, row
        if rows.done:
            return
        line += rows.extra_lines


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(["a,b\r\n", "a,b\n", "a,b\r", "a,b", '"a",b\r\n', '"a\r\n",b\n', "", "a,c\n"]),
    st.lists(CSV_ALPHABET, max_size=40).map("".join),
    st.integers(1, 4),
    st.sampled_from([1, 2, 5, 1 << 16]),
)
def test_raw_rows_read_any_text_as_iter_rows_does(header_line: str, body: str, cap: int, chunk: int) -> None:
    header = ("a", "b")
    old = csvfile.MAX_ERRORS, csvfile._SCAN_CHUNK
    csvfile.MAX_ERRORS, csvfile._SCAN_CHUNK = cap, chunk  # small chunks: every way to cut the text
    try:
        outcomes = []
        for reader in (iter_rows, _iter_raw_rows):
            errors: list[RowError] = []
            try:
                rows = list(reader(header_line + body, header, errors))  # type: ignore[operator]
            except FileRefused as exc:
                rows = [(0, {"refused": repr(exc.errors)})]
            outcomes.append((rows, errors))
        assert outcomes[0] == outcomes[1]
    finally:
        csvfile.MAX_ERRORS, csvfile._SCAN_CHUNK = old


# --- decoding -------------------------------------------------------------------------------------------

LINES = [
    "ocr,amount".encode("cp932"),
    "セブンイレブン,1".encode("cp932"),
    "川口市役所,2".encode("cp932"),
    "ｾﾌﾞﾝ,ｱ".encode("cp932"),
    "川口,太郎".encode(),  # UTF-8: a mixed file
    "é".encode(),
    b"\xf0\x40,1",  # CP932 外字 (private use area)
    b"\xf9\xfc",
    b"\xa0",
    b"\xfd\xfe",
    b"\x81",  # a lone lead byte
    b"\x80\xff",
    b"\xe3\x81\x82\x83\x5a",  # valid UTF-8 followed by CP932: not UTF-8
    b"plain ascii",
    b"",
]


def _decode_before(data: bytes) -> str:
    """``decode_strict`` as it was before the whole-file checks."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        csvfile._check_cp932_lines(data, "x.csv")
        return data.decode("cp932")


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=8), st.sampled_from([b"\r\n", b"\n", b"\r"]))
def test_decoding_refuses_and_accepts_exactly_as_the_line_by_line_check(
    lines: list[bytes], end: bytes
) -> None:
    data = end.join(lines)
    outcomes = []
    for decode in (lambda d: decode_strict(d, "x.csv").text, _decode_before):
        try:
            outcomes.append(decode(data))
        except FileRefused as exc:
            outcomes.append(repr(exc.errors))
        except UnicodeDecodeError as exc:
            outcomes.append(repr(exc))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    "odd",
    [bytes([b]) for b in (0xA0, 0xFD, 0xFE, 0xFF)]
    + [bytes([lead, trail]) for lead in range(0xF0, 0xFA) for trail in (0x40, 0xFC)]
    + ["ア".encode(), "é".encode(), "\U0001f600".encode(), b"\xe3\x81"],
)
def test_every_private_use_source_and_utf8_lead_is_found(odd: bytes) -> None:
    data = "a,b\r\nセブン,1\r\n".encode("cp932") + odd + b",2\r\n" + "ローソン,3".encode("cp932")
    outcomes = []
    for decode in (lambda d: decode_strict(d, "x.csv").text, _decode_before):
        try:
            outcomes.append(decode(data))
        except FileRefused as exc:
            outcomes.append(repr(exc.errors))
    assert outcomes[0] == outcomes[1]


def test_decoding_reads_a_long_file_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvfile, "_CHUNK", 16)
    monkeypatch.setattr(csvfile, "_WINDOW", 8)
    lines = [LINES[1], LINES[2]] * 20
    for k in (0, 7, 39):
        for odd in (LINES[4], LINES[6]):
            data = b"\r\n".join(lines[:k] + [odd] + lines[k:])
            with pytest.raises(FileRefused) as exc:
                decode_strict(data, "x.csv")
            assert exc.value.errors[0].line == k + 1
    assert decode_strict(b"\r\n".join(lines)).text == b"\r\n".join(lines).decode("cp932")


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"])
def test_the_text_is_scanned_in_small_chunks_whatever_the_line_ends(
    monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    monkeypatch.setattr(csvfile, "_SCAN_CHUNK", 8)
    rows = RawRows(("a,b" + end) + ("1,1" + end) * 100, ("a", "b"), [], plain="[1a]*,[1a]*")
    chunks = list(rows._scan_chunks())
    assert max(map(len, chunks)) <= 6 and sum(map(len, chunks)) == 101
