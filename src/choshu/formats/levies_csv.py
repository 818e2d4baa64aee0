"""``levies.csv`` — 調定 from the tax systems, one row per installment (interchange.md §2).

Two layouts, chosen by the header row: the standard's (``HEADER``: the levy key of 036o005, the three
dates of an installment, the breakdown of its 本税 and the source system's 操作者ID・操作年月日・操作時刻)
and the old 8-column one (``OLD_HEADER``). This parser checks each row's form only; what needs the
municipality's tables (an active 税目, the breakdown, the 期別マスタ, a 特別徴収義務者) or the whole file
is checked by the import on the staged rows (``levies.services``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, time
from typing import NamedTuple, TextIO

from choshu.formats.csvfile import fields_of_layout
from choshu.formats.errors import RowError
from choshu.formats.fields import RowChecker, canonical_taxpayer_no
from choshu.rules.check_digits import is_valid_slip_no

HEADER = (
    "tax_item", "levy_year", "relevant_year", "notice_no", "taxpayer_no", "special_collector_no",
    "filing_type", "filing_history_no", "business_year_no", "business_year_start", "business_year_end",
    "installment_no", "statutory_due_date", "due_date", "designated_due_date", "due_date_special",
    "principal", "breakdown_1", "breakdown_2", "breakdown_3", "slip_no", "operator_id", "operated_on",
    "operated_time",
)  # fmt: skip
"""The standard's layout (issue 12)."""

OLD_HEADER = (
    "tax_item",
    "levy_year",
    "notice_no",
    "taxpayer_no",
    "installment_no",
    "due_date",
    "principal",
    "slip_no",
)
"""The layout before issue 12: 相当年度 = 賦課年度, no other key of the standard, one date for all three,
the whole 本税 on the main component of the item's breakdown, no source stamps."""

TAX_ITEMS = {
    "01": "個人住民税(普通徴収)",
    "02": "個人住民税(特別徴収)",
    "03": "法人住民税",
    "04": "固定資産税・都市計画税",
    "05": "軽自動車税(種別割)",
    "06": "事業所税",
    "07": "国民健康保険税",
}
"""The default catalog's codes (the six 市税 items and 国民健康保険税) as the payment files' slip codes carry them (``formats.payments``,
``formats.slipcodes``). The levy feed no longer checks against it: a levy's 税目 is a code of the
municipality's ``TaxItem`` table, checked by the import."""

BREAKDOWN_COLUMNS = ("breakdown_1", "breakdown_2", "breakdown_3")
OPERATOR_MAX = 20
NO_BREAKDOWN: tuple[int | None, int | None, int | None] = (None, None, None)


class LevyRecord(NamedTuple):
    line: int
    tax_item: str
    levy_year: int
    notice_no: str
    taxpayer_no: str
    installment_no: int
    due_date: date
    principal: int
    slip_no: str
    relevant_year: int
    special_collector_no: str = ""
    filing_type: str = ""
    filing_history_no: int = 0
    business_year_no: int = 0
    business_year_start: date | None = None
    business_year_end: date | None = None
    statutory_due_date: date | None = None  # None only until filled: always set in a record yielded
    designated_due_date: date | None = None
    due_date_special: str = ""
    breakdown: tuple[int | None, int | None, int | None] = NO_BREAKDOWN
    operator_id: str = ""
    operated_on: date | None = None
    operated_time: time | None = None
    detailed: bool = False  # the standard's layout: the breakdown columns are given (even empty)

    @property
    def levy_key(self) -> tuple[str, int, int, str, str, int, int]:
        """The standard's levy key (036o005; 児童_宛名番号 is not kept)."""
        return (self.tax_item, self.levy_year, self.relevant_year, self.notice_no, self.special_collector_no,
                self.filing_history_no, self.business_year_no)  # fmt: skip

    @property
    def key(self) -> tuple[str, int, int, str, str, int, int, int]:
        return (*self.levy_key, self.installment_no)


_D = r"([0-9]{4}-[0-9]{2}-[0-9]{2})"
_OLD_PLAIN = re.compile(
    rf"([0-9A-Za-z]{{2}}),([0-9]{{4}}),([0-9]{{1,12}}),([0-9]{{1,15}}),([0-9]{{1,2}}),{_D},([0-9]+),"
    r"([0-9]{16})?"
)
_NEW_PLAIN = re.compile(
    rf"([0-9A-Za-z]{{2}}),([0-9]{{4}}),([0-9]{{4}})?,([0-9]{{1,12}}),([0-9]{{1,15}}),([0-9A-Za-z]{{1,20}})?,"
    rf"([0-9]{{1,2}})?,([0-9]{{1,8}})?,([0-9]{{1,8}})?,{_D}?,{_D}?,([0-9]{{1,2}}),{_D}?,{_D},{_D}?,(1)?,"
    r"([0-9]+),([0-9]+)?,([0-9]+)?,([0-9]+)?,([0-9]{16})?,([0-9A-Za-z_.\-]{1,20})?,"
    rf"{_D}?,([0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}})?"
)
"""Rows whose fields are plainly well-formed (no field can hold a comma, so a row with a quoted comma
never matches): read by :func:`_old_plain` / :func:`_new_plain`; any other row by the field checks."""


