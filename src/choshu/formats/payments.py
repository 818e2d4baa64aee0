"""Payment files from the three receipt channels of interchange.md §3, normalized to ``PaymentRecord``.

* ``conveni`` — the 収納代行's 速報/確報 CSV (DSK layout, formats-reference §2.2), usually CP932.
* ``bank`` — the designated bank's receipt data: the lower OCR line of each 領収済通知書.
* ``eltax`` — 地方税共通納税 / eL-QR receipts.

The parser only checks the *format*: every field well-formed, every check digit right, the file
addressed to this municipality, no record twice in the file. Whether the slip exists, the amount is
the billed amount or a 速報取消 has its 速報 (perhaps in an earlier file) is for the importer — such
records go to the suspense queue, never get dropped. Any format error refuses the whole file
(``FileRefused`` lists every problem with line, column and a Japanese reason).

One pass over the rows, precompiled patterns, dictionaries for the in-file duplicate checks; valid
dates are parsed once per distinct text, and the small repeated strings kept in ``detail`` (store
chain, dates, codes) are interned so that a million records share them.

``bank`` and ``conveni`` rows take a fast lane when they can (see "the fast lane" below): a plain,
valid row — nearly every row of a real file — is read with one regular expression and a few table
look-ups, about four times faster than field by field; every other row goes the field-by-field
way, so that records and errors are exactly those of ``_parse_bank_reference`` /
``_parse_conveni_reference``, which read every row that way (``test_payments_fastlane.py``).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache
from sys import intern
from typing import TypeVar

from choshu.formats.csvfile import RawRows, decode_strict, iter_rows
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.fields import RowChecker
from choshu.formats.levies_csv import TAX_ITEMS
from choshu.formats.slipcodes import (
    BARCODE_MAX_AMOUNT,
    BarcodeFields,
    parse_barcode,
    parse_ocr_lower,
    strip_ean,
)
from choshu.rules.check_digits import gs1_weights, is_valid_slip_no, ocr_weights

__all__ = [
    "BANK_HEADER",
    "CHANNELS",
    "CONVENI_HEADER",
    "ELTAX_HEADER",
    "ChannelSettings",
    "PaymentFile",
    "REFERENCE_HAS_SLIP",
    "PaymentRecord",
    "RecordKind",
    "parse_payment_file",
]

CONVENI_HEADER = (
    "種別", "収納日", "収納時刻", "バーコード情報", "ユーザー使用欄1", "ユーザー使用欄2", "印紙フラグ",
    "金額", "コンビニ本部コード", "コンビニ名", "コンビニ店舗コード", "振込日", "データ作成日",
)  # fmt: skip
BANK_HEADER = ("ocr_lower", "amount", "paid_on", "bank_code", "branch_code", "booked_on")
ELTAX_HEADER = (
    "transaction_id", "agency_no", "payment_no", "confirmation_no", "payment_class", "amount",
    "paid_on", "remitted_on", "cancelled",
)  # fmt: skip

MAX_AMOUNT = 999_999_999_999
# Channels whose reference holds the record's slip number in a fixed place (bank: its third
# ``:``-field; conveni: digits 14–29 of the barcode, its second ``|``-field), so that two records with
# the same reference have the same slip (the parser tests check it for every generated record). An
# eLTAX reference is the transaction id alone.
REFERENCE_HAS_SLIP = frozenset({"bank", "conveni"})
"""Sanity bound for bank/eLTAX amounts (12 digits): a larger figure is a column mix-up, not a tax."""

_DSK_DATE = re.compile(r"[0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HHMM = re.compile(r"(?:[01][0-9]|2[0-3])[0-5][0-9]")
_STORE_CODE = re.compile(r"[0-9A-Za-z]{1,20}")
_TRANSACTION_ID = re.compile(r"[\x21-\x7e]{1,64}")

_UNSUPPORTED_CONVENI_KINDS = {
    "12": "郵便振替",
    "22": "郵便振替訂正",
    "81": "リアルデータ",
}
_PAYMENT_CLASSES = {"0" + item: name for item, name in TAX_ITEMS.items()}
_CANCELLED = {"0": "収納", "1": "取消"}


class RecordKind(StrEnum):
    """What a receipt record does: post (FINAL), note provisionally, or undo one of those."""

    FINAL = "final"
    PROVISIONAL = "provisional"
    CANCEL_PROVISIONAL = "cancel_provisional"
    CANCEL = "cancel"


_CONVENI_KINDS = {
    "01": RecordKind.PROVISIONAL,
    "02": RecordKind.FINAL,
    "03": RecordKind.CANCEL_PROVISIONAL,
}
_KIND_NAMES = {
    RecordKind.PROVISIONAL: "速報",
    RecordKind.FINAL: "確報",
    RecordKind.CANCEL_PROVISIONAL: "速報取消",
    RecordKind.CANCEL: "取消",
}


@dataclass(frozen=True)
class ChannelSettings:
    """The municipality settings a payment file must match (interchange.md "Municipality settings").

    ``""`` means not configured; a file of that channel is then refused as a whole.
    """

    conveni_company_code: str
    conveni_client_code: str
    eltax_agency_no: str

    def __post_init__(self) -> None:
        for name, length in (
            ("conveni_company_code", 6),
            ("conveni_client_code", 5),
            ("eltax_agency_no", 5),
        ):
            value = getattr(self, name)
            if value and not (len(value) == length and value.isascii() and value.isdigit()):
                raise ValueError(f"{name} must be empty or {length} ASCII digits, got {value!r}")


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One receipt as any channel reports it. ``reference`` is the channel's natural key."""

    line: int
    channel: str
    kind: RecordKind
    reference: str
    slip_no: str
    confirmation_no: str
    tax_item: str
    amount: int
    paid_on: date
    booked_on: date | None
    detail: dict[str, str] = field(hash=False, compare=True)


