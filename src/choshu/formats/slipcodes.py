"""What is printed on a 納付書: the コンビニ barcode, the eL番号 and the lower OCR line (interchange.md §3).

All three carry the same 16-digit 納付番号 (slip number), so a payment arriving through any channel —
a convenience store, a bank counter, eLTAX / Pay-easy — finds its slip again:

* **GS1-128 barcode** (料金代理収納用, AI 91, 44 digits; formats-reference §2.1)::

      91 | company code (6) | client code (5) | slip_no (16) | 再発行区分 (1) | 支払期限 YYMMDD or 999999 (6)
         | 印紙フラグ 0 (1) | amount (6) | GS1 mod-10 check digit (1)

  Digits 9–29 are the guideline's 21-digit free area: the city's 5-digit client code, then the slip number.
  The amount field has six digits, so a slip for more than 999,999 yen carries **no barcode** (it is
  printed 「コンビニでは取扱不可」); nor does a slip of a city with no collection agent configured
  (company or client code empty). ``SlipCodes.barcode`` is then ``""``.
* **eL番号** (formats-reference §3): 収納機関番号 (5) + 納付番号 (16) + 確認番号 (4) + 納付区分 (3: ``0`` +
  tax item) — 28 digits; ``""`` when the city has no 収納機関番号 configured.
* **Lower OCR line** (下段, formats-reference §5): 2 check digits + 42-digit body::

      予算区分 0 | 科目ID 0000 + tax item | 収納区分 8 0 | 納付番号 00 + slip_no | 確認番号 (4) | 11 zeros

Builders raise ``ValueError`` in English (a programmer passed a bad value). Parsers raise ``ValueError``
whose message is a Japanese reason a clerk can act on, ready for a ``RowError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from choshu.formats.levies_csv import TAX_ITEMS
from choshu.rules.check_digits import (
    gs1_mod10_check_digit,
    is_valid_slip_no,
    ocr_check_digits,
)

__all__ = [
    "BARCODE_MAX_AMOUNT",
    "BarcodeFields",
    "OcrFields",
    "SlipCodes",
    "ocr_upper",
    "parse_barcode",
    "parse_ocr_lower",
    "slip_codes",
    "strip_ean",
]

BARCODE_MAX_AMOUNT = 999_999
"""The barcode's amount field has 6 digits; slips above this carry no barcode."""

_NO_DEADLINE = "999999"
_OCR_ZEROS = "0" * 11


@dataclass(frozen=True)
class SlipCodes:
    """The machine-readable codes printed on one 納付書. Empty strings mean "not printed"."""

    barcode: str
    el_number: str
    ocr_lower: str


@dataclass(frozen=True)
class BarcodeFields:
    """The fields of a 44-digit 料金代理収納 barcode as this system lays it out."""

    company_code: str
    client_code: str
    slip_no: str
    reissue: int
    pay_by: date | None
    stamp_flag: str
    amount: int
    check_digit: int


@dataclass(frozen=True)
class OcrFields:
    """What the lower OCR line of one of our 納付書 identifies."""

    tax_item: str
    slip_no: str
    confirmation_no: str


def _is_digits(s: str, length: int) -> bool:
    return len(s) == length and s.isascii() and s.isdigit()


def _check_code(value: str, length: int, what: str, *, optional: bool) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a str, got {type(value).__name__}")
    if optional and value == "":
        return
    if not _is_digits(value, length):
        raise ValueError(f"{what} must be {length} ASCII digits, got {value!r}")


def _check_slip_inputs(
    slip_no: str, confirmation_no: str, amount: int, pay_by: date | None, tax_item: str, reissue: int
) -> None:
    if not isinstance(slip_no, str) or not is_valid_slip_no(slip_no):
        raise ValueError(f"slip_no must be 16 digits with a valid check digit, got {slip_no!r}")
    _check_code(confirmation_no, 4, "confirmation_no", optional=False)
    if type(amount) is not int:
        raise ValueError(f"amount must be an int (yen), got {type(amount).__name__}")
    if amount < 1:
        raise ValueError(f"amount must be at least 1 yen, got {amount}")
    if tax_item not in TAX_ITEMS:
        raise ValueError(f"tax_item must be one of {', '.join(TAX_ITEMS)}, got {tax_item!r}")
    if type(reissue) is not int or not 0 <= reissue <= 9:
        raise ValueError(f"reissue must be an int from 0 to 9, got {reissue!r}")
    if pay_by is not None:
        if isinstance(pay_by, datetime) or not isinstance(pay_by, date):
            raise ValueError(f"pay_by must be a date or None, got {type(pay_by).__name__}")
        if not 2000 <= pay_by.year <= 2099:
            raise ValueError(f"pay_by must fall in 2000–2099 (the barcode holds YYMMDD), got {pay_by}")


