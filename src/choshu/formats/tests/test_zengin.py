"""全銀協 120-byte files (formats-reference §1, §6, §7.2): kana conversion, bank codes, ゆうちょ 記号番号,
MMDD dates, the 口座振替 (91) and 総合振込 (21) writers and readers, and every §1.3 refusal."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from choshu.formats.errors import FileRefused, RowError
from choshu.formats.zengin import (
    RESULT_CODES_91,
    BankInfo,
    BranchInfo,
    DebitHeader,
    DebitRecord,
    DepositType,
    FieldClass,
    KanaError,
    Totals,
    TransferHeader,
    TransferRecord,
    bank_info,
    branch_info,
    check_bank_branch,
    is_bank_business_day,
    is_zengin_text,
    jpbank_to_zengin,
    mmdd,
    read_debit_file,
    read_transfer_file,
    resolve_mmdd,
    to_zengin_kana,
    write_debit_file,
    write_transfer_file,
)

AROUND = date(2026, 12, 1)
DEBIT_HEADER = DebitHeader(
    originator_code="1234567890",
    originator_name="ﾁﾖｳｼﾕｳｼ",
    debit_date=date(2026, 12, 28),  # a Monday
    bank_code="0001",
    branch_code="001",
    deposit_type="1",
    account="1234567",
    bank_name="ミズホ",
    branch_name="トウキョウ",
)
TRANSFER_HEADER = TransferHeader(
    originator_code="0000012345",
    originator_name="チョウシュウシ　カイケイカンリシャ",
    transfer_date=date(2026, 12, 10),
    bank_code="0001",
    branch_code="001",
    deposit_type="1",
    account="7654321",
)


def debit(n: int = 1, **overrides: object) -> DebitRecord:
    fields: dict[str, object] = {
        "bank_code": "0005",
        "branch_code": "001",
        "deposit_type": "1",
        "account": f"{n:07d}",
        "holder": "ヤマダ　タロウ",
        "amount": 1000 * n,
        "new_code": "0",
        "customer_no": f"{n}",
    }
    fields.update(overrides)
    return DebitRecord(**fields)  # type: ignore[arg-type]


def transfer(n: int = 1, **overrides: object) -> TransferRecord:
    fields: dict[str, object] = {
        "bank_code": "0009",
        "branch_code": "100",
        "deposit_type": "1",
        "account": f"{n:07d}",
        "payee": "スズキ　ハナコ",
        "amount": 500 * n,
        "customer_code_1": f"{n}",
    }
    fields.update(overrides)
    return TransferRecord(**fields)  # type: ignore[arg-type]


def debit_bytes(records: list[DebitRecord] | None = None, **kwargs: object) -> bytes:
    out = io.BytesIO()
    write_debit_file(out, DEBIT_HEADER, records if records is not None else [debit(1), debit(2)], **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def transfer_bytes(records: list[TransferRecord] | None = None) -> bytes:
    out = io.BytesIO()
    write_transfer_file(out, TRANSFER_HEADER, records if records is not None else [transfer(1), transfer(2)])
    return out.getvalue()


def result_file(codes: list[str]) -> bytes:
    return debit_bytes([debit(i + 1, result_code=c) for i, c in enumerate(codes)], as_result=True)


# --- an independent reader: slices bytes by the positions of formats-reference §1.1 / §1.2 ------------


def slice_(rec: bytes, start: int, end: int) -> bytes:
    """Bytes ``start``-``end`` (1-based, inclusive) as in the reference tables."""
    return rec[start - 1 : end]


def independent_read(data: bytes, amount_pos: tuple[int, int]) -> tuple[list[bytes], int, int, bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert all(len(line) == 120 for line in lines)
    kinds = b"".join(line[:1] for line in lines)
    assert kinds[:1] == b"1" and kinds[-2:] == b"89" and set(kinds[1:-2]) <= {ord("2")}
    data_lines = [line for line in lines if line[:1] == b"2"]
    total = sum(int(slice_(line, *amount_pos)) for line in data_lines)
    return data_lines, len(data_lines), total, lines[-2]


def refused(call: Callable[[], object]) -> list[RowError]:
    with pytest.raises(FileRefused) as info:
        call()
    return info.value.errors


def has(errors: list[RowError], line: int, column: str, fragment: str = "") -> bool:
    return any(e.line == line and e.column == column and fragment in e.reason for e in errors)


def records_of(data: bytes) -> list[bytearray]:
    return [bytearray(r) for r in data.split(b"\r\n")[:-1]]


def joined(records: list[bytearray] | list[bytes]) -> bytes:
    return b"".join(bytes(r) + b"\r\n" for r in records)


def patched(data: bytes, record: int, start: int, new: bytes) -> bytes:
    """``data`` with bytes at 1-based ``start`` of 1-based ``record`` replaced (same length)."""
    recs = records_of(data)
    recs[record - 1][start - 1 : start - 1 + len(new)] = new
    return joined(recs)


# --- kana (§7.2) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ヤマダ　タロー", "ﾔﾏﾀﾞ ﾀﾛ-"),  # ー → "-" (0x2D), never ｰ; full-width space
        ("キャッシュ", "ｷﾔﾂｼﾕ"),  # small kana enlarged
        ("ァィゥェォヮヵヶ", "ｱｲｳｴｵﾜｶｹ"),
        ("ガギグゲゴ", "ｶﾞｷﾞｸﾞｹﾞｺﾞ"),  # voiced split: 2 bytes each
        ("パピプペポ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),
        ("ヴィヴァルディ", "ｳﾞｲｳﾞｱﾙﾃﾞｲ"),
        ("ｷｬｯﾁｰ", "ｷﾔﾂﾁ-"),  # half-width input normalised too
        ("abc Ｘｙｚ", "ABC XYZ"),  # lowercase → uppercase, full-width Latin
        ("１２３　４", "123 4"),  # full-width digits and space
        ("やまだ", "ﾔﾏﾀﾞ"),  # hiragana read as katakana
        ("カ)チョウシュウ.(カ", "ｶ)ﾁﾖｳｼﾕｳ.(ｶ"),
        ("（カ）", "(ｶ)"),
    ],
)
def test_to_zengin_kana_converts_names_by_the_table(text: str, expected: str) -> None:
    assert to_zengin_kana(text) == expected
    assert is_zengin_text(expected, FieldClass.NAME)


def test_wo_is_refused_in_a_name_but_allowed_in_edi() -> None:
    with pytest.raises(KanaError) as info:
        to_zengin_kana("ヲカダ")
    assert info.value.char == "ヲ" and info.value.position == 0
    assert "EDI" in str(info.value)
    assert to_zengin_kana("ヲカダ", field=FieldClass.EDI) == "ｦｶﾀﾞ"
    assert is_zengin_text("ｦ", FieldClass.EDI) and not is_zengin_text("ｦ", FieldClass.NAME)


def test_kanji_is_refused_naming_the_character_and_its_position() -> None:
    with pytest.raises(KanaError) as info:
        to_zengin_kana("ヤマダ太郎")
    assert (info.value.char, info.value.position, info.value.text) == ("太", 3, "ヤマダ太郎")
    assert "「太」" in str(info.value) and "4文字目" in str(info.value)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("ヤマダ,タロウ", FieldClass.NAME),  # comma: never
        ("ミズホ(カ)", FieldClass.BANK),  # parentheses: names and EDI only
        ("A/B", FieldClass.NAME),  # slash: EDI only
        ("「ア」", FieldClass.NAME),
        ("ヰ", FieldClass.NAME),  # not in JIS X 0201
        ("ﾞｱ", FieldClass.NAME),  # voicing mark at the start
        ("ｱﾞ", FieldClass.NAME),  # after a kana that cannot take it
        ("ｶﾟ", FieldClass.NAME),
        ("😀", FieldClass.EDI),
        ("\t", FieldClass.NAME),
    ],
)
def test_characters_outside_the_fields_repertoire_are_refused(text: str, field: FieldClass) -> None:
    with pytest.raises(KanaError):
        to_zengin_kana(text, field=field)


def test_edi_symbols_are_allowed_in_edi_only() -> None:
    assert to_zengin_kana("「A/B」¥1", field=FieldClass.EDI) == "｢A/B｣\\1"
    with pytest.raises(KanaError):
        to_zengin_kana("A/B", field=FieldClass.BANK)


def test_kanji_and_other_full_width_symbols_are_told_apart() -> None:
    with pytest.raises(KanaError, match="漢字"):
        to_zengin_kana("山")
    with pytest.raises(KanaError, match="全角文字") as info:
        to_zengin_kana("ア〜イ")
    assert info.value.char == "〜" and "漢字" not in str(info.value)


def test_over_length_is_refused_never_truncated() -> None:
    assert to_zengin_kana("ガガガ", max_bytes=6) == "ｶﾞｶﾞｶﾞ"
    with pytest.raises(KanaError) as info:
        to_zengin_kana("ガガガ", max_bytes=5)  # the third ガ would be cut between ｶ and ﾞ
    assert info.value.position == 2 and "5バイト" in str(info.value)


@pytest.mark.parametrize(
    ("text", "valid"),
    [("ﾔﾏﾀﾞ ﾀﾛｳ", True), ("ﾔﾏﾀﾞ ﾀﾛｰ", False), ("ｷｬｯﾁ", False), ("yamada", False), ("ヤマダ", False)],
)
def test_is_zengin_text_accepts_only_converted_text(text: str, valid: bool) -> None:
    assert is_zengin_text(text, FieldClass.NAME) is valid


KANA_LIKE = st.sampled_from(
    [chr(c) for c in range(0x30A1, 0x30FD)]  # katakana
    + [chr(c) for c in range(0x3041, 0x3097)]  # hiragana
    + [chr(c) for c in range(0xFF61, 0xFFA0)]  # half-width kana
    + [chr(c) for c in range(0xFF01, 0xFF5F)]  # full-width ASCII
    + [chr(c) for c in range(0x20, 0x7F)]
    + list("　ー゛゜¥￥太郎、。")
)


@given(
    text=st.text(st.one_of(KANA_LIKE, st.characters()), max_size=40),
    field=st.sampled_from(list(FieldClass)),
    max_bytes=st.one_of(st.none(), st.integers(0, 40)),
)
def test_anything_to_zengin_kana_accepts_is_in_the_repertoire_and_the_byte_limit(
    text: str, field: FieldClass, max_bytes: int | None
) -> None:
    try:
        out = to_zengin_kana(text, field=field, max_bytes=max_bytes)
    except KanaError as e:
        assert 0 <= e.position < len(text) and text[e.position] == e.char
        return
    assert is_zengin_text(out, field)
    raw = out.encode("cp932")
    assert len(raw) == len(out)  # single-byte JIS X 0201 only
    assert all(0x20 <= b <= 0x7E or 0xA1 <= b <= 0xDF for b in raw)
    assert 0xB0 not in raw and b"," not in raw  # no ｰ, no comma
    if max_bytes is not None:
        assert len(raw) <= max_bytes
    assert to_zengin_kana(out, field=field) == out  # idempotent


# --- banks, ゆうちょ, business days, dates (§6, §1.0) ------------------------------------------------------


def test_bank_and_branch_lookups_give_half_width_kana() -> None:
    assert bank_info("0001") == BankInfo(code="0001", name="みずほ", kana="ﾐｽﾞﾎ")
    assert branch_info("0001", "001") == BranchInfo(
        bank_code="0001", code="001", name="東京営業部", kana="ﾄｳｷﾖｳ"
    )
    assert check_bank_branch("0001", "001") == []


def test_unknown_bank_or_branch_is_a_warning() -> None:
    assert bank_info("9999") is None and branch_info("0001", "999") is None
    (warning,) = check_bank_branch("9999", "999")
    assert "9999" in warning
    (warning,) = check_bank_branch("0001", "999")
    assert "999" in warning and "0001" in warning


@pytest.mark.parametrize(
    ("kigo", "bango", "expected"),
    [
        ("14030", "12345671", ("408", "1", "1234567")),  # formats-reference §6
        ("00580", "654321", ("059", "2", "0654321")),
        ("15150", "21111111", ("518", "1", "2111111")),
        ("１４０３０", "１２３４５６７１", ("408", "1", "1234567")),  # full-width digits
    ],
)
def test_jpbank_kigo_bango_to_zengin(kigo: str, bango: str, expected: tuple[str, str, str]) -> None:
    assert jpbank_to_zengin(kigo, bango) == expected
    assert branch_info("9900", expected[0]) is not None


@pytest.mark.parametrize(
    ("kigo", "bango", "fragment"),
    [
        ("14020", "12345671", "チェックデジット"),  # bad check digit
        ("00570", "654321", "チェックデジット"),
        ("14031", "12345671", "記号"),  # must end in 0
        ("24030", "12345671", "記号"),
        ("14030", "12345672", "番号"),  # 通常貯金: ends in 1
        ("00580", "6543210", "番号"),  # 振替: ≤ 6 digits
    ],
)
def test_jpbank_bad_shape_or_check_digit_is_refused(kigo: str, bango: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        jpbank_to_zengin(kigo, bango)


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2026, 12, 28), True),
        (date(2026, 12, 26), False),  # Saturday
        (date(2026, 12, 31), False),  # bank holiday
        (date(2027, 1, 4), True),
        (date(2027, 1, 1), False),
        (date(2026, 11, 3), False),  # 文化の日
    ],
)
def test_bank_business_days(day: date, open_: bool) -> None:
    assert is_bank_business_day(day) is open_


def test_resolve_mmdd_across_the_new_year() -> None:
    assert mmdd(date(2027, 1, 5)) == "0105"
    assert resolve_mmdd("0105", date(2026, 12, 28)) == date(2027, 1, 5)
    assert resolve_mmdd("1228", date(2027, 1, 5)) == date(2026, 12, 28)
    assert resolve_mmdd("0615", date(2026, 6, 1)) == date(2026, 6, 15)
    assert resolve_mmdd("0229", date(2028, 2, 1)) == date(2028, 2, 29)


@pytest.mark.parametrize("text", ["1301", "0230", "0000", "12 1", "123"])
def test_resolve_mmdd_refuses_what_is_not_a_day(text: str) -> None:
    with pytest.raises(ValueError):
        resolve_mmdd(text, AROUND)


# --- writers -------------------------------------------------------------------------------------------


def test_debit_file_is_byte_exact_by_an_independent_reader() -> None:
    data = debit_bytes([debit(1), debit(2, amount=9_999_999_999), debit(3, amount=0)])
    lines, count, total, trailer = independent_read(data, (81, 90))
    header = data[:120]
    assert slice_(header, 1, 4) == b"1910" and slice_(header, 5, 14) == b"1234567890"
    assert slice_(header, 15, 54) == "ﾁﾖｳｼﾕｳｼ".encode("cp932").ljust(40)
    assert slice_(header, 55, 58) == b"1228"
    assert slice_(header, 59, 62) == b"0001" and slice_(header, 78, 80) == b"001"
    assert slice_(header, 63, 77) == "ﾐｽﾞﾎ".encode("cp932").ljust(15)
    assert slice_(header, 96, 103) == b"11234567" and slice_(header, 104, 120) == b" " * 17
    first = lines[0]
    assert slice_(first, 2, 5) == b"0005" and slice_(first, 21, 23) == b"001"
    assert slice_(first, 39, 42) == b"    " and slice_(first, 43, 50) == b"10000001"
    assert slice_(first, 51, 80) == "ﾔﾏﾀﾞ ﾀﾛｳ".encode("cp932").ljust(30)
    assert slice_(first, 91, 112) == b"0" + b"1".rjust(20, b"0") + b"0"
    assert (count, total) == (3, 1000 + 9_999_999_999)
    assert int(slice_(trailer, 2, 7)) == count and int(slice_(trailer, 8, 19)) == total
    assert slice_(trailer, 20, 55) == b"0" * 36 and slice_(trailer, 56, 120) == b" " * 65
    assert data.endswith(b"9" + b" " * 119 + b"\r\n")


def test_transfer_file_is_byte_exact_by_an_independent_reader() -> None:
    data = transfer_bytes([transfer(1), transfer(2, customer_code_1="", edi="ｶﾝﾌｷﾝ/2026")])
    lines, count, total, trailer = independent_read(data, (81, 90))
    assert data[:4] == b"1210"
    assert (
        slice_(lines[0], 39, 42) == b"0000" and slice_(lines[0], 92, 113) == b"0000000001" + b" " * 10 + b"7 "
    )
    assert (
        slice_(lines[1], 92, 111) == b"\xb6\xdd\xcc\xb7\xdd/2026".ljust(20)
        and slice_(lines[1], 113, 113) == b"Y"
    )
    assert (count, total) == (2, 1500)
    assert int(slice_(trailer, 2, 7)) == 2 and int(slice_(trailer, 8, 19)) == 1500
    assert slice_(trailer, 20, 120) == b" " * 101


def test_without_crlf_records_are_one_120n_byte_stream() -> None:
    data = debit_bytes(crlf=False)
    assert len(data) == 120 * 5 and b"\r" not in data
    file, records = read_debit_file(data, around=AROUND)
    assert file.record_count == 2 and len(list(records)) == 2


def test_deposit_type_members_can_be_passed_as_the_codes() -> None:
    data = debit_bytes(
        [debit(1, deposit_type=DepositType.TAX_RESERVE), debit(2, deposit_type=DepositType.CHECKING)]
    )
    assert [r.deposit_type for r in read_debit_file(data, around=AROUND)[1]] == ["3", "2"]


def test_writer_returns_the_trailer_totals() -> None:
    out = io.BytesIO()
    assert write_debit_file(out, DEBIT_HEADER, iter([debit(1), debit(2)])) == Totals(2, 3000)
    out = io.BytesIO()
    assert write_transfer_file(out, TRANSFER_HEADER, iter([])) == Totals(0, 0)


def test_writer_refuses_a_name_it_cannot_convert_naming_record_and_field() -> None:
    with pytest.raises(KanaError) as info:
        debit_bytes([debit(1), debit(2, holder="山田　太郎")])
    e = info.value
    assert (e.record, e.field_name, e.char) == (3, "預金者名", "山")
    assert "3レコード目 預金者名" in str(e)


def test_writer_refuses_an_over_long_name_rather_than_truncate() -> None:
    long_name = "ジュゲムジュゲムゴコウノスリキレカイジャリスイギョ"
    with pytest.raises(KanaError) as info:
        debit_bytes([debit(1, holder=long_name)])
    assert info.value.record == 2 and info.value.field_name == "預金者名"
    with pytest.raises(KanaError, match="1レコード目 委託者名"):
        write_debit_file(io.BytesIO(), replace(DEBIT_HEADER, originator_name="ア" * 41), [])


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        (debit(1, amount=10_000_000_000), "2レコード目 引落金額"),
        (debit(1, amount=-1), "2レコード目 引落金額"),
        (debit(1, customer_no="1" * 21), "2レコード目 顧客番号"),
        (debit(1, customer_no="A1"), "2レコード目 顧客番号"),
        (debit(1, account="12345678"), "2レコード目 口座番号"),
        (debit(1, bank_code="1"), "2レコード目 引落銀行番号"),
        (debit(1, deposit_type="4"), "2レコード目 預金種目"),
        (debit(1, new_code="3"), "2レコード目 新規コード"),
        (debit(1, result_code="1"), "2レコード目 振替結果コード"),  # a request carries 0
    ],
)
def test_writer_refuses_a_bad_numeric_field_naming_record_and_field(
    record: DebitRecord, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        debit_bytes([record])


def test_transfer_writer_refuses_zero_amounts_and_edi_with_customer_codes() -> None:
    with pytest.raises(ValueError, match="2レコード目 振込金額"):
        transfer_bytes([transfer(1, amount=0)])
    with pytest.raises(ValueError, match="3レコード目 EDI情報"):
        transfer_bytes([transfer(1), transfer(2, edi="ABC")])
    with pytest.raises(KanaError, match="2レコード目 受取人名"):
        transfer_bytes([transfer(1, payee="ヲカダ")])


class CountingSink(io.RawIOBase):
    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        n = len(b)  # type: ignore[arg-type]
        self.size += n
        return n


def test_writer_streams_with_bounded_memory() -> None:
    def many(n: int) -> Iterator[DebitRecord]:
        for i in range(1, n + 1):
            yield debit(i % 9000 + 1, customer_no=str(i))

    sink = CountingSink()
    tracemalloc.start()
    totals = write_debit_file(sink, DEBIT_HEADER, many(5_000))  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert totals.count == 5_000 and sink.size == 122 * 5_003
    assert peak < 512 * 1024  # a list of 5,000 records alone would be over 2 MB


# --- readers: round trips ------------------------------------------------------------------------------


def test_debit_request_round_trip() -> None:
    records = [debit(1, new_code="1"), debit(2, holder="カ)チョウシュウ", bank_name="ミツビシユーエフジェイ")]
    file, read = read_debit_file(debit_bytes(records), around=AROUND)
    assert file.header == replace(
        DEBIT_HEADER, bank_name="ﾐｽﾞﾎ", branch_name="ﾄｳｷﾖｳ"
    )  # names come back converted
    assert (file.record_count, file.trailer, file.is_result) == (2, Totals(2, 3000), False)
    assert file.warnings == ()
    got = list(read)
    assert got == [
        replace(
            r,
            holder=to_zengin_kana(r.holder),
            bank_name=to_zengin_kana(r.bank_name, field=FieldClass.BANK),
            customer_no=r.customer_no.zfill(20),
        )
        for r in records
    ]


def test_debit_result_round_trip_and_result_codes() -> None:
    file, read = read_debit_file(result_file(["0", "1", "0", "4"]), around=AROUND)
    assert file.is_result
    assert file.trailer == Totals(
        4, 10000, paid_count=2, paid_amount=4000, failed_count=2, failed_amount=6000
    )
    assert [r.result_code for r in read] == ["0", "1", "0", "4"]
    assert RESULT_CODES_91["1"] == "資金不足" and set(RESULT_CODES_91) == set("0123489")


def test_a_result_with_every_debit_collected_is_still_a_result() -> None:
    file, _ = read_debit_file(result_file(["0", "0"]), around=AROUND, kind="result")
    assert file.is_result and file.trailer.paid_count == 2


def test_transfer_round_trip() -> None:
    records = [
        transfer(1),
        transfer(2, customer_code_1="", customer_code_2="42"),
        transfer(3, customer_code_1="", edi="ｶﾝﾌｷﾝ(2026)"),
    ]
    file, read = read_transfer_file(transfer_bytes(records), around=AROUND)
    assert file.header.transfer_date == date(2026, 12, 10)
    assert file.header.originator_name == "ﾁﾖｳｼﾕｳｼ ｶｲｹｲｶﾝﾘｼﾔ"
    assert (file.record_count, file.trailer) == (3, Totals(3, 3000))
    got = list(read)
    assert got == [
        replace(
            r,
            payee="ｽｽﾞｷ ﾊﾅｺ",
            customer_code_1=r.customer_code_1.zfill(10) if r.customer_code_1 else "",
            customer_code_2=r.customer_code_2.zfill(10) if r.customer_code_2 else "",
        )
        for r in records
    ]


def test_unknown_bank_is_a_warning_not_a_refusal() -> None:
    file, _ = read_debit_file(debit_bytes([debit(1, bank_code="9999", branch_code="999")]), around=AROUND)
    assert any("2レコード目" in w and "9999" in w for w in file.warnings)


def test_a_debit_date_that_is_not_a_business_day_is_a_warning() -> None:
    data = patched(debit_bytes(), 1, 55, b"1226")  # Saturday
    file, _ = read_debit_file(data, around=AROUND)
    assert file.header.debit_date == date(2026, 12, 26)
    assert any("営業日" in w for w in file.warnings)


def test_a_debit_of_zero_yen_is_a_warning_but_a_transfer_of_zero_is_refused() -> None:
    file, _ = read_debit_file(debit_bytes([debit(1, amount=0)]), around=AROUND)
    assert any("0円" in w for w in file.warnings)
    data = patched(transfer_bytes(), 2, 81, b"0000000000")
    data = patched(data, 4, 8, b"000000001000")  # trailer still adds up
    assert has(refused(lambda: read_transfer_file(data, around=AROUND)), 2, "振込金額", "0円")


# --- readers: every §1.3 refusal ------------------------------------------------------------------------


def read91(data: bytes, **kwargs: object) -> list[RowError]:
    return refused(lambda: read_debit_file(data, around=AROUND, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("delta", [-1, 1])
def test_a_record_not_120_bytes_is_refused(delta: int) -> None:
    recs = records_of(debit_bytes())
    recs[1] = recs[1][:119] if delta < 0 else recs[1] + b" "
    assert has(read91(joined(recs)), 2, "", "レコード長")


def test_an_unseparated_file_not_a_multiple_of_120_is_refused() -> None:
    data = debit_bytes(crlf=False)
    assert has(read91(data[:-1]), 5, "", "120の倍数")


def test_cr_only_lf_only_and_mixed_separators_are_refused() -> None:
    crlf = debit_bytes()
    assert read91(crlf.replace(b"\r\n", b"\n"))[0].reason.startswith("改行が CR LF ではありません")
    assert read91(crlf.replace(b"\r\n", b"\r"))[0].reason.startswith("改行が CR LF ではありません")
    recs = records_of(crlf)
    mixed = bytes(recs[0]) + b"\r\n" + bytes(recs[1]) + b"\n" + joined(recs[2:])
    assert has(read91(mixed), 2, "", "混在")


def test_data_before_the_header_is_refused() -> None:
    recs = records_of(debit_bytes())
    assert has(read91(joined([recs[1], recs[0], *recs[2:]])), 1, "データ区分", "ヘッダー")


def test_data_after_the_trailer_is_refused() -> None:
    recs = records_of(debit_bytes())
    errors = read91(joined([recs[0], recs[1], recs[3], recs[2], recs[4]]))
    assert has(errors, 4, "データ区分", "トレーラ（8）の後")


def test_a_missing_trailer_or_end_is_refused() -> None:
    recs = records_of(debit_bytes())
    assert has(read91(joined([*recs[:3], recs[4]])), 4, "データ区分", "トレーラ（8）がない")
    assert has(read91(joined(recs[:3] + [recs[4]])), 4, "データ区分", "トレーラレコード（8）がありません")
    assert has(read91(joined(recs[:4])), 4, "データ区分", "エンドレコード（9）がありません")


def test_a_second_end_or_anything_after_the_end_is_refused() -> None:
    recs = records_of(debit_bytes())
    assert has(read91(joined([*recs, recs[4]])), 6, "データ区分", "エンドレコード（9）の後")
    assert has(read91(joined([*recs, recs[1]])), 6, "データ区分", "エンドレコード（9）の後")


def test_a_second_group_is_refused() -> None:
    recs = records_of(debit_bytes())
    errors = read91(joined([*recs[:4], *recs[:4], recs[4]]))
    assert has(errors, 5, "データ区分", "マルチファイル")


def test_an_unknown_record_kind_is_refused() -> None:
    assert has(read91(patched(debit_bytes(), 2, 1, b"5")), 2, "データ区分", "1・2・8・9")


def test_the_wrong_kind_code_and_ebcdic_are_refused() -> None:
    assert has(read91(transfer_bytes()), 1, "種別コード", "91")
    assert has(refused(lambda: read_transfer_file(debit_bytes(), around=AROUND)), 1, "種別コード", "21")
    assert has(read91(patched(debit_bytes(), 1, 4, b"1")), 1, "コード区分", "EBCDIC")
    assert has(read91(patched(debit_bytes(), 1, 4, b"2")), 1, "コード区分")


def test_trailer_count_or_sum_off_by_one_is_refused() -> None:
    data = debit_bytes()  # 2 records, 3000 yen
    assert has(read91(patched(data, 4, 2, b"000003")), 4, "合計件数", "合いません")
    assert has(read91(patched(data, 4, 8, b"000000003001")), 4, "合計金額", "3,001")
    transfer_data = transfer_bytes()
    assert has(
        refused(lambda: read_transfer_file(patched(transfer_data, 4, 8, b"000000001499"), around=AROUND)),
        4,
        "合計金額",
    )


def test_result_totals_that_do_not_add_up_are_refused() -> None:
    data = result_file(["0", "1"])  # paid 1 / 1000, failed 1 / 2000
    assert has(read91(patched(data, 4, 38, b"000002")), 4, "振替済件数", "合計件数と合いません")
    assert has(read91(patched(data, 4, 44, b"000000002001")), 4, "振替済金額", "合計金額と合いません")
    # totals consistent with each other, not with the codes: 2000 paid / 1000 failed
    swapped = patched(patched(data, 4, 26, b"000000002000"), 4, 44, b"000000001000")
    errors = read91(swapped)
    assert has(errors, 4, "振替済金額", "コード0の金額") and has(errors, 4, "振替不能金額")
    assert has(read91(result_file(["0", "0"]), kind="request"), 4, "振替済件数", "依頼データ")


def test_a_result_code_outside_the_standard_or_non_zero_in_a_request_is_refused() -> None:
    assert has(
        read91(patched(result_file(["0", "1"]), 3, 112, b"5")), 3, "振替結果コード", "いずれでもありません"
    )
    assert has(read91(patched(debit_bytes(), 3, 112, b"1")), 3, "振替結果コード", "依頼データ")
    with_zero_totals = patched(result_file(["0", "1"]), 4, 20, b"0" * 36)
    assert has(read91(with_zero_totals, kind="request"), 3, "振替結果コード", "依頼データ")
    assert has(read91(debit_bytes(), kind="result"), 4, "振替済件数", "合計件数と合いません")


@pytest.mark.parametrize(
    ("record", "start", "new", "column", "fragment"),
    [
        (2, 51, "ア".encode("cp932"), "預金者名", "全角文字"),  # double-byte
        (2, 51, b"yamada", "預金者名", "英小文字"),
        (2, 51, b"\xd4\xcf\xc0\xde\xb0", "預金者名", "ｰ"),  # ﾔﾏﾀﾞｰ
        (2, 51, b"\xb7\xac", "預金者名", "小書き"),  # ｷｬ
        (2, 51, b"\xde\xb1", "預金者名", "濁点"),  # ﾞ at the start
        (2, 51, b"\xb1\xde", "預金者名", "濁点"),  # ｱﾞ
        (2, 51, b"\xa6", "預金者名", "ｦ"),
        (2, 51, b"A,B", "預金者名", "カンマ"),
        (2, 6, b"(", "引落銀行名", ""),  # parentheses are not in 銀行名
        (2, 51, b"A\x1aB", "預金者名", "0x1A"),  # an EOF mark inside a record
        (1, 15, b"\xe3\x82\xa2", "委託者名", "全角文字"),  # UTF-8 ア
        (1, 104, b"\x81\x40", "ダミー", "全角文字"),
    ],
)
def test_a_bad_character_in_a_c_field_is_refused_with_line_and_field(
    record: int, start: int, new: bytes, column: str, fragment: str
) -> None:
    assert has(read91(patched(debit_bytes(), record, start, new)), record, column, fragment)


@pytest.mark.parametrize(
    ("record", "start", "new", "column", "fragment"),
    [
        (2, 81, b"00000010O0", "引落金額", "数字以外"),
        (2, 81, b" " * 10, "引落金額", "空白"),
        (2, 92, b" " * 20, "顧客番号", "空白"),  # reported, not crashed on (§1.1 note)
        (2, 44, b"12345 7", "口座番号", "数字以外"),
        (2, 2, "０".encode("cp932") * 2, "引落銀行番号", "数字以外"),
        (1, 5, b"12345678X0", "委託者コード", "数字以外"),
        (4, 2, b"00000A", "合計件数", "数字以外"),
    ],
)
def test_a_non_digit_in_an_n_field_is_refused_with_line_and_field(
    record: int, start: int, new: bytes, column: str, fragment: str
) -> None:
    assert has(read91(patched(debit_bytes(), record, start, new)), record, column, fragment)


@pytest.mark.parametrize(
    ("record", "start", "new", "column"),
    [
        (1, 55, b"1301", "引落日"),
        (1, 55, b"0230", "引落日"),
        (1, 96, b"3", "預金種目（委託者）"),  # header: 1, 2, 9
        (2, 43, b"4", "預金種目"),  # data: 1, 2, 3, 9
        (2, 91, b"3", "新規コード"),
    ],
)
def test_a_value_outside_its_code_list_is_refused(record: int, start: int, new: bytes, column: str) -> None:
    assert has(read91(patched(debit_bytes(), record, start, new)), record, column)


def test_transfer_specific_fields_are_checked() -> None:
    data = transfer_bytes()
    assert has(refused(lambda: read_transfer_file(patched(data, 2, 43, b"3"), around=AROUND)), 2, "預金種目")
    assert has(refused(lambda: read_transfer_file(patched(data, 2, 113, b"X"), around=AROUND)), 2, "識別表示")
    assert has(
        refused(lambda: read_transfer_file(patched(data, 2, 92, b"ABC"), around=AROUND)), 2, "顧客コード1"
    )
    assert has(
        refused(lambda: read_transfer_file(patched(data, 2, 112, b"5"), around=AROUND)), 2, "振込指定区分"
    )
    edi = patched(patched(data, 2, 113, b"Y"), 2, 92, b"a")
    assert has(refused(lambda: read_transfer_file(edi, around=AROUND)), 2, "EDI情報", "英小文字")
    spaces = patched(data, 2, 39, b"    ")  # 手形交換所番号: some banks use spaces
    assert read_transfer_file(spaces, around=AROUND)[0].record_count == 2


def test_eof_marks_after_the_end_record_are_accepted() -> None:
    data = debit_bytes()
    assert read_debit_file(data + b"\x1a", around=AROUND)[0].record_count == 2
    assert read_debit_file(debit_bytes(crlf=False) + b"\x1a\x1a", around=AROUND)[0].record_count == 2
    assert read_debit_file(data[:-2], around=AROUND)[0].record_count == 2  # no CR LF after the last record


def test_stripped_trailing_spaces_are_refused_unless_padding_is_asked_for() -> None:
    stripped = b"".join(r.rstrip(b" ") + b"\r\n" for r in data_records(debit_bytes()))
    errors = read91(stripped)
    assert has(errors, 1, "", "空白が削除") and has(errors, 5, "", "レコード長が1バイト")
    file, records = read_debit_file(stripped, around=AROUND, pad_short_records=True)
    assert file.record_count == 2 and [r.amount for r in records] == [1000, 2000]


def data_records(data: bytes) -> list[bytes]:
    return [bytes(r) for r in records_of(data)]


def test_an_empty_file_is_refused() -> None:
    assert has(read91(b""), 1, "", "空のファイル")


def test_every_problem_is_listed_not_just_the_first() -> None:
    data = patched(patched(debit_bytes(), 2, 81, b"X"), 3, 51, b"a")
    errors = read91(data)
    assert has(errors, 2, "引落金額") and has(errors, 3, "預金者名") and has(errors, 4, "合計金額")


def test_reader_walks_a_large_file_with_bounded_memory() -> None:
    data = debit_bytes([debit(i % 9000 + 1, customer_no=str(i)) for i in range(1, 5_001)])
    bank_info("0005")  # the reference data is loaded once per process, outside the measurement
    tracemalloc.start()
    file, records = read_debit_file(data, around=AROUND)
    seen = sum(1 for _ in records)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert file.record_count == seen == 5_000
    assert peak < 256 * 1024  # offsets are computed as the file is walked: no list of 5,000 records