class _RecordDraft:
    """A mutable twin of ``PaymentRecord``: the same slots, hence the same memory layout.

    The fast lanes fill one with plain attribute stores and then turn it into a ``PaymentRecord`` by
    assigning ``__class__``: the very object ``PaymentRecord(...)`` builds (it has no
    ``__post_init__``), several times faster — the frozen dataclass ``__init__`` calls
    ``object.__setattr__`` for each of the 11 fields.
    """

    __slots__ = (
        "line", "channel", "kind", "reference", "slip_no", "confirmation_no", "tax_item", "amount",
        "paid_on", "booked_on", "detail",
    )  # fmt: skip
    line: int
    channel: str
    kind: RecordKind
    reference: str
    slip_no: str
    confirmation_no: str
    tax_item: str
    amount: int
    paid_on: date
    booked_on: date | None
    detail: dict[str, str]


assert _RecordDraft.__slots__ == PaymentRecord.__slots__ and not hasattr(PaymentRecord, "__post_init__")


@dataclass(frozen=True)
class PaymentFile:
    channel: str
    encoding: str
    sha256: str
    records: tuple[PaymentRecord, ...]

    @property
    def count(self) -> int:
        """Number of records of every kind (速報, 確報, cancellations)."""
        return len(self.records)

    @property
    def amount_total(self) -> int:
        """Sum of the FINAL records' amounts only: what the file posts. 速報 (not posted), 速報取消
        and eLTAX cancellations (which reverse earlier postings) are neither added nor subtracted."""
        return sum(r.amount for r in self.records if r.kind is RecordKind.FINAL)


_Parser = Callable[[str, ChannelSettings, list[RowError], str], Iterator[PaymentRecord]]


@dataclass
class PaymentStream:
    """A payment file read row by row (bounded memory): ``records`` yields each valid record while
    ``errors`` collects every problem; the caller refuses the file if ``errors`` is not empty once
    ``records`` is exhausted (and so must not have made anything permanent before then)."""

    channel: str
    encoding: str
    sha256: str
    records: Iterator[PaymentRecord]
    errors: list[RowError]