def slip_codes(
    *,
    slip_no: str,
    confirmation_no: str,
    amount: int,
    pay_by: date | None,
    tax_item: str,
    company_code: str,
    client_code: str,
    agency_no: str,
    reissue: int = 0,
) -> SlipCodes:
    """The barcode, eL番号 and lower OCR line for one slip (interchange.md §3).

    ``pay_by`` is the last day a store may accept the slip (``None`` = no deadline, ``999999``).
    ``company_code``/``client_code``/``agency_no`` are the municipality settings; ``""`` means not
    configured, and the corresponding code is then ``""``.
    """
    _check_slip_inputs(slip_no, confirmation_no, amount, pay_by, tax_item, reissue)
    _check_code(company_code, 6, "company_code", optional=True)
    _check_code(client_code, 5, "client_code", optional=True)
    _check_code(agency_no, 5, "agency_no", optional=True)
    barcode = ""
    if company_code and client_code and amount <= BARCODE_MAX_AMOUNT:
        deadline = pay_by.strftime("%y%m%d") if pay_by is not None else _NO_DEADLINE
        body = f"91{company_code}{client_code}{slip_no}{reissue}{deadline}0{amount:06d}"
        barcode = body + str(gs1_mod10_check_digit(body))
    el_number = f"{agency_no}{slip_no}{confirmation_no}0{tax_item}" if agency_no else ""
    ocr_body = f"00000{tax_item}8000{slip_no}{confirmation_no}{_OCR_ZEROS}"
    return SlipCodes(barcode, el_number, ocr_check_digits(ocr_body) + ocr_body)


def _era_year(fiscal_year: int) -> int:
    """The 2-digit 和暦 year of a 年度 (令和 from 2019, 平成 before): 2026 → 8, 2018 → 30."""
    return fiscal_year - 2018 if fiscal_year >= 2019 else fiscal_year - 1988


def ocr_upper(*, amount: int, municipality_code: str, tax_item: str, levy_year: int) -> str:
    """The upper OCR line (上段, formats-reference §5, the Kyoto 標準帳票 layout): 2 check digits + body::

        口座番号 (11 zeros: no ゆうちょ account) | 金額 (11) | 払込料金負担区分 2 | 機関ID (5: the
        municipality code without its check digit) | 印紙税区分 0 | 納付区分 (3: 0 + tax item)
        | 調定年度 (2, 和暦) | 収支 0 | 会計 00

    ``levy_year`` is the 年度 (a combined slip of several years gives its oldest).
    """
    if type(amount) is not int or not 1 <= amount <= 99_999_999_999:
        raise ValueError(f"amount must be an int from 1 to 99,999,999,999 yen, got {amount!r}")
    _check_code(municipality_code, 6, "municipality_code", optional=False)
    if tax_item not in TAX_ITEMS:
        raise ValueError(f"tax_item must be one of {', '.join(TAX_ITEMS)}, got {tax_item!r}")
    if type(levy_year) is not int or not 1989 <= levy_year <= 2117:
        raise ValueError(f"levy_year must be an int from 1989 to 2117, got {levy_year!r}")
    body = f"{'0' * 11}{amount:011d}2{municipality_code[:5]}00{tax_item}{_era_year(levy_year) % 100:02d}000"
    return ocr_check_digits(body) + body


def strip_ean(s: str) -> str:
    """The barcode digits without the ``EAN`` prefix that 収納代行 files put in front."""
    return s[3:] if s.startswith("EAN") else s


@lru_cache(maxsize=4096)
def _deadline(yymmdd: str) -> date | None:
    """支払期限: ``999999`` = none, else YYMMDD in 2000–2099 (cached: a file holds few distinct dates)."""
    if yymmdd == _NO_DEADLINE:
        return None
    try:
        return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        raise ValueError(
            f"バーコードの支払期限 {yymmdd} が日付（YYMMDD）でも 999999 でもありません"
        ) from None


