"""Check digits for the numbers the collection system reads and prints.

* 個人番号 (My Number): 12 digits, last digit = check digit (総務省令 平成26年第85号 第5条);
  law.md §h1, source https://mynumber.okinawa-spot.com/core/archives/227 . Delegates to
  ``stdnum.jp.in_``.
* 法人番号 (corporate number): 13 digits, FIRST digit = check digit (財務省令 平成26年第70号 第2条);
  law.md §h2, source https://qiita.com/kawasaki/items/bfa9f0edc32c132eff30 . Delegates to
  ``stdnum.jp.cn``.
* 全国地方公共団体コード: 5 digits + check digit, weights 6,5,4,3,2, CD = (11 − S mod 11) mod 10
  (formats-reference §5; e.g. 川口市 112038).
* GS1 modulus 10 (weights 3,1,3,1… from the right): コンビニ収納 GS1-128 barcode
  (formats-reference §2.1, GS1 Japan 標準料金代理収納ガイドライン).
* 納付番号 (slip number): 15 digits + GS1 mod-10 check digit (interchange.md "Payment slip number").
* 納付書 OCR lines: two leading check digits (mod 11, mod 10) over the body (formats-reference §5,
  ALP KNJTE054 / dsk-cvs).

The eL番号 確認番号 is not computable: formats-reference §3 says the eL番号 is 収納機関番号 +
納付番号 + 確認番号 + 納付区分, but the way the 確認番号 is derived is not public (it is issued
per slip), so no function is offered for it.
"""

from __future__ import annotations

from itertools import cycle, islice
from operator import mul

from stdnum.exceptions import ValidationError
from stdnum.jp import cn as _corporate

__all__ = [
    "gs1_mod10_check_digit",
    "gs1_weights",
    "is_valid_corporate_number",
    "is_valid_gs1_barcode",
    "is_valid_municipality_code",
    "is_valid_my_number",
    "is_valid_ocr_lower",
    "is_valid_ocr_upper",
    "is_valid_slip_no",
    "make_slip_no",
    "municipality_code_check_digit",
    "ocr_check_digits",
    "ocr_weights",
    "slip_no_check_digit",
]


def _require_digits(s: str, length: int | None, what: str) -> None:
    if not (s.isascii() and s.isdigit()):
        raise ValueError(f"{what} must consist of ASCII digits only: {s!r}")
    if length is not None and len(s) != length:
        raise ValueError(f"{what} must have {length} digits, got {len(s)}: {s!r}")


def _is_digits(s: str, length: int) -> bool:
    return len(s) == length and s.isascii() and s.isdigit()


_MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
"""Q_n of 総務省令第85号5条 for the 11 digits left to right (n counts from the right: n + 1 for
n ≤ 6, n − 5 for n ≥ 7)."""