def _year_ok(year: int) -> bool:
    return 1950 <= year <= 2200


def _old_plain(line: int, m: re.Match[str], width: int | None) -> LevyRecord | None:
    """The record of a plain row of the old layout, or ``None`` if a check beyond its form fails (the
    field checks then read the row and say why)."""
    levy_year, installment_no = int(m[2]), int(m[5])
    if not _year_ok(levy_year) or installment_no < 1:
        return None
    try:
        due_date = date.fromisoformat(m[6])
    except ValueError:
        return None
    slip_no = m[8] or ""
    if slip_no and not is_valid_slip_no(slip_no):
        return None
    taxpayer_no = canonical_taxpayer_no(m[4], width)
    if taxpayer_no is None:
        return None
    return LevyRecord(line, m[1], levy_year, m[3], taxpayer_no, installment_no, due_date, int(m[7]), slip_no,
                      levy_year, statutory_due_date=due_date, designated_due_date=due_date)  # fmt: skip


def _new_plain(line: int, m: re.Match[str], width: int | None) -> LevyRecord | None:
    """The record of a plain row of the standard's layout, or ``None`` (then the field checks)."""
    levy_year, installment_no = int(m[2]), int(m[12])
    relevant_year = int(m[3]) if m[3] else levy_year
    if not (_year_ok(levy_year) and _year_ok(relevant_year)) or installment_no < 1:
        return None
    try:
        start = date.fromisoformat(m[10]) if m[10] else None
        end = date.fromisoformat(m[11]) if m[11] else None
        due = date.fromisoformat(m[14])
        statutory = date.fromisoformat(m[13]) if m[13] else due
        designated = date.fromisoformat(m[15]) if m[15] else due
        operated_on = date.fromisoformat(m[23]) if m[23] else None
        operated_time = time.fromisoformat(m[24]) if m[24] else None
    except ValueError:
        return None
    if (start is None) != (end is None) or (start is not None and end is not None and start > end):
        return None
    slip_no = m[21] or ""
    if slip_no and not is_valid_slip_no(slip_no):
        return None
    taxpayer_no = canonical_taxpayer_no(m[5], width)
    if taxpayer_no is None:
        return None
    return LevyRecord(
        line, m[1], levy_year, m[4], taxpayer_no, installment_no, due, int(m[17]), slip_no, relevant_year,
        m[6] or "", m[7] or "", int(m[8] or 0), int(m[9] or 0), start, end, statutory, designated, m[16] or "",
        (int(m[18]) if m[18] else None, int(m[19]) if m[19] else None, int(m[20]) if m[20] else None),
        m[22] or "", operated_on, operated_time, True,
    )  # fmt: skip


def parse_levies(
    text: str | TextIO,
    errors: list[RowError],
    file_name: str = "",
    *,
    plain: bool = True,
    taxpayer_no_width: int | None = None,
) -> Iterator[LevyRecord]:
    """Yield each valid row; append every problem to ``errors`` (the caller refuses the file if any).

    The header row says the layout (``HEADER`` or ``OLD_HEADER``). Each row is checked on its own.
    What needs the whole file or the database — an installment key twice, a 通知書番号 with two
    宛名番号, a 納付番号 repeated, an unknown 税目 — is checked by the import on the staged rows
    (``levies.services``), so memory does not grow with the file. A plainly well-formed row is read
    by one regular expression (``plain``; the same record as the field checks give, tested).
    ``taxpayer_no_width``: the municipality's fixed 宛名番号 width (``canonical_taxpayer_no``).
    """
    layout, rows = fields_of_layout(text, (HEADER, OLD_HEADER), errors, file_name)
    header: tuple[str, ...]
    if layout == 1:
        match, read, header, check = _OLD_PLAIN.fullmatch, _old_plain, OLD_HEADER, _old_checked
    else:
        match, read, header, check = _NEW_PLAIN.fullmatch, _new_plain, HEADER, _new_checked
    for line, fields in rows:
        if plain and (m := match(",".join(fields))) is not None and (rec := read(line, m, taxpayer_no_width)):
            yield rec
            continue
        found = check(line, dict(zip(header, fields, strict=True)), errors, taxpayer_no_width)
        if found is not None:
            yield found


def _common(c: RowChecker, row: dict[str, str]) -> tuple[str, int]:
    """tax_item (its form: whether the municipality has it is the import's check) and levy_year."""
    tax_item = row["tax_item"]
    if tax_item == "":
        c.fail("tax_item", "必須項目が空です")
    elif not re.fullmatch(r"[0-9A-Za-z]{2}", tax_item):
        c.fail("tax_item", "税目コードは半角英数字2桁で指定してください", tax_item)
        tax_item = ""
    return tax_item, _year(c, row, "levy_year", required=True)


def _year(c: RowChecker, row: dict[str, str], column: str, *, required: bool) -> int:
    text = c.digits(row, column, min_len=4, max_len=4, required=required)
    year = int(text) if text else 0
    if text and not _year_ok(year):
        c.fail(column, "年度が範囲外です（1950〜2200）", text)
    return year