def parse_barcode(s: str) -> BarcodeFields:
    """Split a 44-digit barcode (``EAN`` prefix allowed) into its fields, checking every rule.

    Raises ``ValueError`` with a Japanese reason: wrong length or non-digits, AI not ``91``, GS1 check
    digit mismatch, 支払期限 neither a real YYMMDD date nor ``999999``, 印紙フラグ not 0/1, or a slip
    number whose own check digit is wrong. Whether the company/client code is this city's, and whether
    the 印紙フラグ is ``0``, is for the caller, which knows the settings.
    """
    digits = strip_ean(s)
    if not digits:
        raise ValueError("バーコードが空です")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("バーコードに数字以外の文字があります（EAN の後に半角数字44桁）")
    if len(digits) != 44:
        raise ValueError(f"バーコードの桁数が{len(digits)}桁です（44桁必要です）")
    if not digits.startswith("91"):
        raise ValueError(
            "バーコードの先頭（AI）が 91 ではありません（料金代理収納のバーコードではありません）"
        )
    expected = gs1_mod10_check_digit(digits[:43])
    if expected != ord(digits[43]) - 48:
        raise ValueError(
            f"バーコードのチェックデジットが一致しません（末尾 {digits[43]}、計算上は {expected}）。読取りまたは転記の誤りです"
        )
    pay_by = _deadline(digits[30:36])
    stamp_flag = digits[36]
    if stamp_flag not in "01":
        raise ValueError(f"バーコードの印紙フラグが {stamp_flag} です（0 か 1 です）")
    slip_no = digits[13:29]
    if not is_valid_slip_no(slip_no):
        raise ValueError(f"バーコード中の納付番号 {slip_no} のチェックデジットが一致しません")
    return BarcodeFields(
        company_code=digits[2:8],
        client_code=digits[8:13],
        slip_no=slip_no,
        reissue=ord(digits[29]) - 48,
        pay_by=pay_by,
        stamp_flag=stamp_flag,
        amount=int(digits[37:43]),
        check_digit=expected,
    )


def parse_ocr_lower(s: str) -> OcrFields:
    """Read the lower OCR line of one of our 納付書: check digits first, then the fixed parts.

    Raises ``ValueError`` with a Japanese reason (wrong length, non-digits, check digits, 予算区分,
    科目ID, 収納区分, 納付番号 and its check digit, 自由使用領域).
    """
    if not s:
        raise ValueError("OCR 下段が空です")
    if not (s.isascii() and s.isdigit()):
        raise ValueError("OCR 下段に数字以外の文字があります（半角数字44桁）")
    if len(s) != 44:
        raise ValueError(f"OCR 下段の桁数が{len(s)}桁です（44桁必要です）")
    body = s[2:]
    expected = ocr_check_digits(body)
    if s[:2] != expected:
        raise ValueError(
            f"OCR 下段のチェックデジットが一致しません（先頭 {s[:2]}、計算上は {expected}）。読取りまたは転記の誤りです"
        )
    if body[0] != "0":
        raise ValueError(f"OCR 下段の予算区分が {body[0]} です（この団体の納付書は 0）")
    tax_item = body[5:7]
    if body[1:5] != "0000" or tax_item not in TAX_ITEMS:
        raise ValueError(
            f"OCR 下段の科目ID {body[1:7]} が 0000＋税目コード（{'・'.join(TAX_ITEMS)}）ではありません"
        )
    if body[7:9] != "80":
        raise ValueError(f"OCR 下段の収納区分が {body[7:9]} です（標準帳票の納付書は 80）")
    if body[9:11] != "00":
        raise ValueError(f"OCR 下段の納付番号欄 {body[9:27]} が 00＋16桁の納付番号ではありません")
    slip_no = body[11:27]
    if not is_valid_slip_no(slip_no):
        raise ValueError(f"OCR 下段の納付番号 {slip_no} のチェックデジットが一致しません")
    if body[31:] != _OCR_ZEROS:
        raise ValueError(f"OCR 下段の自由使用領域 {body[31:]} が 0 ではありません")
    return OcrFields(tax_item=tax_item, slip_no=slip_no, confirmation_no=body[27:31])
