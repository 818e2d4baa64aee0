"""内訳按分 — how what an installment has been paid is split over its breakdown (docs/rules.md "Breakdown").

An installment of a tax item with a breakdown (固定資産税/都市計画税, 均等割/法人税割, 国保 医療/支援/介護)
has one levied amount per component, ``L_i`` (main component first), ``L = Σ L_i``. The paid total
``C`` (the installment's ``principal_paid``) is split as

    f_i(C) = floor(C × L_i / L)      for every component i ≥ 2,
    f_1(C) = C − Σ_{i≥2} f_i(C)      the main component takes what the rounding leaves,

and with ``L = 0`` nothing is split proportionally (every ``f_i`` for i ≥ 2 is 0: the main component
holds ``C``, which is 0 when nothing was ever paid). The split of one movement that brings the paid total
to ``C1`` is ``f(C1) − paid`` (``paid`` = what each component has been credited so far): the splits
telescope, so the components' paid amounts are always ``f(C)`` of the current levied amounts, a
payment in full clears every component, a reversal gives back exactly, and a levy correction that
changes ``L_i`` is absorbed by the next movement.

Municipal practice: 美唄市「固定資産税及び都市計画税の処理に関する規則」第2条〜第4条 — what is received
is divided between the two taxes in the ratio of their levied amounts
(https://lg.joureikun.jp/bibai_city/reiki/act/110000233.html).

Pure functions over ``int`` yen (Python integers do not overflow). ``floor_mul_div_split`` is the
arithmetic the SQLite statement of ``levies.ledger`` uses (64-bit integers only); it is proved equal
to the exact floor here, for the range ``SQLITE_EXACT_LIMIT`` documents.
"""

from __future__ import annotations

from collections.abc import Sequence

SPLIT_BASE = 1 << 20
"""The base of the decomposition ``floor_mul_div_split`` uses (see there)."""

SQLITE_EXACT_LIMIT = 3_000_000_000_000
"""The levied total of one installment (3 兆円) up to which the 64-bit decomposition is exact: every
intermediate product stays below 2^63 (r × (L_i >> 20) < L² / 2^20 and 2 × L × 2^20 < 2^63)."""


def _check(levied: Sequence[int]) -> None:
    if not levied:
        raise ValueError("内訳がありません")
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in levied):
        raise ValueError("内訳の調定額は0以上の整数(円)でなければなりません")


def split_paid(paid_total: int, levied: Sequence[int]) -> list[int]:
    """``f(C)``: the paid total ``C`` split over the components (main component first)."""
    _check(levied)
    total = sum(levied)
    if total == 0:
        return [paid_total] + [0] * (len(levied) - 1)
    others = [paid_total * share // total for share in levied[1:]]  # // is floor, also for C < 0
    return [paid_total - sum(others), *others]


def split_movement(new_paid_total: int, levied: Sequence[int], paid: Sequence[int]) -> list[int]:
    """The split of one movement that brings the installment's paid total to ``new_paid_total``:
    ``f(new_paid_total) − paid`` per component (``paid`` = what each component holds so far)."""
    if len(paid) != len(levied):
        raise ValueError("内訳の数が一致しません")
    return [after - before for after, before in zip(split_paid(new_paid_total, levied), paid, strict=True)]


def split_movements(
    paid_before: int, movements: Sequence[int], levied: Sequence[int], paid: Sequence[int]
) -> list[list[int]]:
    """Several movements of one installment in posting order (a batch): each one's split, the first
    against the components' stored ``paid``, every later one against ``f`` of the total before it."""
    out = []
    current = paid_before
    held = list(paid)
    for delta in movements:
        current += delta
        split = split_movement(current, levied, held)
        held = [h + s for h, s in zip(held, split, strict=True)]
        out.append(split)
    return out


def floor_mul_div_split(c: int, share: int, total: int, base: int = SPLIT_BASE) -> int:
    """``floor(c × share / total)`` with 64-bit intermediates only (``0 ≤ share ≤ total``, ``total > 0``)
    — the arithmetic of the SQLite statement, written out so that it can be proved here.

    With ``a = |c| = q·total + r`` and ``share = hi·base + lo``, ``r·hi = q1·total + r1``:
    ``a·share / total = q·share + q1·base + (r1·base + r·lo) / total``, the first two terms whole; the
    floor of a negative ``c`` is minus that, less one when the remainder ``(r1·base + r·lo) mod total``
    is not zero.
    """
    a = -c if c < 0 else c
    q, r = divmod(a, total)
    hi, lo = divmod(share, base)
    q1, r1 = divmod(r * hi, total)
    tail = r1 * base + r * lo
    whole = q * share + q1 * base + tail // total
    if c >= 0:
        return whole
    return -whole - (1 if tail % total else 0)