def my_number_check_digit(body11: str) -> int:
    """The check digit of a 個人番号's first 11 digits: 11 − (Σ P_n × Q_n mod 11), 0 if that
    remainder is 0 or 1 (総務省令第85号5条). Computed here rather than by ``stdnum`` (which gives the
    same digit, tested) because the taxpayer import checks a city's worth of numbers."""
    remainder = sum(map(mul, map(int, body11), _MY_NUMBER_WEIGHTS)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(s: str) -> bool:
    """Whether ``s`` is a 12-digit 個人番号 with a correct check digit (総務省令第85号5条)."""
    if not _is_digits(s, 12):
        return False
    return my_number_check_digit(s[:11]) == int(s[11])


def is_valid_corporate_number(s: str) -> bool:
    """Whether ``s`` is a 13-digit 法人番号 with a correct leading check digit (財務省令第70号2条)."""
    if not _is_digits(s, 13):
        return False
    try:
        _corporate.validate(s)
    except ValidationError:
        return False
    return True


def municipality_code_check_digit(first5: str) -> int:
    """Check digit of a 全国地方公共団体コード: weights 6,5,4,3,2; (11 − S mod 11) mod 10.

    ``municipality_code_check_digit("11203") == 8`` (川口市 112038). formats-reference §5.
    """
    _require_digits(first5, 5, "municipality code body")
    total = sum(int(d) * w for d, w in zip(first5, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def is_valid_municipality_code(s: str) -> bool:
    """Whether ``s`` is a 6-digit 全国地方公共団体コード with a correct check digit.

    Only the check digit is verified; whether the code is currently assigned is a lookup
    (e.g. against the 総務省 list), not a rule.
    """
    if not _is_digits(s, 6):
        return False
    return municipality_code_check_digit(s[:5]) == int(s[5])


def gs1_mod10_check_digit(body: str) -> int:
    """GS1 modulus-10 check digit: weights 3,1,3,1… from the rightmost body digit.

    formats-reference §2.1 (verified vectors: ``91912345…123000`` → 3).
    """
    _require_digits(body, None, "GS1 body")
    if not body:
        raise ValueError("GS1 body must not be empty")
    rev = body.encode("ascii")[::-1]
    tripled, single = rev[0::2], rev[1::2]  # weight 3 from the rightmost digit, then 1, 3, 1…
    total = 3 * (sum(tripled) - 48 * len(tripled)) + sum(single) - 48 * len(single)
    return (10 - total % 10) % 10


def gs1_weights(n: int) -> tuple[int, ...]:
    """The per-position weights of ``gs1_mod10_check_digit`` for an ``n``-digit body, left to right
    (3 on the rightmost digit, then 1, 3, 1…): the check digit is ``(10 − Σ wᵢ·dᵢ mod 10) mod 10``."""
    return tuple(3 if (n - 1 - i) % 2 == 0 else 1 for i in range(n))


def is_valid_gs1_barcode(s: str) -> bool:
    """Whether ``s`` is a 44-digit 料金代理収納用 GS1-128 payload (AI 91) with a correct check digit."""
    if not _is_digits(s, 44) or not s.startswith("91"):
        return False
    return gs1_mod10_check_digit(s[:43]) == int(s[43])


def slip_no_check_digit(body15: str) -> int:
    """Check digit of a 納付番号: 15 digits, modulus 10 with weights 3,1 from the right (interchange.md)."""
    _require_digits(body15, 15, "slip number body")
    return gs1_mod10_check_digit(body15)


def make_slip_no(body15: str) -> str:
    """The 16-digit slip number for a 15-digit body (body + check digit)."""
    return body15 + str(slip_no_check_digit(body15))


def is_valid_slip_no(s: str) -> bool:
    """Whether ``s`` is a 16-digit slip number whose last digit is its check digit."""
    if not _is_digits(s, 16):
        return False
    return slip_no_check_digit(s[:15]) == int(s[15])


def _ocr_weights(n: int) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """Per-position weights of the two OCR sums (odd positions 9..2 / 1; even 1 / 3..9,2), and 48×Σw."""
    w10, w11 = [1] * n, [1] * n
    w10[0::2] = islice(cycle(range(9, 1, -1)), len(w10[0::2]))
    w11[1::2] = islice(cycle((3, 4, 5, 6, 7, 8, 9, 2)), len(w11[1::2]))
    return tuple(w10), tuple(w11), 48 * sum(w10), 48 * sum(w11)


_OCR_WEIGHTS = {n: _ocr_weights(n) for n in (37, 42)}


def ocr_weights(n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The per-position weights ``(w10, w11)`` of ``ocr_check_digits`` for an ``n``-digit body:
    ``CD2 = Σ w10ᵢ·dᵢ mod 10`` and ``CD1 = (Σ w11ᵢ·dᵢ + 2·CD2) mod 11`` (10 → 0)."""
    w10, w11, _, _ = _OCR_WEIGHTS.get(n) or _ocr_weights(n)
    return w10, w11


def ocr_check_digits(body42: str) -> str:
    """The two leading check digits ``CD1 CD2`` of a 納付書 OCR line body (formats-reference §5).

    CD2 (mod 10): odd positions weighted 9,8,…,2 cycling, even positions unweighted.
    CD1 (mod 11): odd positions unweighted, even positions weighted 3,4,…,9,2 cycling, plus 2×CD2;
    10 → 0. Works for the 42-digit lower body and the 37-digit upper body.
    """
    _require_digits(body42, None, "OCR body")
    if len(body42) not in (37, 42):
        raise ValueError(f"OCR body must have 42 (lower line) or 37 (upper line) digits, got {len(body42)}")
    w10, w11, off10, off11 = _OCR_WEIGHTS[len(body42)]
    digits = body42.encode("ascii")
    cd2 = (sum(map(mul, digits, w10)) - off10) % 10
    cd1 = (sum(map(mul, digits, w11)) - off11 + 2 * cd2) % 11
    return f"{0 if cd1 == 10 else cd1}{cd2}"


def is_valid_ocr_lower(s: str) -> bool:
    """Whether ``s`` is a 44-digit lower OCR line (2 check digits + 42-digit body) that checks."""
    if not _is_digits(s, 44):
        return False
    return ocr_check_digits(s[2:]) == s[:2]


def is_valid_ocr_upper(s: str) -> bool:
    """Whether ``s`` is a 39-digit upper OCR line (2 check digits + 37-digit body) that checks."""
    if not _is_digits(s, 39):
        return False
    return ocr_check_digits(s[2:]) == s[:2]
