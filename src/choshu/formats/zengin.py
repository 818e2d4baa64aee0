"""全銀協 (Zengin) 120-byte fixed-length files: 預金口座振替 (種別 91) and 総合振込 (種別 21).

Rules: ``shared/docs/formats-reference.md`` §1 (1.0 common rules, 1.1 口座振替, 1.2 総合振込, 1.3 what a
reader must refuse), §6 (bank and branch codes, ゆうちょ 記号番号), §7.1–7.2 (JIS X 0201, 半角カナ).
Pure: no Django.

* **Kana** — :func:`to_zengin_kana` turns a full-width カナ name into the field's 半角 repertoire
  (ー → ``-``, small kana enlarged, ガ → ``ｶﾞ``, lowercase → uppercase) and refuses — never truncates —
  anything it cannot represent (:class:`KanaError` names the character and its position).
* **Writers** stream: one record is converted and written at a time (an iterator of 500,000 records
  keeps memory flat). A bad value raises :class:`KanaError` / ``ValueError`` naming the record number
  (header = 1, first data record = 2 …) and the field; ``out`` then holds a partial file, so write to a
  temporary file and discard it on error.
* **Readers** check the whole file first (structure, lengths, order, repertoire, trailer counts and
  sums, result totals) and raise :class:`~choshu.formats.errors.FileRefused` listing every problem
  (``RowError(line=<record number>, column=<field name>, reason=<Japanese>)``); only then do they hand
  back the header/trailer and a lazy iterator over the data records.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any, BinaryIO, Literal

import jpholiday

from choshu.formats.errors import FileRefused, RowError

__all__ = [
    "RECORD_LENGTH",
    "RESULT_CODES_91",
    "BankInfo",
    "BranchInfo",
    "DebitFile",
    "DebitHeader",
    "DebitRecord",
    "DepositType",
    "FieldClass",
    "KanaError",
    "Totals",
    "TransferFile",
    "TransferHeader",
    "TransferRecord",
    "bank_info",
    "branch_info",
    "check_bank_branch",
    "is_bank_business_day",
    "is_zengin_text",
    "jpbank_to_zengin",
    "mmdd",
    "read_debit_file",
    "read_transfer_file",
    "resolve_mmdd",
    "to_zengin_kana",
    "write_debit_file",
    "write_transfer_file",
]

RECORD_LENGTH = 120
MAX_ERRORS = 200
"""A refused file lists at most this many problems (as the CSV readers do)."""
MAX_WARNINGS = 100

# ---------------------------------------------------------------------------------------------------------
# Kana and the repertoire of C fields (§7.2)
# ---------------------------------------------------------------------------------------------------------


class FieldClass(StrEnum):
    """Which 全銀協 付録1 character set a C field permits (§7.2)."""

    BANK = "bank"  # 銀行名・支店名: A-Z, ｱ-ﾝ, ﾞﾟ, digits, space, "-" and "." (see _SYMBOLS)
    NAME = "name"  # 口座名義・受取人名・委託者名: + ( ) - .
    EDI = "edi"  # EDI情報: + ｦ, \ ｢ ｣ ( ) - / .


_FIELD_LABEL = {FieldClass.BANK: "銀行名・支店名", FieldClass.NAME: "名義", FieldClass.EDI: "EDI情報"}
# §7.2 lists only "-" for 銀行名・支店名, but the 統一金融機関コード data itself names 13 foreign banks with
# "．" (zengin-code: 0421 ｸﾚﾃﾞｲ.ｱｸﾞﾘｺﾙ, 0460 ｸﾚﾃﾞｲ.ｽｲｽ …), which banks echo in result files: "." is allowed.
_SYMBOLS = {FieldClass.BANK: "-.", FieldClass.NAME: "()-.", FieldClass.EDI: "\\｢｣()-/."}
_KANA = "".join(chr(c) for c in range(0xFF71, 0xFF9E))  # ｱ … ﾝ
_VOICED_MARK, _SEMI_VOICED_MARK = "\uff9e", "\uff9f"  # ﾞ ﾟ
_TAKES_VOICED = set("ｳｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎ")
_TAKES_SEMI_VOICED = set("ﾊﾋﾌﾍﾎ")
_BASE = set("0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ") | set(_KANA) | {_VOICED_MARK, _SEMI_VOICED_MARK}
_ALLOWED = {
    FieldClass.BANK: frozenset(_BASE | set(_SYMBOLS[FieldClass.BANK])),
    FieldClass.NAME: frozenset(_BASE | set(_SYMBOLS[FieldClass.NAME])),
    FieldClass.EDI: frozenset(_BASE | set(_SYMBOLS[FieldClass.EDI]) | {"ｦ"}),
}
_SMALL_HALF = dict(zip("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ", strict=True))
_SMALL_FULL = dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ", strict=True))
# Full-width katakana (and the combining voicing marks) → half-width, from the half-width block itself.
_TO_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFFA0)}
_TO_HALF.update({"\u309b": _VOICED_MARK, "\u309c": _SEMI_VOICED_MARK})  # spacing ゛ ゜
# Long-vowel marks and dashes → "-" (never ｰ 0xB0, §7.2); yen signs → "\" (0x5C is ¥ in JIS X 0201).
_SPECIAL = {"ー": "-", "ｰ": "-", "－": "-", "‐": "-", "−": "-", "―": "-", "￥": "\\", "¥": "\\", "　": " "}


class KanaError(ValueError):
    """A text cannot be written in a Zengin C field. ``str()`` is a Japanese message for the clerk.

    ``char`` is the offending character of ``text`` and ``position`` its 0-based index; a writer adds
    ``record`` (record number in the file) and ``field_name`` (the field's Japanese name).
    """

    def __init__(
        self,
        text: str,
        position: int,
        char: str,
        reason: str,
        *,
        record: int | None = None,
        field_name: str = "",
    ) -> None:
        self.text, self.position, self.char, self.reason = text, position, char, reason
        self.record, self.field_name = record, field_name
        where = ""
        if record is not None:
            where = f"{record}レコード目 {field_name}: " if field_name else f"{record}レコード目: "
        elif field_name:
            where = f"{field_name}: "
        super().__init__(f"{where}「{text}」の{position + 1}文字目「{char}」: {reason}")

    def at(self, record: int, field_name: str) -> KanaError:
        """The same error, naming the record and field it was found in."""
        return KanaError(
            self.text, self.position, self.char, self.reason, record=record, field_name=field_name
        )


def _char_problem(ch: str, prev: str, field: FieldClass) -> str | None:
    """Why ``ch`` (after ``prev``) is not allowed in a converted C field of ``field``; None if it is."""
    if ch == _VOICED_MARK and prev not in _TAKES_VOICED:
        return "濁点（ﾞ）は濁音になるカナ（ｶ行・ｻ行・ﾀ行・ﾊ行・ｳ）の直後にしか置けません。"
    if ch == _SEMI_VOICED_MARK and prev not in _TAKES_SEMI_VOICED:
        return "半濁点（ﾟ）はﾊ行のカナの直後にしか置けません。"
    if ch in _ALLOWED[field]:
        return None
    if "a" <= ch <= "z":
        return "英小文字は使えません（大文字にしてください）。"
    if ch == "ｰ":
        return "半角長音「ｰ」(0xB0) は使えません。「-」を使ってください。"
    if ch in _SMALL_HALF:
        return "小書きのカナ（ｧ ｯ ｬ など）は使えません。大きいカナ（ｱ ﾂ ﾔ）にしてください。"
    if ch == "ｦ":
        return "「ｦ」はEDI情報にしか使えません（名義・銀行名では使えません）。"
    if ch == ",":
        return "カンマは使えません。"
    if ch in "｢｣\\/":
        return f"記号「{ch}」はEDI情報にしか使えません。"
    if unicodedata.name(ch, "").startswith("CJK"):
        return "漢字は半角カナに変換できません。氏名カナ（カタカナ）で入力してください。"
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return "この全角文字は半角に変換できません（全角カナ・英数字・スペース以外）。"
    return f"全銀の{_FIELD_LABEL[field]}に使えない文字です。"


def _first_problem(text: str, field: FieldClass) -> tuple[int, str] | None:
    prev = ""
    for i, ch in enumerate(text):
        if (reason := _char_problem(ch, prev, field)) is not None:
            return i, reason
        prev = ch
    return None


def is_zengin_text(text: str, field: FieldClass) -> bool:
    """True when ``text`` is already in the field's half-width repertoire (what a reader accepts)."""
    return _first_problem(text, field) is None


def _convert_char(ch: str) -> str:
    """One input character as half-width Zengin text (possibly 2 characters, e.g. ガ → ｶﾞ); may be invalid."""
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if "\u3041" <= ch <= "\u3096":  # hiragana → katakana
        ch = chr(ord(ch) + 0x60)
    ch = _SMALL_FULL.get(ch, _SMALL_HALF.get(ch, ch))
    if "\uff01" <= ch <= "\uff5e":  # full-width ASCII
        ch = chr(ord(ch) - 0xFEE0)
    if "a" <= ch <= "z":
        return ch.upper()
    if "\u30a0" <= ch <= "\u30ff" or ch in "\u3099\u309a\u309b\u309c":
        decomposed = unicodedata.normalize("NFD", ch)  # ガ → カ + U+3099, ヴ → ウ + U+3099
        return "".join(_TO_HALF.get(c, c) for c in decomposed)
    if ch in "「」":
        return _TO_HALF[ch]
    return ch


def to_zengin_kana(text: str, *, field: FieldClass = FieldClass.NAME, max_bytes: int | None = None) -> str:
    """``text`` converted to the half-width repertoire of a Zengin C field of class ``field`` (§7.2).

    Full-width katakana (and hiragana), Latin letters, digits and space become half-width; ー → ``-``;
    small kana are enlarged (ッ → ``ﾂ``); voiced kana are split (ガ → ``ｶﾞ``, ヴ → ``ｳﾞ``); lowercase
    becomes uppercase. ヲ → ``ｦ`` is kept only for :attr:`FieldClass.EDI`. Anything else (kanji, a
    comma, a symbol the field does not allow), or a result longer than ``max_bytes``, raises
    :class:`KanaError` naming the character — the text is never truncated.

    >>> to_zengin_kana("ヤマダ　タロー")
    'ﾔﾏﾀﾞ ﾀﾛ-'
    """
    if not text:
        return ""
    out: list[str] = []
    length = 0
    prev = ""
    for i, ch in enumerate(text):
        converted = _convert_char(ch)
        for c in converted:
            if (reason := _char_problem(c, prev, field)) is not None:
                raise KanaError(text, i, ch, reason)
            prev = c
        length += len(converted)
        if max_bytes is not None and length > max_bytes:
            raise KanaError(
                text,
                i,
                ch,
                f"半角にすると{max_bytes}バイトを超えます（切り詰めはしません）。短い表記（略称など）にしてください。",
            )
        out.append(converted)
    return "".join(out)


# ---------------------------------------------------------------------------------------------------------
# Banks, branches, ゆうちょ, business days (§6)
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BankInfo:
    """A bank of the 統一金融機関コード list (``kana``: half-width Zengin, ready for 銀行名)."""

    code: str
    name: str
    kana: str


@dataclass(frozen=True)
class BranchInfo:
    """A branch (店番) of a bank (``kana``: half-width Zengin, ready for 支店名)."""

    bank_code: str
    code: str
    name: str
    kana: str


@cache
def _banks() -> Any:
    # Loaded on first use, not at import: the package reads ~29,000 branches (≈0.3 s, ~8 MB), which every
    # process importing choshu.formats would otherwise pay.
    from zengin_code import Bank

    return Bank.all


def _bank_kana(kana: str) -> str:
    try:
        return to_zengin_kana(kana, field=FieldClass.BANK)
    except KanaError:
        return to_zengin_kana(kana, field=FieldClass.NAME)


@cache
def bank_info(bank_code: str) -> BankInfo | None:
    """The bank of a 4-digit code in the ``zengin-code`` data, or None if it is not listed."""
    bank = _banks().get(bank_code)
    if bank is None:
        return None
    return BankInfo(code=bank.code, name=bank.name, kana=_bank_kana(bank.kana))


@cache
def branch_info(bank_code: str, branch_code: str) -> BranchInfo | None:
    """The branch of a 3-digit 店番 under a bank, or None if either is not listed."""
    bank = _banks().get(bank_code)
    branch = bank.branches.get(branch_code) if bank is not None else None
    if branch is None:
        return None
    return BranchInfo(bank_code=bank_code, code=branch.code, name=branch.name, kana=_bank_kana(branch.kana))


def check_bank_branch(bank_code: str, branch_code: str) -> list[str]:
    """Japanese warnings when the bank or branch is not in the reference data ([] when both are).

    Only a warning (§6): the data is refreshed monthly and lags mergers and closures.
    """
    if bank_info(bank_code) is None:
        return [
            f"金融機関コード {bank_code} は金融機関コード表（zengin-code）にありません。コードを確認してください。"
        ]
    if branch_info(bank_code, branch_code) is None:
        return [
            f"金融機関コード {bank_code} に店番 {branch_code} の支店がありません。店番を確認してください。"
        ]
    return []


def _jpbank_check_digit(kigo: str, bango: str) -> int:
    digits = [int(c) for c in kigo[:3] + "0" + kigo[4] + bango.zfill(8)]
    total = 0
    for i in range(0, len(digits) - 2, 3):
        third = digits[i + 2] * 2
        total += digits[i] + digits[i + 1] * 3 + (third - 9 if third >= 10 else third)
    return (total + digits[-1]) % 10


def jpbank_to_zengin(kigo: str, bango: str) -> tuple[str, str, str]:
    """ゆうちょ銀行 記号・番号 → (店番, 預金種目 ``"1"``/``"2"``, 7-digit 口座番号) for bank code 9900 (§6).

    記号 ``1xxx0`` (通常貯金): 店番 = 記号 2–3桁目 + ``8``, 普通, 番号 (≤ 8 digits, ending in 1) without
    its last digit. 記号 ``0xxx0`` (振替口座): 店番 = 2–3桁目 + ``9``, 当座, 番号 (≤ 6 digits). The 4th
    digit of 記号 is a check digit. ``ValueError`` (Japanese) on a bad shape or check digit.

    >>> jpbank_to_zengin("14030", "12345671")
    ('408', '1', '1234567')
    """
    kigo = unicodedata.normalize("NFKC", kigo).strip()
    bango = unicodedata.normalize("NFKC", bango).strip()
    if not (len(kigo) == 5 and kigo.isascii() and kigo.isdigit() and kigo[0] in "01" and kigo[4] == "0"):
        raise ValueError(f"記号「{kigo}」は5桁の数字（1または0で始まり0で終わる）ではありません。")
    if kigo[0] == "1":
        if not (bango.isascii() and bango.isdigit() and 2 <= len(bango) <= 8 and bango.endswith("1")):
            raise ValueError(f"番号「{bango}」は通常貯金の番号（8桁以内の数字で末尾が1）ではありません。")
    elif not (bango.isascii() and bango.isdigit() and 1 <= len(bango) <= 6):
        raise ValueError(f"番号「{bango}」は振替口座の番号（6桁以内の数字）ではありません。")
    expected = _jpbank_check_digit(kigo, bango)
    if int(kigo[3]) != expected:
        raise ValueError(
            f"記号「{kigo}」と番号「{bango}」のチェックデジット（記号の4桁目）が合いません。通帳の記号・番号を確認してください。"
        )
    if kigo[0] == "1":
        return kigo[1:3] + "8", DepositType.ORDINARY.value, bango[:-1].zfill(7)
    return kigo[1:3] + "9", DepositType.CHECKING.value, bango.zfill(7)


def is_bank_business_day(d: date) -> bool:
    """A day banks debit and credit on: not a weekend, not a 祝日 (jpholiday), not 12/31–1/3 (§6)."""
    if d.weekday() >= 5 or jpholiday.is_holiday(d):
        return False
    return not ((d.month == 12 and d.day == 31) or (d.month == 1 and d.day <= 3))


# ---------------------------------------------------------------------------------------------------------
# Dates (§1.0): MMDD without a year
# ---------------------------------------------------------------------------------------------------------


def mmdd(d: date) -> str:
    """The ``MMDD`` of a 120-byte Zengin date field."""
    return f"{d.month:02d}{d.day:02d}"


def resolve_mmdd(text: str, around: date) -> date:
    """The date nearest to ``around`` whose month and day are ``text`` (``MMDD``); handles Dec → Jan.

    ``ValueError`` (Japanese) when ``text`` is not a month and day (``1301``, ``0230``).

    >>> resolve_mmdd("0105", date(2026, 12, 28))
    datetime.date(2027, 1, 5)
    """
    if not (len(text) == 4 and text.isascii() and text.isdigit()):
        raise ValueError(f"日付「{text}」は月日4桁（MMDD）ではありません。")
    month, day = int(text[:2]), int(text[2:])
    candidates = []
    for year in (around.year - 1, around.year, around.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise ValueError(f"日付「{text}」（{month}月{day}日）という日はありません。")
    return min(candidates, key=lambda d: (abs((d - around).days), -d.toordinal()))


# ---------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------


class DepositType(StrEnum):
    """預金種目 (全銀協 付録3) as used by 口座振替."""

    ORDINARY = "1"  # 普通
    CHECKING = "2"  # 当座
    TAX_RESERVE = "3"  # 納税準備
    OTHER = "9"  # その他


RESULT_CODES_91: dict[str, str] = {
    "0": "振替済",
    "1": "資金不足",
    "2": "預金取引なし",
    "3": "預金者の都合による振替停止",
    "4": "預金口座振替依頼書なし",
    "8": "委託者の都合による振替停止",
    "9": "その他",
}
"""振替結果コード (§1.1); 5–7 are unassigned and refused."""

_HEADER_DEPOSIT = frozenset("129")
_DEBIT_DEPOSIT = frozenset("1239")
_TRANSFER_DEPOSIT = frozenset("1249")
_NEW_CODES = frozenset("012")
_TRANSFER_DESIGNATIONS = frozenset("780 ")


@dataclass(frozen=True)
class DebitHeader:
    """ヘッダー・レコード of a 口座振替 file (種別 91): the city as 委託者 and its collecting account."""

    originator_code: str
    originator_name: str
    debit_date: date
    bank_code: str
    branch_code: str
    deposit_type: str
    account: str
    bank_name: str = ""
    branch_name: str = ""


@dataclass(frozen=True)
class DebitRecord:
    """データ・レコード of a 口座振替 file: one debit from a payer's account.

    ``customer_no`` (顧客番号) is the reconciliation key; a reader returns the file's 20 digits.
    """

    bank_code: str
    branch_code: str
    deposit_type: str
    account: str
    holder: str
    amount: int
    new_code: str
    customer_no: str
    result_code: str = "0"
    bank_name: str = ""
    branch_name: str = ""


@dataclass(frozen=True)
class TransferHeader:
    """ヘッダー・レコード of a 総合振込 file (種別 21): the city as 振込依頼人 and the paying account."""

    originator_code: str
    originator_name: str
    transfer_date: date
    bank_code: str
    branch_code: str
    deposit_type: str
    account: str
    bank_name: str = ""
    branch_name: str = ""


@dataclass(frozen=True)
class TransferRecord:
    """データ・レコード of a 総合振込 file: one credit to a payee (a refund).

    ``customer_code_1``/``_2`` (≤ 10 digits each) and ``edi`` (EDI情報, ≤ 20 bytes, 識別表示 ``Y``) are
    exclusive. ``designation`` is 振込指定区分 (``7`` 電信, ``8`` 文書, ``0`` or space).
    """

    bank_code: str
    branch_code: str
    deposit_type: str
    account: str
    payee: str
    amount: int
    customer_code_1: str = ""
    customer_code_2: str = ""
    edi: str = ""
    bank_name: str = ""
    branch_name: str = ""
    new_code: str = "0"
    designation: str = "7"


@dataclass(frozen=True)
class Totals:
    """A trailer's figures: 合計件数・金額 and, for a 口座振替 result, 振替済 / 振替不能 件数・金額."""

    count: int
    amount: int
    paid_count: int = 0
    paid_amount: int = 0
    failed_count: int = 0
    failed_amount: int = 0


@dataclass(frozen=True)
class DebitFile:
    """A checked 口座振替 file. ``is_result``: the trailer carries the bank's results (振替結果データ)."""

    header: DebitHeader
    trailer: Totals
    record_count: int
    is_result: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TransferFile:
    """A checked 総合振込 file."""

    header: TransferHeader
    trailer: Totals
    record_count: int
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------------------
# Layouts: (field name, first byte 1-based, length, kind). Kind: "N" digits, or a FieldClass for C fields,
# or "K" a constant/free C field (ダミー: spaces). Lengths are asserted to sum to 120.
# ---------------------------------------------------------------------------------------------------------

_Kind = Literal["N", "K"] | FieldClass
_Layout = tuple[tuple[str, int, int, _Kind], ...]

_HEADER: _Layout = (
    ("データ区分", 1, 1, "N"),
    ("種別コード", 2, 2, "N"),
    ("コード区分", 4, 1, "N"),
    ("委託者コード", 5, 10, "N"),
    ("委託者名", 15, 40, FieldClass.NAME),
    ("引落日", 55, 4, "N"),
    ("取引銀行番号", 59, 4, "N"),
    ("取引銀行名", 63, 15, FieldClass.BANK),
    ("取引支店番号", 78, 3, "N"),
    ("取引支店名", 81, 15, FieldClass.BANK),
    ("預金種目（委託者）", 96, 1, "N"),
    ("口座番号（委託者）", 97, 7, "N"),
    ("ダミー", 104, 17, "K"),
)
_TRANSFER_HEADER: _Layout = (
    ("データ区分", 1, 1, "N"),
    ("種別コード", 2, 2, "N"),
    ("コード区分", 4, 1, "N"),
    ("振込依頼人コード", 5, 10, "N"),
    ("振込依頼人名", 15, 40, FieldClass.NAME),
    ("振込指定日", 55, 4, "N"),
    ("仕向銀行番号", 59, 4, "N"),
    ("仕向銀行名", 63, 15, FieldClass.BANK),
    ("仕向支店番号", 78, 3, "N"),
    ("仕向支店名", 81, 15, FieldClass.BANK),
    ("預金種目（依頼人）", 96, 1, "N"),
    ("口座番号（依頼人）", 97, 7, "N"),
    ("ダミー", 104, 17, "K"),
)
_DEBIT_DATA: _Layout = (
    ("データ区分", 1, 1, "N"),
    ("引落銀行番号", 2, 4, "N"),
    ("引落銀行名", 6, 15, FieldClass.BANK),
    ("引落支店番号", 21, 3, "N"),
    ("引落支店名", 24, 15, FieldClass.BANK),
    ("ダミー", 39, 4, "K"),
    ("預金種目", 43, 1, "N"),
    ("口座番号", 44, 7, "N"),
    ("預金者名", 51, 30, FieldClass.NAME),
    ("引落金額", 81, 10, "N"),
    ("新規コード", 91, 1, "N"),
    ("顧客番号", 92, 20, "N"),
    ("振替結果コード", 112, 1, "N"),
    ("ダミー", 113, 8, "K"),
)
_TRANSFER_DATA: _Layout = (
    ("データ区分", 1, 1, "N"),
    ("被仕向銀行番号", 2, 4, "N"),
    ("被仕向銀行名", 6, 15, FieldClass.BANK),
    ("被仕向支店番号", 21, 3, "N"),
    ("被仕向支店名", 24, 15, FieldClass.BANK),
    ("手形交換所番号", 39, 4, "K"),  # N, but "0000" or spaces (§1.2): checked by hand
    ("預金種目", 43, 1, "N"),
    ("口座番号", 44, 7, "N"),
    ("受取人名", 51, 30, FieldClass.NAME),
    ("振込金額", 81, 10, "N"),
    ("新規コード", 91, 1, "N"),
    ("顧客コード1", 92, 10, "K"),  # N, or EDI情報 with 顧客コード2 when 識別表示 = Y: checked by hand
    ("顧客コード2", 102, 10, "K"),
    ("振込指定区分", 112, 1, "K"),
    ("識別表示", 113, 1, "K"),
    ("ダミー", 114, 7, "K"),
)
_DEBIT_TRAILER: _Layout = (
    ("データ区分", 1, 1, "N"),
    ("合計件数", 2, 6, "N"),
    ("合計金額", 8, 12, "N"),
    ("振替済件数", 20, 6, "N"),
    ("振替済金額", 26, 12, "N"),
    ("振替不能件数", 38, 6, "N"),
    ("振替不能金額", 44, 12, "N"),
    ("ダミー", 56, 65, "K"),
)
_TRANSFER_TRAILER: _Layout = (
    ("データ区分", 1, 1, "N"),
    ("合計件数", 2, 6, "N"),
    ("合計金額", 8, 12, "N"),
    ("ダミー", 20, 101, "K"),
)
_END: _Layout = (("データ区分", 1, 1, "N"), ("ダミー", 2, 119, "K"))

for _layout in (
    _HEADER,
    _TRANSFER_HEADER,
    _DEBIT_DATA,
    _TRANSFER_DATA,
    _DEBIT_TRAILER,
    _TRANSFER_TRAILER,
    _END,
):
    _pos = 1
    for _name, _start, _len, _kind in _layout:
        assert _start == _pos, (_name, _start, _pos)
        _pos += _len
    assert _pos == RECORD_LENGTH + 1, _layout

# ---------------------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------------------


def _n(value: str | int, length: int, record: int, name: str) -> str:
    text = str(value)
    if isinstance(value, int) and value < 0:
        raise ValueError(f"{record}レコード目 {name}: 負の値 {value} は書けません。")
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{record}レコード目 {name}: 「{text}」は半角数字ではありません。")
    if len(text) > length:
        raise ValueError(f"{record}レコード目 {name}: 「{text}」は{length}桁を超えます。")
    return text.zfill(length)


def _exact(value: str, length: int, record: int, name: str) -> str:
    if not (len(value) == length and value.isascii() and value.isdigit()):
        raise ValueError(f"{record}レコード目 {name}: 「{value}」は{length}桁の半角数字ではありません。")
    return value


def _in(value: str, allowed: frozenset[str], record: int, name: str) -> str:
    if len(value) != 1 or value not in allowed:
        raise ValueError(
            f"{record}レコード目 {name}: 「{value}」は使えません（{'・'.join(sorted(allowed)).strip()}のいずれか）。"
        )
    return value


def _c(text: str, length: int, field: FieldClass, record: int, name: str) -> str:
    try:
        return to_zengin_kana(text, field=field, max_bytes=length).ljust(length)
    except KanaError as e:
        raise e.at(record, name) from None


def _emit(out: BinaryIO, record: str, eol: bytes) -> None:
    raw = record.encode("cp932")
    assert len(raw) == RECORD_LENGTH, (len(raw), record)
    out.write(raw + eol)


def _header(
    kind: str, h: DebitHeader | TransferHeader, when: date, names: tuple[str, str, str, str, str, str]
) -> str:
    r = 1
    code, who, bank, branch, dep, acct = names
    return (
        "1"
        + kind
        + "0"
        + _n(h.originator_code, 10, r, code)
        + _c(h.originator_name, 40, FieldClass.NAME, r, who)
        + mmdd(when)
        + _exact(h.bank_code, 4, r, bank + "番号")
        + _c(h.bank_name, 15, FieldClass.BANK, r, bank + "名")
        + _exact(h.branch_code, 3, r, branch + "番号")
        + _c(h.branch_name, 15, FieldClass.BANK, r, branch + "名")
        + _in(h.deposit_type, _HEADER_DEPOSIT, r, dep)
        + _n(h.account, 7, r, acct)
        + " " * 17
    )


def _end_and_trailer(out: BinaryIO, trailer: str, eol: bytes) -> None:
    _emit(out, trailer.ljust(RECORD_LENGTH), eol)
    _emit(out, "9" + " " * 119, eol)


def write_debit_file(
    out: BinaryIO,
    header: DebitHeader,
    records: Iterable[DebitRecord],
    *,
    crlf: bool = True,
    as_result: bool = False,
) -> Totals:
    """Write a 口座振替 file (種別 91): header, the records as they come, trailer, end.

    Amounts are ``int`` yen ≥ 0 (10 digits). A request (依頼データ, the default) must carry 振替結果コード
    ``"0"`` on every record and has zero result totals in its trailer; ``as_result=True`` writes a
    振替結果データ (the codes as given, the trailer's 振替済 / 振替不能 totals filled) — for tests and a
    bank simulator. Returns the trailer's :class:`Totals`.
    """
    eol = b"\r\n" if crlf else b""
    names = ("委託者コード", "委託者名", "取引銀行", "取引支店", "預金種目（委託者）", "口座番号（委託者）")
    _emit(out, _header("91", header, header.debit_date, names), eol)
    count = amount = paid_count = paid_amount = 0
    record_no = 1
    for rec in records:
        record_no += 1
        r = record_no
        line = (
            "2"
            + _exact(rec.bank_code, 4, r, "引落銀行番号")
            + _c(rec.bank_name, 15, FieldClass.BANK, r, "引落銀行名")
            + _exact(rec.branch_code, 3, r, "引落支店番号")
            + _c(rec.branch_name, 15, FieldClass.BANK, r, "引落支店名")
            + "    "
            + _in(rec.deposit_type, _DEBIT_DEPOSIT, r, "預金種目")
            + _n(rec.account, 7, r, "口座番号")
            + _c(rec.holder, 30, FieldClass.NAME, r, "預金者名")
            + _n(_amount(rec.amount, r, "引落金額"), 10, r, "引落金額")
            + _in(rec.new_code, _NEW_CODES, r, "新規コード")
            + _n(rec.customer_no, 20, r, "顧客番号")
            + _result_code(rec.result_code, as_result, r)
            + " " * 8
        )
        _emit(out, line, eol)
        count += 1
        amount += rec.amount
        if rec.result_code == "0":
            paid_count += 1
            paid_amount += rec.amount
    failed_count, failed_amount = count - paid_count, amount - paid_amount
    if not as_result:  # a request: the result totals are zero (§1.1)
        paid_count = paid_amount = 0
    totals = Totals(count, amount, paid_count, paid_amount, failed_count, failed_amount)
    t = record_no + 1
    trailer = (
        "8"
        + _n(count, 6, t, "合計件数")
        + _n(amount, 12, t, "合計金額")
        + _n(paid_count, 6, t, "振替済件数")
        + _n(paid_amount, 12, t, "振替済金額")
        + _n(failed_count, 6, t, "振替不能件数")
        + _n(failed_amount, 12, t, "振替不能金額")
    )
    _end_and_trailer(out, trailer, eol)
    return totals


def _result_code(code: str, as_result: bool, record: int) -> str:
    if not as_result and code != "0":
        raise ValueError(
            f"{record}レコード目 振替結果コード: 依頼データの振替結果コードは0でなければなりません（{code!r}）。"
        )
    return _in(code, frozenset(RESULT_CODES_91), record, "振替結果コード")


def _amount(value: int, record: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{record}レコード目 {name}: 金額は整数（円）で渡してください（{value!r}）。")
    return value


def write_transfer_file(
    out: BinaryIO, header: TransferHeader, records: Iterable[TransferRecord], *, crlf: bool = True
) -> Totals:
    """Write a 総合振込 file (種別 21): header, the records as they come, trailer, end.

    Amounts are ``int`` yen ≥ 1. Returns the trailer's :class:`Totals`.
    """
    eol = b"\r\n" if crlf else b""
    names = (
        "振込依頼人コード",
        "振込依頼人名",
        "仕向銀行",
        "仕向支店",
        "預金種目（依頼人）",
        "口座番号（依頼人）",
    )
    _emit(out, _header("21", header, header.transfer_date, names), eol)
    count = amount = 0
    record_no = 1
    for rec in records:
        record_no += 1
        r = record_no
        if _amount(rec.amount, r, "振込金額") < 1:
            raise ValueError(f"{r}レコード目 振込金額: 0円以下（{rec.amount}）の振込は書けません。")
        _emit(out, _transfer_line(rec, r), eol)
        count += 1
        amount += rec.amount
    t = record_no + 1
    _end_and_trailer(out, "8" + _n(count, 6, t, "合計件数") + _n(amount, 12, t, "合計金額"), eol)
    return Totals(count, amount)


def _transfer_line(rec: TransferRecord, r: int) -> str:
    if rec.edi:
        if rec.customer_code_1 or rec.customer_code_2:
            raise ValueError(f"{r}レコード目 EDI情報: 顧客コードとEDI情報は同時に書けません。")
        codes = _c(rec.edi, 20, FieldClass.EDI, r, "EDI情報")
        flag = "Y"
    else:
        codes = "".join(
            _n(value, 10, r, name) if value else " " * 10
            for value, name in ((rec.customer_code_1, "顧客コード1"), (rec.customer_code_2, "顧客コード2"))
        )
        flag = " "
    return (
        "2"
        + _exact(rec.bank_code, 4, r, "被仕向銀行番号")
        + _c(rec.bank_name, 15, FieldClass.BANK, r, "被仕向銀行名")
        + _exact(rec.branch_code, 3, r, "被仕向支店番号")
        + _c(rec.branch_name, 15, FieldClass.BANK, r, "被仕向支店名")
        + "0000"
        + _in(rec.deposit_type, _TRANSFER_DEPOSIT, r, "預金種目")
        + _n(rec.account, 7, r, "口座番号")
        + _c(rec.payee, 30, FieldClass.NAME, r, "受取人名")
        + _n(rec.amount, 10, r, "振込金額")
        + _in(rec.new_code, _NEW_CODES, r, "新規コード")
        + codes
        + _in(rec.designation, _TRANSFER_DESIGNATIONS, r, "振込指定区分")
        + flag
        + " " * 7
    )


# ---------------------------------------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------------------------------------


class _Errors:
    """Collects the problems of one file (at most MAX_ERRORS) and the warnings."""

    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.warnings: list[str] = []
        self.more_warnings = 0

    def add(self, line: int, column: str, reason: str, value: str = "") -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(line=line, column=column, reason=reason, value=value))

    def warn(self, line: int, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{line}レコード目: {message}")
        else:
            self.more_warnings += 1

    def warning_tuple(self) -> tuple[str, ...]:
        more = (f"ほか{self.more_warnings}件の警告",) if self.more_warnings else ()
        return (*self.warnings, *more)


@dataclass(frozen=True)
class _Spans:
    """The (start, end) byte offsets of the records of ``data`` (without separators), made as iterated.

    Offsets computed on the fly, not a list: a 500,000-record file is held once (as ``data``) however
    many times it is walked.
    """

    data: bytes
    end: int
    crlf: bool

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if not self.crlf:
            yield from ((s, s + RECORD_LENGTH) for s in range(0, self.end, RECORD_LENGTH))
            return
        pos = 0
        while pos < self.end:
            nl = self.data.find(b"\r\n", pos, self.end)
            stop = self.end if nl < 0 else nl
            yield pos, stop
            pos = stop + 2 if nl >= 0 else self.end


def _split_records(data: bytes, errors: _Errors) -> _Spans | None:
    """How ``data`` is cut into records (CR LF or a 120n-byte stream), or None if refused."""
    end = len(data)
    while end and data[end - 1] == 0x1A:  # DOS end-of-file marks (§1.0)
        end -= 1
    if data.find(b"\r\n", 0, end) >= 0:
        return _Spans(data, end, crlf=True)  # a lone CR or LF left inside a record: mixed (_walk_structure)
    if data.find(b"\n", 0, end) >= 0 or data.find(b"\r", 0, end) >= 0:
        errors.add(
            1,
            "",
            "改行が CR LF ではありません（CR のみ・LF のみは受け付けません）。CR LF にして取り込んでください。",
        )
        return None
    if end % RECORD_LENGTH:
        errors.add(
            end // RECORD_LENGTH + 1,
            "",
            f"改行のないファイルの長さ（{end}バイト）が120の倍数ではありません。レコード長を確認してください。",
        )
        return None
    return _Spans(data, end, crlf=False)


@dataclass(frozen=True)
class _Structure:
    """Where the header and the trailer are (the trailer's 0-based index, -1 when missing)."""

    spans: _Spans
    header: tuple[int, int]
    trailer: tuple[int, int]
    trailer_index: int


def _record(data: bytes, span: tuple[int, int], pad_short: bool) -> bytes:
    raw = data[span[0] : span[1]]
    if pad_short and len(raw) < RECORD_LENGTH:
        raw = raw.ljust(RECORD_LENGTH, b" ")
    return raw


_SINGLE_BYTE = bytes(range(0x20, 0x7F)) + bytes(range(0xA1, 0xE0))
_ALLOWED_BYTES = {cls: "".join(sorted(chars)).encode("cp932") for cls, chars in _ALLOWED.items()}
# A voicing mark not right after a kana that takes it (the one check the byte sets cannot make).
_MISPLACED_MARK = re.compile(rb"(?<![\xb3\xb6-\xc4\xca-\xce])\xde|(?<![\xca-\xce])\xdf")


def _c_problem(chunk: bytes, kind: FieldClass) -> str | None:
    """Why a C field's bytes are not in its class's repertoire; None when they are (fast path first)."""
    if not chunk.translate(None, _ALLOWED_BYTES[kind]) and not _MISPLACED_MARK.search(chunk):
        return None
    text, problem = _decode_c(chunk)
    if problem is None:
        found = _first_problem(text.rstrip(" "), kind)
        if found is not None:
            problem = f"{found[0] + 1}文字目「{text[found[0]]}」: {found[1]}"
    return problem


def _decode_c(raw: bytes) -> tuple[str, str | None]:
    """JIS X 0201 bytes → text, or the reason the bytes are not single-byte Zengin characters."""
    if not raw.translate(None, _SINGLE_BYTE):
        return raw.decode("cp932"), None
    chars = []
    for i, b in enumerate(raw):
        if 0x20 <= b <= 0x7E:
            chars.append(chr(b))
        elif 0xA1 <= b <= 0xDF:
            chars.append(chr(0xFF61 + b - 0xA1))
        elif 0x81 <= b <= 0x9F or 0xE0 <= b <= 0xFC:
            return (
                "",
                f"{i + 1}バイト目から全角文字（2バイト文字）が入っています。半角文字だけにしてください。",
            )
        else:
            return "", f"{i + 1}バイト目に使えないバイト 0x{b:02X} があります。"
    return "".join(chars), None


def _check_fields(raw: bytes, layout: _Layout, line: int, errors: _Errors) -> dict[str, str]:
    """Checks every N and C field of a 120-byte record; returns the decoded values by field name."""
    values: dict[str, str] = {}
    if len(raw) != RECORD_LENGTH:  # already refused for its length; its fields would all be shifted
        return {name: "" for name, *_ in layout}
    for name, start, length, kind in layout:
        chunk = raw[start - 1 : start - 1 + length]
        if kind == "N":
            text = chunk.decode("latin-1")
            if not (text.isascii() and text.isdigit()):
                if chunk.strip(b" ") == b"":
                    errors.add(line, name, "数字項目が空白です。", text)
                else:
                    errors.add(line, name, "数字項目に数字以外の文字があります。", _shown(chunk))
            values[name] = text
            continue
        problem = _c_problem(chunk, kind) if isinstance(kind, FieldClass) else _decode_c(chunk)[1]
        if problem is not None:
            errors.add(line, name, problem, _shown(chunk))
        values[name] = "" if problem else chunk.decode("cp932")
    return values


def _shown(chunk: bytes) -> str:
    return chunk.decode("cp932", errors="backslashreplace").rstrip(" ")


def _check_date(text: str, around: date, line: int, name: str, errors: _Errors) -> date | None:
    if not text.isdigit():
        return None  # already reported as an N field
    try:
        when = resolve_mmdd(text, around)
    except ValueError as e:
        errors.add(line, name, str(e), text)
        return None
    if not is_bank_business_day(when):
        errors.warn(line, f"{name} {when.isoformat()} は金融機関の営業日ではありません。")
    return when


def _check_kind(value: str, allowed: frozenset[str], line: int, name: str, errors: _Errors) -> None:
    if value.isdigit() and value not in allowed:
        errors.add(line, name, f"{'・'.join(sorted(allowed))}のいずれかでなければなりません。", value)


@dataclass
class _Walk:
    """What one pass over the records found: the header values, the trailer values, the tallies."""

    count: int = 0
    amount: int = 0
    paid_count: int = 0
    paid_amount: int = 0


def _walk_structure(
    data: bytes,
    errors: _Errors,
    kind: str,
    *,
    pad_short: bool,
) -> _Structure | None:
    """Separators, record lengths and the order 1 → 2… → 8 → 9 (one group)."""
    spans = _split_records(data, errors)
    if spans is None:
        return None
    if spans.end == 0:
        errors.add(1, "", "空のファイルです（ヘッダー・トレーラ・エンドレコードがありません）。")
        return None
    trailer_at = end_at = -1
    header = trailer = (0, 0)
    state = "start"
    line = 0
    for i, span in enumerate(spans):
        line = i + 1
        raw = data[span[0] : span[1]]
        if spans.crlf and (b"\r" in raw or b"\n" in raw):
            errors.add(
                line, "", "改行コードが混在しています（CR LF 以外の改行があります）。CR LF に揃えてください。"
            )
        if state == "end":
            if raw.strip(b" \x1a") != b"":
                errors.add(line, "データ区分", "エンドレコード（9）の後にデータがあります。", _shown(raw[:1]))
            continue
        if len(raw) != RECORD_LENGTH and not (pad_short and 0 < len(raw) < RECORD_LENGTH):
            hint = "（行末の空白が削除されている可能性があります）" if len(raw) < RECORD_LENGTH else ""
            errors.add(line, "", f"レコード長が{len(raw)}バイトです（120バイトでなければなりません）{hint}。")
        code = raw[:1]
        if state == "start":
            if code != b"1":
                errors.add(line, "データ区分", "最初のレコードがヘッダー（1）ではありません。", _shown(code))
                return None
            if raw[1:3] != kind.encode():
                errors.add(line, "種別コード", f"種別コードが{kind}ではありません。", _shown(raw[1:3]))
            if raw[3:4] == b"1":
                errors.add(
                    line,
                    "コード区分",
                    "EBCDIC（コード区分1）のファイルは読めません。JIS（0）で受け取ってください。",
                    "1",
                )
            elif raw[3:4] != b"0":
                errors.add(line, "コード区分", "コード区分が0（JIS）ではありません。", _shown(raw[3:4]))
            header = span
            state = "data"
        elif code == b"2":
            if state != "data":
                errors.add(line, "データ区分", "トレーラ（8）の後にデータレコード（2）があります。", "2")
        elif code == b"8":
            if state == "trailer":
                errors.add(
                    line,
                    "データ区分",
                    "トレーラ（8）が2つあります（マルチファイルには対応していません）。",
                    "8",
                )
            trailer_at, trailer = i, span
            state = "trailer"
        elif code == b"9":
            if state != "trailer":
                errors.add(
                    line, "データ区分", "トレーラ（8）がないままエンドレコード（9）になっています。", "9"
                )
            end_at = i
            state = "end"
        elif code == b"1":
            errors.add(
                line,
                "データ区分",
                "2つ目のヘッダー（1）があります（マルチファイルには対応していません）。",
                "1",
            )
        else:
            errors.add(line, "データ区分", "データ区分が1・2・8・9のいずれでもありません。", _shown(code))
    if trailer_at < 0:
        errors.add(line, "データ区分", "トレーラレコード（8）がありません。")
    if end_at < 0:
        errors.add(line, "データ区分", "エンドレコード（9）がありません。")
    return _Structure(spans, header, trailer, trailer_at)


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _check_bank(values: dict[str, str], bank: str, branch: str, line: int, errors: _Errors) -> None:
    if values[bank].isdigit() and values[branch].isdigit():
        for message in check_bank_branch(values[bank], values[branch]):
            errors.warn(line, message)


def _refuse_or_none(errors: _Errors) -> None:
    if errors.errors:
        raise FileRefused(errors.errors)


def _data_lines(data: bytes, structure: _Structure, pad_short: bool) -> Iterator[tuple[int, bytes]]:
    """(record number, bytes) of the data records between the header and the trailer."""
    for i, span in enumerate(structure.spans):
        if i == structure.trailer_index:
            return
        if i and data[span[0] : span[0] + 1] == b"2":
            yield i + 1, _record(data, span, pad_short)


def read_debit_file(
    data: bytes,
    *,
    around: date,
    kind: Literal["request", "result"] | None = None,
    pad_short_records: bool = False,
) -> tuple[DebitFile, Iterator[DebitRecord]]:
    """Check a 口座振替 file (種別 91) whole, then return its header/trailer and its data records.

    ``around``: the processing date the MMDD 引落日 is resolved against. ``kind``: ``"result"`` demands
    a 振替結果データ (result totals filled), ``"request"`` a 依頼データ (codes and result totals zero);
    None decides from the trailer (all four result figures zero = a request). ``pad_short_records``:
    accept CR LF lines whose trailing spaces a text tool stripped (off by default: such a record is
    refused as not 120 bytes, §1.3). Raises :class:`FileRefused` listing every problem.
    """
    errors = _Errors()
    walked = _walk_structure(data, errors, "91", pad_short=pad_short_records)
    if walked is None:
        raise FileRefused(errors.errors)
    head = _check_fields(_record(data, walked.header, pad_short_records), _HEADER, 1, errors)
    debit_date = _check_date(head["引落日"], around, 1, "引落日", errors)
    _check_kind(head["預金種目（委託者）"], _HEADER_DEPOSIT, 1, "預金種目（委託者）", errors)
    walk = _Walk()
    result_codes: list[tuple[int, str]] = []  # only the non-zero ones, for a request's check
    for line, raw in _data_lines(data, walked, pad_short_records):
        v = _check_fields(raw, _DEBIT_DATA, line, errors)
        _check_kind(v["預金種目"], _DEBIT_DEPOSIT, line, "預金種目", errors)
        _check_kind(v["新規コード"], _NEW_CODES, line, "新規コード", errors)
        code = v["振替結果コード"]
        if code.isdigit() and code not in RESULT_CODES_91:
            errors.add(
                line, "振替結果コード", "振替結果コードが0・1・2・3・4・8・9のいずれでもありません。", code
            )
        _check_bank(v, "引落銀行番号", "引落支店番号", line, errors)
        amount = _int(v["引落金額"])
        if v["引落金額"].isdigit() and amount == 0:
            errors.warn(line, "引落金額が0円です。")
        walk.count += 1
        walk.amount += amount
        if code == "0":
            walk.paid_count += 1
            walk.paid_amount += amount
        elif len(result_codes) < MAX_ERRORS:
            result_codes.append((line, code))
    checked = _check_debit_trailer(data, walked, walk, result_codes, kind, errors, pad_short_records)
    _refuse_or_none(errors)
    assert debit_date is not None and checked is not None
    totals, is_request = checked
    header = DebitHeader(
        originator_code=head["委託者コード"],
        originator_name=head["委託者名"].rstrip(" "),
        debit_date=debit_date,
        bank_code=head["取引銀行番号"],
        branch_code=head["取引支店番号"],
        deposit_type=head["預金種目（委託者）"],
        account=head["口座番号（委託者）"],
        bank_name=head["取引銀行名"].rstrip(" "),
        branch_name=head["取引支店名"].rstrip(" "),
    )
    file = DebitFile(header, totals, walk.count, is_result=not is_request, warnings=errors.warning_tuple())
    return file, _debit_records(data, walked, pad_short_records)


def _check_debit_trailer(
    data: bytes,
    structure: _Structure,
    walk: _Walk,
    nonzero_codes: list[tuple[int, str]],
    kind: str | None,
    errors: _Errors,
    pad_short: bool,
) -> tuple[Totals, bool] | None:
    """The trailer's totals, checked against the records, and whether the file is a request."""
    if structure.trailer_index < 0:
        return None
    line = structure.trailer_index + 1
    t = _check_fields(_record(data, structure.trailer, pad_short), _DEBIT_TRAILER, line, errors)
    totals = Totals(*(_int(t[n]) for n, *_ in _DEBIT_TRAILER[1:7]))
    _check_totals(totals, walk, line, errors)
    results_zero = totals.paid_count == totals.paid_amount == totals.failed_count == totals.failed_amount == 0
    is_request = kind == "request" or (kind is None and results_zero)
    if is_request:
        if not results_zero:
            errors.add(line, "振替済件数", "依頼データのトレーラの振替結果（件数・金額）が0ではありません。")
        for code_line, code in nonzero_codes:
            errors.add(code_line, "振替結果コード", "依頼データの振替結果コードが0ではありません。", code)
        return totals, True
    checks = (
        (
            "振替済件数",
            totals.paid_count + totals.failed_count,
            totals.count,
            "振替済件数＋振替不能件数が合計件数と合いません",
        ),
        (
            "振替済金額",
            totals.paid_amount + totals.failed_amount,
            totals.amount,
            "振替済金額＋振替不能金額が合計金額と合いません",
        ),
        (
            "振替済件数",
            totals.paid_count,
            walk.paid_count,
            "振替済件数が振替結果コード0のレコード数と合いません",
        ),
        (
            "振替済金額",
            totals.paid_amount,
            walk.paid_amount,
            "振替済金額が振替結果コード0の金額の合計と合いません",
        ),
        (
            "振替不能件数",
            totals.failed_count,
            walk.count - walk.paid_count,
            "振替不能件数が振替結果コード0以外のレコード数と合いません",
        ),
        (
            "振替不能金額",
            totals.failed_amount,
            walk.amount - walk.paid_amount,
            "振替不能金額が振替結果コード0以外の金額の合計と合いません",
        ),
    )
    for name, stated, actual, reason in checks:
        if stated != actual:
            errors.add(
                line, name, f"{reason}（トレーラ {stated:,}、データから計算 {actual:,}）。", str(stated)
            )
    return totals, False


def _check_totals(totals: Totals, walk: _Walk, line: int, errors: _Errors) -> None:
    if totals.count != walk.count:
        errors.add(
            line,
            "合計件数",
            f"合計件数 {totals.count:,} がデータレコードの件数 {walk.count:,} と合いません。",
            str(totals.count),
        )
    if totals.amount != walk.amount:
        errors.add(
            line,
            "合計金額",
            f"合計金額 {totals.amount:,} 円が金額の合計 {walk.amount:,} 円と合いません。",
            str(totals.amount),
        )


def _debit_records(data: bytes, structure: _Structure, pad_short: bool) -> Iterator[DebitRecord]:
    for _, raw in _data_lines(data, structure, pad_short):
        text = raw.decode("cp932")
        yield DebitRecord(
            bank_code=text[1:5],
            branch_code=text[20:23],
            deposit_type=text[42],
            account=text[43:50],
            holder=text[50:80].rstrip(" "),
            amount=int(text[80:90]),
            new_code=text[90],
            customer_no=text[91:111],
            result_code=text[111],
            bank_name=text[5:20].rstrip(" "),
            branch_name=text[23:38].rstrip(" "),
        )


def read_transfer_file(
    data: bytes, *, around: date, pad_short_records: bool = False
) -> tuple[TransferFile, Iterator[TransferRecord]]:
    """Check a 総合振込 file (種別 21) whole, then return its header/trailer and its data records.

    Same rules as :func:`read_debit_file`; a 振込金額 of 0 is refused (§1.3).
    """
    errors = _Errors()
    walked = _walk_structure(data, errors, "21", pad_short=pad_short_records)
    if walked is None:
        raise FileRefused(errors.errors)
    head = _check_fields(_record(data, walked.header, pad_short_records), _TRANSFER_HEADER, 1, errors)
    when = _check_date(head["振込指定日"], around, 1, "振込指定日", errors)
    _check_kind(head["預金種目（依頼人）"], _HEADER_DEPOSIT, 1, "預金種目（依頼人）", errors)
    walk = _Walk()
    for line, raw in _data_lines(data, walked, pad_short_records):
        v = _check_fields(raw, _TRANSFER_DATA, line, errors)
        _check_transfer_tail(raw, v, line, errors)
        _check_bank(v, "被仕向銀行番号", "被仕向支店番号", line, errors)
        amount = _int(v["振込金額"])
        if v["振込金額"].isdigit() and amount == 0:
            errors.add(line, "振込金額", "振込金額が0円です。", v["振込金額"])
        walk.count += 1
        walk.amount += amount
    totals = None
    if (trailer_at := walked.trailer_index) >= 0:
        t = _check_fields(
            _record(data, walked.trailer, pad_short_records), _TRANSFER_TRAILER, trailer_at + 1, errors
        )
        totals = Totals(_int(t["合計件数"]), _int(t["合計金額"]))
        _check_totals(totals, walk, trailer_at + 1, errors)
    _refuse_or_none(errors)
    assert when is not None and totals is not None
    header = TransferHeader(
        originator_code=head["振込依頼人コード"],
        originator_name=head["振込依頼人名"].rstrip(" "),
        transfer_date=when,
        bank_code=head["仕向銀行番号"],
        branch_code=head["仕向支店番号"],
        deposit_type=head["預金種目（依頼人）"],
        account=head["口座番号（依頼人）"],
        bank_name=head["仕向銀行名"].rstrip(" "),
        branch_name=head["仕向支店名"].rstrip(" "),
    )
    file = TransferFile(header, totals, walk.count, warnings=errors.warning_tuple())
    return file, _transfer_records(data, walked, pad_short_records)


def _check_transfer_tail(raw: bytes, v: dict[str, str], line: int, errors: _Errors) -> None:
    clearing = raw[38:42]
    if clearing.strip(b" ") and not clearing.isdigit():
        errors.add(line, "手形交換所番号", "手形交換所番号が数字でも空白でもありません。", _shown(clearing))
    _check_kind(v["預金種目"], _TRANSFER_DEPOSIT, line, "預金種目", errors)
    _check_kind(v["新規コード"], _NEW_CODES, line, "新規コード", errors)
    if v["振込指定区分"] not in _TRANSFER_DESIGNATIONS:
        errors.add(
            line, "振込指定区分", "振込指定区分が7・8・0・空白のいずれでもありません。", v["振込指定区分"]
        )
    flag = v["識別表示"]
    if flag == "Y":
        edi = v["顧客コード1"] + v["顧客コード2"]
        found = _first_problem(edi.rstrip(" "), FieldClass.EDI)
        if found is not None:
            errors.add(
                line, "EDI情報", f"{found[0] + 1}文字目「{edi[found[0]]}」: {found[1]}", edi.rstrip(" ")
            )
    elif flag == " ":
        for name in ("顧客コード1", "顧客コード2"):
            value = v[name]
            if value.strip(" ") and not (value.isascii() and value.isdigit()):
                errors.add(line, name, "顧客コードが数字でも空白でもありません。", value.rstrip(" "))
    else:
        errors.add(line, "識別表示", "識別表示がYでも空白でもありません。", flag)


def _transfer_records(data: bytes, structure: _Structure, pad_short: bool) -> Iterator[TransferRecord]:
    for _, raw in _data_lines(data, structure, pad_short):
        text = raw.decode("cp932")
        edi = text[112] == "Y"
        yield TransferRecord(
            bank_code=text[1:5],
            branch_code=text[20:23],
            deposit_type=text[42],
            account=text[43:50],
            payee=text[50:80].rstrip(" "),
            amount=int(text[80:90]),
            customer_code_1="" if edi else text[91:101].strip(" "),
            customer_code_2="" if edi else text[101:111].strip(" "),
            edi=text[91:111].rstrip(" ") if edi else "",
            bank_name=text[5:20].rstrip(" "),
            branch_name=text[23:38].rstrip(" "),
            new_code=text[90],
            designation=text[111],
        )