def stream_payment_file(
    data: bytes, channel: str, *, settings: ChannelSettings, file_name: str = ""
) -> PaymentStream:
    parser = _PARSERS.get(channel)
    if parser is None:
        raise ValueError(f"unknown payment channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    decoded = decode_strict(data, file_name)
    errors: list[RowError] = []
    return PaymentStream(
        channel, decoded.encoding, decoded.sha256, parser(decoded.text, settings, errors, file_name), errors
    )


def parse_payment_file(
    data: bytes, channel: str, *, settings: ChannelSettings, file_name: str = ""
) -> PaymentFile:
    """Decode strictly, parse every row, and return the file — or raise ``FileRefused`` listing every
    problem found (up to ``csvfile.MAX_ERRORS`` rows). An unknown ``channel`` is a ``ValueError``."""
    parser = _PARSERS.get(channel)
    if parser is None:
        raise ValueError(f"unknown payment channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    decoded = decode_strict(data, file_name)
    errors: list[RowError] = []
    records = tuple(parser(decoded.text, settings, errors, file_name))
    if errors:
        raise FileRefused(errors, file_name)
    return PaymentFile(channel, decoded.encoding, decoded.sha256, records)


# --- shared ----------------------------------------------------------------------------------------


def _cached_date(
    c: RowChecker, row: dict[str, str], column: str, cache: dict[str, date], *, required: bool = True
) -> date | None:
    """``RowChecker.date`` remembering each valid text: a file holds few distinct dates, many rows."""
    found = cache.get(row[column])
    if found is None:
        found = c.date(row, column, required=required)
        if found is not None:
            cache[row[column]] = found
    return found


def _positive_yen(c: RowChecker, row: dict[str, str], column: str) -> int:
    amount = c.yen(row, column)
    if amount is None:
        return 0
    if amount == 0:
        c.fail(column, "金額が0円です", row[column])
    elif amount > MAX_AMOUNT:
        c.fail(column, "金額が大きすぎます（12桁まで）。列がずれていませんか", row[column])
    return amount


# --- the fast lane ---------------------------------------------------------------------------------
#
# Most rows of a real file are plain and valid. For those, ``_parse_bank`` / ``_parse_conveni`` match
# the raw line against one pattern, look the dates up among the texts the slow path already found
# valid, and check every check digit with a few table look-ups; anything else — a quote, a new date, a
# wrong check digit, a duplicate — goes through the field-by-field path (``_bank_row`` /
# ``_conveni_row``), which yields the same record or the exact errors. The fast lane never records an
# error, so the output is that of the slow path alone (``_parse_*_reference``).
#
# Check digits as "lanes": each check is a weighted sum of digits modulo 10 or 11; a lane holds one
# such sum, reduced, in 8 bits of an int. A table gives the lanes of each 4-digit chunk at its
# position; adding a row's few chunks gives every sum at once, and one more look-up says whether they
# check (lanes add up to well below 256: ≤ 8 terms of ≤ 10 each).

_NAME_MAX = 256
"""Longest コンビニ名 the fast lane reads (a longer one takes the slow path)."""

_Lanes = tuple[tuple[tuple[int, ...], int], ...]
"""Per lane: the weights over the 44 digits of the code and the modulus."""


def _lanes(lanes: _Lanes, start: int, digits: str) -> int:
    """The lanes of ``digits`` placed at ``start``: lane k holds Σ weights[start + i] · digit i mod m."""
    return sum(
        (sum(weights[start + i] * (ord(ch) - 48) for i, ch in enumerate(digits)) % modulus) << (8 * k)
        for k, (weights, modulus) in enumerate(lanes)
    )


@cache
def _digit_strings(width: int) -> tuple[str, ...]:
    return tuple(f"{i:0{width}d}" for i in range(10**width))


def _lane_table(lanes: _Lanes, start: int, width: int) -> dict[str, int]:
    """``_lanes`` of every ``width``-digit string at ``start``."""
    sums = [0]  # unreduced, 12 bits a lane (≤ 4 digits × 9 × 9), in the order of _digit_strings
    for pos in range(start, start + width):
        per_digit = [sum(w[pos] * d << (12 * k) for k, (w, _) in enumerate(lanes)) for d in range(10)]
        sums = [total + per_digit[d] for total in sums for d in range(10)]
    reduced = dict.fromkeys(sums, 0)
    for k, (_, m) in enumerate(lanes):
        reduced = {total: r + ((total >> (12 * k) & 0xFFF) % m << (8 * k)) for total, r in reduced.items()}
    return dict(zip(_digit_strings(width), map(reduced.__getitem__, sums), strict=True))


def _slip_lane(start: int) -> tuple[int, ...]:
    """Weights such that a slip number (16 digits) at ``start`` is valid iff its sum is 0 mod 10."""
    return (0,) * start + gs1_weights(15) + (1,) + (0,) * (44 - start - 16)


_W10, _W11 = ocr_weights(42)
_OCR_LANES: _Lanes = (((0, 0, *_W10), 10), ((0, 0, *_W11), 11), (_slip_lane(13), 10))
"""Over the 44-digit lower OCR line: CD2's sum (mod 10), CD1's sum (mod 11), the slip number's."""
_BARCODE_LANES: _Lanes = (((*gs1_weights(43), 1), 10), (_slip_lane(13), 10))
"""Over the 44 barcode digits: the GS1 sum with the check digit, the slip number's (both 0 mod 10)."""
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(100))
_OCR_CHECK_DIGITS = tuple(
    _TWO_DIGITS[(cd1_sum + 2 * (cd2_sum % 10)) % 11 % 10 * 10 + cd2_sum % 10]
    for cd1_sum in range(64)
    for cd2_sum in range(256)
)
"""The two check digits of an OCR line by its first two lanes (``lanes & 0xFFFF``; a bank row adds 6
terms of ≤ 10 in each lane)."""
_MULTIPLE_OF_10 = tuple(total % 10 == 0 for total in range(256))
_BARCODE_CHECKS = tuple(a % 10 == 0 and b % 10 == 0 for b in range(96) for a in range(256))
"""Whether a barcode's two lanes both check (a conveni row adds 8 terms of ≤ 9 in each lane)."""


@cache
def _bank_tables() -> tuple[dict[str, int], ...]:
    """Lanes of the tax item (with the 収納区分 80 after it), the slip number's four chunks and 確認番号."""
    tax = {item: _lanes(_OCR_LANES, 7, item + "80") for item in TAX_ITEMS}
    return (tax, *(_lane_table(_OCR_LANES, start, 4) for start in (13, 17, 21, 25, 29)))


@cache
def _conveni_tables() -> tuple[dict[str, int], ...]:
    """Lanes of the slip number's four chunks, then of the amount's first 3 digits, then of its last 3
    with the check digit."""
    return tuple(_lane_table(_BARCODE_LANES, start, 4) for start in (13, 17, 21, 25)) + (
        _lane_table(_BARCODE_LANES, 37, 3),
        _lane_table(_BARCODE_LANES, 40, 4),
    )


_CACHE_MAX = 10_000
"""Entries kept in each cache of the fast lane (a file of ever new values must not fill memory)."""

_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    if len(cache) < _CACHE_MAX:
        cache[key] = value
    return value


def _fast_lane_possible() -> bool:
    """The csv module refuses fields longer than its field size limit; the fast lane reads none."""
    return csv.field_size_limit() >= _NAME_MAX + 2


# --- conveni ---------------------------------------------------------------------------------------


def _dsk_date(c: RowChecker, row: dict[str, str], column: str, cache: dict[str, date]) -> date | None:
    """A required date as ``YYYYMMDD`` (DSK) or ``YYYY-MM-DD``; valid texts are remembered in ``cache``."""
    value = row[column]
    found = cache.get(value)
    if found is not None:
        return found
    if value == "":
        c.fail(column, "必須項目が空です")
        return None
    if not _DSK_DATE.fullmatch(value):
        c.fail(column, "日付は YYYYMMDD または YYYY-MM-DD 形式で指定してください", value)
        return None
    try:
        found = cache[value] = date.fromisoformat(value)
    except ValueError:
        c.fail(column, "存在しない日付です", value)
        return None
    return found


def _conveni_kind(c: RowChecker, value: str) -> RecordKind | None:
    kind = _CONVENI_KINDS.get(value)
    if kind is None:
        if value in _UNSUPPORTED_CONVENI_KINDS:
            c.fail(
                "種別",
                f"種別 {value}（{_UNSUPPORTED_CONVENI_KINDS[value]}）には対応していません。"
                "01 速報・02 確報・03 速報取消のみ取り込めます（収納代行に確認してください）",
                value,
            )
        else:
            c.fail("種別", "種別が不正です（01 速報, 02 確報, 03 速報取消）", value)
    return kind


def _conveni_barcode(c: RowChecker, row: dict[str, str], settings: ChannelSettings) -> BarcodeFields | None:
    value = row["バーコード情報"]
    if value == "":
        c.fail("バーコード情報", "必須項目が空です")
        return None
    try:
        bc = parse_barcode(value)
    except ValueError as exc:
        c.fail("バーコード情報", str(exc), value)
        return None
    if bc.company_code != settings.conveni_company_code:
        c.fail(
            "バーコード情報",
            f"バーコードの企業コード {bc.company_code} がこの団体の設定（{settings.conveni_company_code}）と"
            "異なります。他の団体・収納代行のファイルではありませんか",
            value,
        )
    elif bc.client_code != settings.conveni_client_code:
        c.fail(
            "バーコード情報",
            f"バーコードの委託者コード {bc.client_code} がこの団体の設定（{settings.conveni_client_code}）と"
            "異なります。他の団体のファイルではありませんか",
            value,
        )
    if bc.stamp_flag != "0":
        c.fail("バーコード情報", "バーコードの印紙フラグが 1 です（税の納付書は 0）", value)
    return bc


def _conveni_amount(c: RowChecker, row: dict[str, str], bc: BarcodeFields | None) -> int:
    amount = c.yen(row, "金額")
    if amount is None:
        return 0
    value = row["金額"]
    if amount == 0:
        c.fail("金額", "金額が0円です", value)
    elif amount > BARCODE_MAX_AMOUNT:
        c.fail("金額", "コンビニ収納の金額は999,999円までです（バーコードの金額欄は6桁）", value)
    elif bc is not None and amount != bc.amount:
        c.fail("金額", f"金額がバーコードの金額（{bc.amount}円）と一致しません", value)
    return amount


def _conveni_cross_checks(c: RowChecker, row: dict[str, str], digits: str) -> None:
    """ユーザー使用欄1/2 repeat barcode digits 14–19 and 20–30 when given.

    DSK's file carries 20–30 (including 再発行区分); formats-reference §2.1 describes the free area as
    20–29, so a 10-digit ユーザー使用欄2 equal to digits 20–29 is accepted as well.
    """
    value = row["ユーザー使用欄1"]
    if value and value != digits[13:19]:
        c.fail("ユーザー使用欄1", f"バーコードの該当桁（{digits[13:19]}）と一致しません", value)
    value = row["ユーザー使用欄2"]
    if value and value not in (digits[19:30], digits[19:29]):
        c.fail("ユーザー使用欄2", f"バーコードの該当桁（{digits[19:30]}）と一致しません", value)
    stamp = row["印紙フラグ"]
    if stamp != "0":
        c.fail("印紙フラグ", "印紙フラグは 0 です（税の納付書に印紙は不要です）", stamp)


def _require_conveni_settings(settings: ChannelSettings, file_name: str) -> None:
    if not (settings.conveni_company_code and settings.conveni_client_code):
        raise FileRefused(
            [
                RowError(
                    0,
                    "",
                    "コンビニ収納の企業コード・委託者コードが設定されていません（団体設定で登録してから取り込んでください）",
                )
            ],
            file_name,
        )


def _seen_by_kind() -> dict[str, dict[str, int]]:
    """For each 種別, the line of each reference already read (one dict of string keys per kind
    rather than one of (reference, kind) tuples: cheaper to hash and never tracked by the GC)."""
    return {kind: {} for kind in _CONVENI_KINDS}


def _conveni_row(
    line: int,
    row: dict[str, str],
    errors: list[RowError],
    settings: ChannelSettings,
    seen: dict[str, dict[str, int]],
    dates: dict[str, date],
) -> PaymentRecord | None:
    """Check one conveni row field by field: the record, or ``None`` with its errors appended."""
    c = RowChecker(line, errors)
    kind = _conveni_kind(c, row["種別"])
    paid_on = _dsk_date(c, row, "収納日", dates)
    paid_time = row["収納時刻"]
    if not _HHMM.fullmatch(paid_time):
        c.fail("収納時刻", "収納時刻は HHMM（0000〜2359）で指定してください", paid_time)
    bc = _conveni_barcode(c, row, settings)
    digits = strip_ean(row["バーコード情報"])
    if bc is not None:
        _conveni_cross_checks(c, row, digits)
    amount = _conveni_amount(c, row, bc)
    chain = c.digits(row, "コンビニ本部コード", min_len=3, max_len=3)
    store = row["コンビニ店舗コード"]
    if not _STORE_CODE.fullmatch(store):
        c.fail("コンビニ店舗コード", "店舗コードは半角英数字20文字以内で指定してください", store)
    remit = row["振込日"]
    booked_on = None
    if kind is RecordKind.FINAL and remit in ("", "0"):
        c.fail("振込日", "確報には振込日が必要です（収納代行に確認してください）", remit)
    elif kind is RecordKind.FINAL:
        booked_on = _dsk_date(c, row, "振込日", dates)
        if booked_on is not None and paid_on is not None and booked_on < paid_on:
            c.fail("振込日", "振込日が収納日より前です", remit)
    elif kind is not None and remit not in ("", "0"):
        c.fail("振込日", "速報・速報取消の振込日は 0 か空欄です（振込日があるのは確報だけです）", remit)
    created_on = _dsk_date(c, row, "データ作成日", dates)
    if not c.ok:
        return None
    assert kind is not None and bc is not None and paid_on is not None and created_on is not None
    reference = f"{paid_on.isoformat()}|{digits}|{paid_time}|{chain}|{store}"
    first = seen[row["種別"]].setdefault(reference, line)
    if first != line:
        c.fail(
            "バーコード情報",
            f"同じ収納（バーコード・収納日・時刻・店舗）の{_KIND_NAMES[kind]}が{first}行目にもあります",
            row["バーコード情報"],
        )
        return None
    return PaymentRecord(
        line=line,
        channel="conveni",
        kind=kind,
        reference=reference,
        slip_no=bc.slip_no,
        confirmation_no="",
        tax_item="",
        amount=amount,
        paid_on=paid_on,
        booked_on=booked_on,
        detail={
            "record_type": intern(row["種別"]),
            "barcode": digits,
            "paid_time": intern(paid_time),
            "chain_code": intern(chain),
            "chain_name": intern(row["コンビニ名"]),
            "store_code": store,
            "reissue": digits[29],
            "pay_by": intern(bc.pay_by.isoformat()) if bc.pay_by else "",
            "data_created_on": intern(created_on.isoformat()),
        },
    )


def _parse_conveni_reference(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
    """Every row through ``_conveni_row``: the behaviour ``_parse_conveni`` must reproduce exactly."""
    _require_conveni_settings(settings, file_name)
    seen = _seen_by_kind()
    dates: dict[str, date] = {}
    for line, row in iter_rows(text, CONVENI_HEADER, errors, file_name):
        record = _conveni_row(line, row, errors, settings, seen, dates)
        if record is not None:
            yield record


def _conveni_plain(settings: ChannelSettings) -> str:
    """A plain conveni line (no quotes, but around the chain name) of a barcode addressed to this
    municipality, each field of the right form. What the pattern leaves open the fast lane checks:
    dates (texts already found valid), check digits, 支払期限, cross checks, amount, duplicates.

    Groups: 種別 and 収納日 together, 収納時刻, the barcode digits (then the slip number in four
    chunks, 再発行区分 + 支払期限 + 印紙フラグ 0, the amount's first 3 digits, its last 3 with the check
    digit), ユーザー使用欄1 and 2, 金額, コンビニ本部コード and コンビニ名 together, 店舗コード, 振込日
    and データ作成日 together: fields taken together repeat together and are looked up at once.
    """
    kinds = "|".join(map(re.escape, _CONVENI_KINDS))
    prefix = re.escape("91" + settings.conveni_company_code + settings.conveni_client_code)
    dsk = "(?:[0-9]{8}|[0-9]{4}-[0-9]{2}-[0-9]{2})"
    name = f"{{0,{_NAME_MAX}}}"
    return (
        rf"((?:{kinds}),{dsk}),((?:[01][0-9]|2[0-3])[0-5][0-9]),"
        rf"(?:EAN)?({prefix}([0-9]{{4}})([0-9]{{4}})([0-9]{{4}})([0-9]{{4}})([0-9]{{7}}0)([0-9]{{3}})([0-9]{{4}})),"
        r"([0-9]*),([0-9]*),0,([1-9][0-9]{0,5}),"
        rf'([0-9]{{3}},(?:[^",\r\n\x00]{name}|"[^"\r\n\x00]{name}")),'
        rf"([0-9A-Za-z]{{1,20}}),([0-9-]*,{dsk})"
    )


def _parse_conveni(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
    """``_parse_conveni_reference``, fast: a plain, valid row is read with one regular expression and
    a few look-ups; any other row (or any doubt) goes through ``_conveni_row``."""
    if not _fast_lane_possible():
        yield from _parse_conveni_reference(text, settings, errors, file_name)
        return
    _require_conveni_settings(settings, file_name)
    seen = _seen_by_kind()
    dates: dict[str, date] = {}  # the valid date texts, filled by the slow path (_dsk_date)
    rows = RawRows(text, CONVENI_HEADER, errors, file_name, plain=_conveni_plain(settings))
    t_slip1, t_slip2, t_slip3, t_slip4, t_amount, t_amount_cd = _conveni_tables()
    prefix = _lanes(_BARCODE_LANES, 0, "91" + settings.conveni_company_code + settings.conveni_client_code)
    final = RecordKind.FINAL

    # Caches of the fast lane, by field text; a text not (yet) known valid is not cached: the row
    # goes the slow way, which learns a new valid date.
    heads: dict[str, tuple[RecordKind, str, date, str]] = {}  # 種別,収納日: kind, 種別, date, ISO date
    tails: dict[str, tuple[date | None, bool, str]] = {}  # 振込日,データ作成日: date, blank, ISO date
    middles: dict[str, tuple[str, int]] = {}  # barcode digits 30–37: 支払期限 (ISO), lanes
    chains: dict[str, tuple[str, str]] = {}  # コンビニ本部コード,コンビニ名: both, unquoted, interned

    def known_head(head: str) -> tuple[RecordKind, str, date, str] | None:
        paid_on = dates.get(head[3:])
        if paid_on is None:
            return None
        found = (_CONVENI_KINDS[head[:2]], intern(head[:2]), paid_on, intern(paid_on.isoformat()))
        return _remember(heads, head, found)

    def known_tail(tail: str) -> tuple[date | None, bool, str] | None:
        remit, created = tail.split(",")
        created_on = dates.get(created)
        remitted_on = dates.get(remit)
        blank = remit in ("", "0")
        if created_on is None or (remitted_on is None and not blank):
            return None
        return _remember(tails, tail, (remitted_on, blank, intern(created_on.isoformat())))

    def known_middle(middle: str, digits: str) -> tuple[str, int] | None:
        """``None`` when the barcode does not parse (the slow path tells why)."""
        try:
            pay_by = parse_barcode(digits).pay_by
        except ValueError:
            return None
        lanes = prefix + _lanes(_BARCODE_LANES, 29, middle)
        return _remember(middles, middle, (intern(pay_by.isoformat()) if pay_by else "", lanes))

    def known_chain(chain_name: str) -> tuple[str, str]:
        name = chain_name[4:]
        if name[:1] == '"':
            name = name[1:-1]
        return _remember(chains, chain_name, (intern(chain_name[:3]), intern(name)))

    line, lines = rows.start()
    if rows.done:
        return
    for fields in lines:
        line += 1
        (content, head_text, paid_time, digits, s1, s2, s3, s4, middle, a1, a2, user1, user2, amount_text,
         chain_name, store, tail_text, _, _) = fields  # fmt: skip
        if content:
            head = heads.get(head_text) or known_head(head_text)
            tail = tails.get(tail_text) or known_tail(tail_text)
            mid = middles.get(middle) or known_middle(middle, digits)
            if head is not None and tail is not None and mid is not None:
                kind, kind_text, paid_on, paid_iso = head
                booked_on, blank, created_iso = tail
                if kind is final:
                    remit_ok = booked_on is not None and booked_on >= paid_on
                else:
                    remit_ok, booked_on = blank, None
                chain, name = chains.get(chain_name) or known_chain(chain_name)
                reference = f"{paid_iso}|{digits}|{paid_time}|{chain}|{store}"
                if (
                    remit_ok
                    and _BARCODE_CHECKS[
                        mid[1]
                        + t_slip1[s1]
                        + t_slip2[s2]
                        + t_slip3[s3]
                        + t_slip4[s4]
                        + t_amount[a1]
                        + t_amount_cd[a2]
                    ]
                    and (not user1 or user1 == digits[13:19])
                    and (not user2 or user2 == digits[19:30] or user2 == digits[19:29])
                    and amount_text.zfill(6) == digits[37:43]
                    and seen[kind_text].setdefault(reference, line) == line  # last: it records the row
                ):
                    draft = _RecordDraft()  # PaymentRecord(...), faster: see _RecordDraft
                    draft.line = line
                    draft.channel = "conveni"
                    draft.kind = kind
                    draft.reference = reference
                    draft.slip_no = digits[13:29]
                    draft.confirmation_no = ""
                    draft.tax_item = ""
                    draft.amount = int(amount_text)
                    draft.paid_on = paid_on
                    draft.booked_on = booked_on
                    draft.detail = {
                        "record_type": kind_text,
                        "barcode": digits,
                        "paid_time": intern(paid_time),
                        "chain_code": chain,
                        "chain_name": name,
                        "store_code": store,
                        "reissue": middle[0],
                        "pay_by": mid[0],
                        "data_created_on": created_iso,
                    }
                    draft.__class__ = PaymentRecord  # type: ignore[assignment]
                    yield draft  # type: ignore[misc]
                    continue
        row = rows.row(line, fields)
        if row is not None:
            record = _conveni_row(line, row, errors, settings, seen, dates)
            if record is not None:
                yield record
        if rows.done:
            return
        line += rows.extra_lines


# --- bank --------------------------------------------------------------------------------------------


def _bank_row(
    line: int,
    row: dict[str, str],
    errors: list[RowError],
    occurrences: dict[str, int],
    dates: dict[str, date],
) -> PaymentRecord | None:
    """Check one bank row field by field: the record, or ``None`` with its errors appended."""
    c = RowChecker(line, errors)
    ocr = c.required(row, "ocr_lower")
    fields = None
    if ocr:
        try:
            fields = parse_ocr_lower(ocr)
        except ValueError as exc:
            c.fail("ocr_lower", str(exc), ocr)
    amount = _positive_yen(c, row, "amount")
    paid_on = _cached_date(c, row, "paid_on", dates)
    bank_code = c.digits(row, "bank_code", min_len=4, max_len=4)
    branch_code = c.digits(row, "branch_code", min_len=3, max_len=3)
    booked_on = _cached_date(c, row, "booked_on", dates)
    if paid_on is not None and booked_on is not None and booked_on < paid_on:
        c.fail("booked_on", "入金日（booked_on）が領収日（paid_on）より前です", row["booked_on"])
    if not c.ok:
        return None
    assert fields is not None and paid_on is not None and booked_on is not None
    normalized = f"{ocr}|{amount}|{paid_on.isoformat()}|{bank_code}|{branch_code}|{booked_on.isoformat()}"
    digest = hashlib.sha256(normalized.encode("ascii")).hexdigest()[:32]
    n = occurrences.get(digest, 0) + 1
    occurrences[digest] = n
    return PaymentRecord(
        line=line,
        channel="bank",
        kind=RecordKind.FINAL,
        reference=f"bank:{paid_on.isoformat()}:{fields.slip_no}:{digest}:{n}",
        slip_no=fields.slip_no,
        confirmation_no=fields.confirmation_no,
        tax_item=fields.tax_item,
        amount=amount,
        paid_on=paid_on,
        booked_on=booked_on,
        detail={"ocr_lower": ocr, "bank_code": intern(bank_code), "branch_code": intern(branch_code)},
    )


def _parse_bank_reference(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
    """Every row through ``_bank_row``: the behaviour ``_parse_bank`` must reproduce exactly."""
    occurrences: dict[str, int] = {}
    dates: dict[str, date] = {}
    for line, row in iter_rows(text, BANK_HEADER, errors, file_name):
        record = _bank_row(line, row, errors, occurrences, dates)
        if record is not None:
            yield record


_BANK_PLAIN = (
    # OCR (check digits, 予算区分 0, 科目ID 0000 + tax item, 収納区分 80, 00 + slip number in four
    # chunks, 確認番号, 11 zeros), amount without leading zeros, paid_on, bank, branch, booked_on
    r"(([0-9]{2})00000(" + "|".join(map(re.escape, TAX_ITEMS)) + r")8000"
    r"(([0-9]{4})([0-9]{4})([0-9]{4})([0-9]{4}))([0-9]{4})0{11}),"
    rf"([1-9][0-9]{{0,{len(str(MAX_AMOUNT)) - 1}}}),"
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}),([0-9]{4},[0-9]{3}),([0-9]{4}-[0-9]{2}-[0-9]{2})"
)
"""A plain bank line (``RawRows``) of the right form; the fast lane checks dates and check digits.
Bank and branch codes are one group: they repeat together and are looked up at once."""


def _parse_bank(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
    """``_parse_bank_reference``, fast: a plain, valid row is read with one regular expression and a
    few table look-ups; any other row (or any doubt) goes through ``_bank_row``."""
    if not _fast_lane_possible():
        yield from _parse_bank_reference(text, settings, errors, file_name)
        return
    occurrences: dict[str, int] = {}
    dates: dict[str, date] = {}
    rows = RawRows(text, BANK_HEADER, errors, file_name, plain=_BANK_PLAIN)
    t_tax, t_slip1, t_slip2, t_slip3, t_slip4, t_confirmation = _bank_tables()
    sha256 = hashlib.sha256
    final = RecordKind.FINAL
    codes: dict[str, tuple[str, str]] = {}  # bank,branch: both interned

    def known_codes(bank_branch: str) -> tuple[str, str]:
        return _remember(codes, bank_branch, (intern(bank_branch[:4]), intern(bank_branch[5:])))

    line, lines = rows.start()
    if rows.done:
        return
    for fields in lines:
        line += 1
        (content, ocr, cd, tax_item, slip_no, s1, s2, s3, s4, confirmation_no, amount_text, paid_text,
         bank_branch, booked_text, _, _) = fields  # fmt: skip
        if content:
            paid_on = dates.get(paid_text)
            booked_on = dates.get(booked_text)
            amount = int(amount_text)
            if (
                paid_on is not None
                and booked_on is not None
                and booked_on >= paid_on
                and amount <= MAX_AMOUNT
            ):
                lanes = t_tax[tax_item] + t_slip1[s1] + t_slip2[s2] + t_slip3[s3] + t_slip4[s4]
                lanes += t_confirmation[confirmation_no]
                if cd == _OCR_CHECK_DIGITS[lanes & 0xFFFF] and _MULTIPLE_OF_10[lanes >> 16]:
                    # amount has no leading zeros and the dates are ISO already: this is the normalized text
                    digest = sha256(content.replace(",", "|").encode()).hexdigest()[:32]
                    n = occurrences.get(digest, 0) + 1
                    occurrences[digest] = n
                    bank_code, branch_code = codes.get(bank_branch) or known_codes(bank_branch)
                    draft = _RecordDraft()  # PaymentRecord(...), faster: see _RecordDraft
                    draft.line = line
                    draft.channel = "bank"
                    draft.kind = final
                    draft.reference = f"bank:{paid_on.isoformat()}:{slip_no}:{digest}:{n}"
                    draft.slip_no = slip_no
                    draft.confirmation_no = confirmation_no
                    draft.tax_item = tax_item
                    draft.amount = amount
                    draft.paid_on = paid_on
                    draft.booked_on = booked_on
                    draft.detail = {"ocr_lower": ocr, "bank_code": bank_code, "branch_code": branch_code}
                    draft.__class__ = PaymentRecord  # type: ignore[assignment]
                    yield draft  # type: ignore[misc]
                    continue
        row = rows.row(line, fields)
        if row is not None:
            record = _bank_row(line, row, errors, occurrences, dates)
            if record is not None:
                yield record
        if rows.done:
            return
        line += rows.extra_lines


# --- eltax -------------------------------------------------------------------------------------------


def _parse_eltax(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
    agency = settings.eltax_agency_no
    if not agency:
        raise FileRefused(
            [
                RowError(
                    0,
                    "",
                    "eLTAX の収納機関番号が設定されていません（団体設定で登録してから取り込んでください）",
                )
            ],
            file_name,
        )
    seen: dict[tuple[str, RecordKind], int] = {}
    dates: dict[str, date] = {}
    for line, row in iter_rows(text, ELTAX_HEADER, errors, file_name):
        c = RowChecker(line, errors)
        transaction_id = row["transaction_id"]
        if not _TRANSACTION_ID.fullmatch(transaction_id):
            c.fail(
                "transaction_id",
                "取引IDは空白を含まない半角英数記号64文字以内で指定してください",
                transaction_id,
            )
        agency_no = c.digits(row, "agency_no", min_len=5, max_len=5)
        if agency_no and agency_no != agency:
            c.fail(
                "agency_no",
                f"収納機関番号がこの団体の設定（{agency}）と異なります。他の団体のファイルではありませんか",
                agency_no,
            )
        payment_no = c.digits(row, "payment_no", min_len=16, max_len=16)
        if payment_no and not is_valid_slip_no(payment_no):
            c.fail("payment_no", "納付番号のチェックデジットが一致しません", payment_no)
        confirmation_no = c.digits(row, "confirmation_no", min_len=4, max_len=4)
        payment_class = c.choice(row, "payment_class", _PAYMENT_CLASSES)
        amount = _positive_yen(c, row, "amount")
        paid_on = _cached_date(c, row, "paid_on", dates)
        cancelled = c.choice(row, "cancelled", _CANCELLED)
        # A cancellation may come before the money was remitted; a payment must say when it was.
        remitted_on = _cached_date(c, row, "remitted_on", dates, required=cancelled != "1")
        if paid_on is not None and remitted_on is not None and remitted_on < paid_on:
            c.fail("remitted_on", "払込日（remitted_on）が納付日（paid_on）より前です", row["remitted_on"])
        if not c.ok:
            continue
        assert paid_on is not None
        kind = RecordKind.CANCEL if cancelled == "1" else RecordKind.FINAL
        first = seen.setdefault((transaction_id, kind), line)
        if first != line:
            c.fail(
                "transaction_id",
                f"同じ取引IDの{'取消' if kind is RecordKind.CANCEL else '収納'}が{first}行目にもあります",
                transaction_id,
            )
            continue
        yield PaymentRecord(
            line=line,
            channel="eltax",
            kind=kind,
            reference=transaction_id,
            slip_no=payment_no,
            confirmation_no=confirmation_no,
            tax_item=payment_class[1:],
            amount=amount,
            paid_on=paid_on,
            booked_on=remitted_on,
            detail={
                "transaction_id": transaction_id,
                "agency_no": intern(agency_no),
                "payment_class": intern(payment_class),
            },
        )


_PARSERS: dict[str, _Parser] = {
    "conveni": _parse_conveni,
    "bank": _parse_bank,
    "eltax": _parse_eltax,
}
CHANNELS = tuple(_PARSERS)
