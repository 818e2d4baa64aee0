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
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from sys import intern

from choshu.formats.csvfile import decode_strict, iter_rows
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
from choshu.rules.check_digits import is_valid_slip_no

__all__ = [
    "BANK_HEADER",
    "CHANNELS",
    "CONVENI_HEADER",
    "ELTAX_HEADER",
    "ChannelSettings",
    "PaymentFile",
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


def _parse_conveni(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
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
    seen: dict[tuple[str, RecordKind], int] = {}
    dates: dict[str, date] = {}
    for line, row in iter_rows(text, CONVENI_HEADER, errors, file_name):
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
            continue
        assert kind is not None and bc is not None and paid_on is not None and created_on is not None
        reference = f"{digits}|{paid_on.isoformat()}|{paid_time}|{chain}|{store}"
        first = seen.setdefault((reference, kind), line)
        if first != line:
            c.fail(
                "バーコード情報",
                f"同じ収納（バーコード・収納日・時刻・店舗）の{_KIND_NAMES[kind]}が{first}行目にもあります",
                row["バーコード情報"],
            )
            continue
        yield PaymentRecord(
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


# --- bank --------------------------------------------------------------------------------------------


def _parse_bank(
    text: str, settings: ChannelSettings, errors: list[RowError], file_name: str
) -> Iterator[PaymentRecord]:
    occurrences: dict[str, int] = {}
    dates: dict[str, date] = {}
    for line, row in iter_rows(text, BANK_HEADER, errors, file_name):
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
            continue
        assert fields is not None and paid_on is not None and booked_on is not None
        normalized = f"{ocr}|{amount}|{paid_on.isoformat()}|{bank_code}|{branch_code}|{booked_on.isoformat()}"
        digest = hashlib.sha256(normalized.encode("ascii")).hexdigest()[:32]
        n = occurrences.get(digest, 0) + 1
        occurrences[digest] = n
        yield PaymentRecord(
            line=line,
            channel="bank",
            kind=RecordKind.FINAL,
            reference=f"bank:{digest}:{n}",
            slip_no=fields.slip_no,
            confirmation_no=fields.confirmation_no,
            tax_item=fields.tax_item,
            amount=amount,
            paid_on=paid_on,
            booked_on=booked_on,
            detail={"ocr_lower": ocr, "bank_code": intern(bank_code), "branch_code": intern(branch_code)},
        )


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