def _taxpayer_no(c: RowChecker, row: dict[str, str], width: int | None) -> str:
    text = c.digits(row, "taxpayer_no", min_len=1, max_len=15)
    if not text:
        return ""
    canonical = canonical_taxpayer_no(text, width)
    if canonical is None:
        c.fail("taxpayer_no", f"宛名番号が{width}桁を超えています", text)
        return ""
    return canonical


def _installment_no(c: RowChecker, row: dict[str, str]) -> int:
    text = c.digits(row, "installment_no", min_len=1, max_len=2)
    number = int(text) if text else 0
    if text and number < 1:
        c.fail("installment_no", "期別は1以上です", text)
    return number


def _slip_no(c: RowChecker, row: dict[str, str]) -> str:
    slip_no = c.digits(row, "slip_no", min_len=16, max_len=16, required=False)
    if slip_no and not is_valid_slip_no(slip_no):
        c.fail("slip_no", "納付番号のチェックデジットが一致しません", slip_no)
    return slip_no


def _old_checked(
    line: int, row: dict[str, str], errors: list[RowError], width: int | None
) -> LevyRecord | None:
    c = RowChecker(line, errors)
    tax_item, levy_year = _common(c, row)
    notice_no = c.digits(row, "notice_no", min_len=1, max_len=12)
    taxpayer_no = _taxpayer_no(c, row, width)
    installment_no = _installment_no(c, row)
    due_date = c.date(row, "due_date")
    principal = c.yen(row, "principal")
    slip_no = _slip_no(c, row)
    if not c.ok:
        return None
    assert due_date is not None and principal is not None
    return LevyRecord(line, tax_item, levy_year, notice_no, taxpayer_no, installment_no, due_date, principal,
                      slip_no, levy_year, statutory_due_date=due_date, designated_due_date=due_date)  # fmt: skip


def _count(c: RowChecker, row: dict[str, str], column: str) -> int:
    """申告履歴番号 / 事業年度番号: 0–8 digits, empty = 0."""
    text = c.digits(row, column, min_len=1, max_len=8, required=False)
    return int(text) if text else 0


def _new_checked(
    line: int, row: dict[str, str], errors: list[RowError], width: int | None
) -> LevyRecord | None:
    c = RowChecker(line, errors)
    tax_item, levy_year = _common(c, row)
    relevant_year = _year(c, row, "relevant_year", required=False) or levy_year
    notice_no = c.digits(row, "notice_no", min_len=1, max_len=12)
    taxpayer_no = _taxpayer_no(c, row, width)
    collector_no = row["special_collector_no"]
    if collector_no and not re.fullmatch(r"[0-9A-Za-z]{1,20}", collector_no):
        c.fail(
            "special_collector_no",
            "特別徴収義務者指定番号は半角英数字20桁以内で指定してください",
            collector_no,
        )
    filing_type = c.digits(row, "filing_type", min_len=1, max_len=2, required=False)
    filing_history_no = _count(c, row, "filing_history_no")
    business_year_no = _count(c, row, "business_year_no")
    start = c.date(row, "business_year_start", required=False)
    end = c.date(row, "business_year_end", required=False)
    if row["business_year_start"] == "" and row["business_year_end"] != "":
        c.fail("business_year_start", "事業年度の開始日と終了日は両方指定してください")
    elif row["business_year_end"] == "" and row["business_year_start"] != "":
        c.fail("business_year_end", "事業年度の開始日と終了日は両方指定してください")
    elif start is not None and end is not None and start > end:
        c.fail("business_year_end", "事業年度の終了日が開始日より前です", row["business_year_end"])
    installment_no = _installment_no(c, row)
    statutory = c.date(row, "statutory_due_date", required=False)
    due_date = c.date(row, "due_date")
    designated = c.date(row, "designated_due_date", required=False)
    special = row["due_date_special"]
    if special not in ("", "1"):
        c.fail("due_date_special", "納期特例区分は空または 1 で指定してください", special)
    principal = c.yen(row, "principal")
    breakdown = tuple(c.yen(row, col) if row[col] != "" else None for col in BREAKDOWN_COLUMNS)
    slip_no = _slip_no(c, row)
    operator_id = row["operator_id"]
    if len(operator_id) > OPERATOR_MAX or not operator_id.isprintable():
        c.fail("operator_id", f"操作者IDは{OPERATOR_MAX}文字以内の文字で指定してください", operator_id)
    operated_on = c.date(row, "operated_on", required=False)
    operated_time = c.time(row, "operated_time", required=False)
    if not c.ok:
        return None
    assert due_date is not None and principal is not None
    b1, b2, b3 = breakdown
    return LevyRecord(
        line, tax_item, levy_year, notice_no, taxpayer_no, installment_no, due_date, principal, slip_no,
        relevant_year, collector_no, filing_type, filing_history_no, business_year_no, start, end,
        statutory or due_date, designated or due_date, special, (b1, b2, b3), operator_id, operated_on,
        operated_time, True,
    )  # fmt: skip
