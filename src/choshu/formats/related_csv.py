"""The related-record files of issue 12 (docs/formats.md §7–§12): 送付先・連絡先, 代理人・納税管理人,
共有者, 相続人, 特別徴収義務者 and their employees. One layout per file, one parser per layout.

Each parser yields the rows it could read and appends every problem to ``errors`` (the import refuses
the file if there is any). What needs the whole file or the database — a key twice, an unknown 宛名番号
or 指定番号, one 代表者 per group — is checked by the import on the staged rows
(``taxpayers.related_imports``), so memory does not grow with the file.

Common rules: ``delete_flag`` ``1`` ends the record (empty = ``0``); only the key columns are read on
such a row. ``operator_id`` / ``operated_on`` / ``operated_time`` are the source system's 操作者ID /
操作年月日 / 操作時刻, kept as received. A 宛名番号 is canonicalised to the municipality's fixed width
(``canonical_taxpayer_no``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from datetime import date, time
from typing import NamedTuple, TextIO

from choshu.formats.csvfile import iter_rows
from choshu.formats.errors import RowError
from choshu.formats.fields import RowChecker, canonical_taxpayer_no
from choshu.formats.taxpayers_csv import normalize_postal_code

STAMPS = ("delete_flag", "operator_id", "operated_on", "operated_time")

MAILING_HEADER = (
    "taxpayer_no", "tax_item", "vehicle_no", "name", "name_kana", "postal_code", "address", "address_extra",
    "kind", "set_reason", "phone", "valid_from", "valid_until", "memo", *STAMPS,
)  # fmt: skip
REPRESENTATIVE_HEADER = (
    "taxpayer_no", "agent_taxpayer_no", "tax_item", "role", "valid_from", "valid_until", "phone", "memo",
    *STAMPS,
)  # fmt: skip
CO_OWNER_HEADER = (
    "ownership_taxpayer_no", "levy_year", "asset_group_no", "member_seq", "member_taxpayer_no",
    "is_representative", "share_numerator", "share_denominator", *STAMPS,
)  # fmt: skip
HEIR_HEADER = (
    "deceased_taxpayer_no", "seq", "heir_taxpayer_no", "is_representative", "share_numerator",
    "share_denominator", "since", *STAMPS,
)  # fmt: skip
SPECIAL_COLLECTOR_HEADER = (
    "designation_no", "taxpayer_no", "name", "due_date_special", "contact_name", "contact_phone", *STAMPS,
)  # fmt: skip
SPECIAL_EMPLOYEE_HEADER = (
    "designation_no", "employee_taxpayer_no", "levy_year", "annual_amount", "start_month", "end_date",
    *STAMPS,
)  # fmt: skip

ALL_ITEMS = "00"
"""業務詳細（科目）コード of a 送付先 or 代理人 for every tax item (標準 036o014)."""
PHONE_ONLY_KIND = "99"
"""送付先区分 of a contact record with a phone number and no address (標準 036o014)."""
TAX_MANAGER_TITLE = "09"
"""代理人_肩書 of a 納税管理人 in the standard (036o013); any other 肩書 code is an ordinary 代理人."""
ROLES = {"agent": "代理人", "tax_manager": "納税管理人"}
FLAGS = {"0": "いいえ", "1": "はい"}

_TIME = re.compile(r"([0-9]{2}):?([0-9]{2}):?([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_CODE = re.compile(r"[0-9A-Za-z]{2}")
_DESIGNATION = re.compile(r"[0-9A-Za-z-]{1,20}")
_YEAR_RANGE = (1900, 2999)


class Stamps(NamedTuple):
    """削除フラグ and the source system's 操作者ID / 操作年月日 / 操作時刻."""

    delete: bool
    operator: str
    operated_on: date | None
    operated_time: time | None


class _Row(RowChecker):
    """``RowChecker`` with the columns these layouts share."""

    def __init__(self, line: int, errors: list[RowError], row: dict[str, str], width: int | None) -> None:
        super().__init__(line, errors)
        self.row = row
        self.width = width
        self.deleting = self.choice(row, "delete_flag", FLAGS, required=False) == "1"

    def text(self, column: str, limit: int, *, required: bool = False) -> str:
        value = self.row[column]
        if required and not self.deleting and value == "":
            self.fail(column, "必須項目が空です")
        elif len(value) > limit:
            self.fail(column, f"{limit}文字を超えています（{len(value)}文字）")
        return value

    def taxpayer_no(self, column: str) -> str:
        """A 宛名番号 as the municipality stores it (zero-filled where its numbers have a fixed width)."""
        digits = self.digits(self.row, column, min_len=1, max_len=15)
        if not digits:
            return ""
        canonical = canonical_taxpayer_no(digits, self.width)
        if canonical is None:
            self.fail(column, f"宛名番号が団体の宛名番号の桁数（{self.width}桁）を超えています", digits)
            return ""
        return canonical

    def tax_item(self, column: str, known: Collection[str]) -> str:
        value = self.row[column]
        if value == "":
            self.fail(column, "必須項目が空です")
        elif not _CODE.fullmatch(value):
            self.fail(column, "業務詳細（科目）コードは半角英数字2桁で指定してください（00 = 全税目）", value)
        elif value != ALL_ITEMS and value not in known:
            self.fail(column, "業務詳細（科目）コードが税目マスタにありません（00 = 全税目）", value)
        else:
            return value
        return ""

    def flag(self, column: str) -> bool:
        if self.deleting and self.row[column] == "":
            return False
        return self.choice(self.row, column, FLAGS) == "1"

    def number(self, column: str, *, low: int, high: int, required: bool = True) -> int | None:
        value = self.row[column]
        if value == "" and (self.deleting or not required):
            return None
        digits = self.digits(self.row, column, min_len=1, max_len=len(str(high)))
        if not digits:
            return None
        if not low <= int(digits) <= high:
            self.fail(column, f"{low}〜{high}の範囲で指定してください", value)
            return None
        return int(digits)

    def year(self, column: str) -> int | None:
        value = self.row[column]
        if not re.fullmatch(r"[0-9]{4}", value) or not _YEAR_RANGE[0] <= int(value) <= _YEAR_RANGE[1]:
            self.fail(column, "年度は西暦4桁（例: 2024）で指定してください", value)
            return None
        return int(value)

    def day(self, column: str, *, required: bool = False) -> date | None:
        return self.date(self.row, column, required=required and not self.deleting)

    def period(self, start: str, end: str, *, required: bool = False) -> tuple[date | None, date | None]:
        since, until = self.day(start, required=required), self.day(end)
        if since is not None and until is not None and until < since:
            self.fail(end, "終了日が開始日より前です", self.row[end])
        return since, until

    def share(self) -> tuple[int | None, int | None]:
        """持分: numerator and denominator both given (0 < numerator ≤ denominator) or both empty."""
        top, bottom = self.row["share_numerator"], self.row["share_denominator"]
        if top == "" and bottom == "":
            return None, None
        if top == "" or bottom == "":
            self.fail(
                "share_numerator" if top == "" else "share_denominator",
                "持分は分子と分母を両方指定してください",
            )
            return None, None
        numerator = self.number("share_numerator", low=1, high=999_999_999)
        denominator = self.number("share_denominator", low=1, high=999_999_999)
        if numerator is not None and denominator is not None and numerator > denominator:
            self.fail("share_numerator", "持分の分子が分母より大きくなっています", top)
        return numerator, denominator

    def phone(self, column: str) -> str:
        value = self.text(column, 30)
        if value and not re.fullmatch(r"[0-9()+\-]+", value):
            self.fail(column, "電話番号は半角の数字とハイフンで指定してください", value)
        return value

    def designation_no(self) -> str:
        value = self.row["designation_no"]
        if not _DESIGNATION.fullmatch(value):
            self.fail("designation_no", "特別徴収義務者指定番号は半角英数字20桁以内で指定してください", value)
            return ""
        return value

    def stamps(self) -> Stamps:
        operator = self.text("operator_id", 20)
        operated_on = self.day("operated_on")
        value = self.row["operated_time"]
        operated_time = None
        if value:
            found = _TIME.fullmatch(value)
            try:
                if found:
                    hour, minute, second = (int(g) for g in found.groups())
                    operated_time = time(hour, minute, second)
            except ValueError:
                operated_time = None
            if operated_time is None:
                self.fail("operated_time", "操作時刻は HH:MM:SS（または HHMMSS）で指定してください", value)
        return Stamps(self.deleting, operator, operated_on, operated_time)


def _rows(
    text: str | TextIO, header: tuple[str, ...], errors: list[RowError], file_name: str, width: int | None
) -> Iterator[_Row]:
    for line, row in iter_rows(text, header, errors, file_name):
        yield _Row(line, errors, row, width)


# --- 036o014 送付先・連絡先 -------------------------------------------------------------------------


class MailingAddressRecord(NamedTuple):
    line: int
    taxpayer_no: str
    tax_item: str
    vehicle_no: str
    name: str
    name_kana: str
    postal_code: str
    address: str
    address_extra: str
    kind: str
    set_reason: str
    phone: str
    valid_from: date | None
    valid_until: date | None
    memo: str
    stamps: Stamps


def parse_mailing_addresses(
    text: str | TextIO,
    errors: list[RowError],
    file_name: str = "",
    *,
    taxpayer_no_width: int | None = None,
    tax_items: Collection[str] = (),
) -> Iterator[MailingAddressRecord]:
    """``mailing_addresses.csv``: a 送付先 per 宛名 and tax item (``00`` = every item), or per vehicle."""
    for r in _rows(text, MAILING_HEADER, errors, file_name, taxpayer_no_width):
        taxpayer_no = r.taxpayer_no("taxpayer_no")
        tax_item = r.tax_item("tax_item", tax_items)
        vehicle_no = r.text("vehicle_no", 20)
        if vehicle_no and tax_item == ALL_ITEMS:
            r.fail("vehicle_no", "軽自管理番号は税目を指定した送付先にだけ指定できます", vehicle_no)
        kind = r.text("kind", 2)
        phone = r.phone("phone")
        phone_only = kind == PHONE_ONLY_KIND
        if phone_only and not phone and not r.deleting:
            r.fail("phone", "送付先区分 99（連絡先）には電話番号が必要です")
        postal_code = normalize_postal_code(r.row["postal_code"])
        if postal_code is None:
            r.fail(
                "postal_code",
                "郵便番号は7桁の数字（3320012 または 332-0012、全角も可）で指定してください",
                r.row["postal_code"],
            )
            postal_code = ""
        valid_from, valid_until = r.period("valid_from", "valid_until")
        record = MailingAddressRecord(
            line=r.line,
            taxpayer_no=taxpayer_no,
            tax_item=tax_item,
            vehicle_no=vehicle_no,
            name=r.text("name", 200),
            name_kana=r.text("name_kana", 200),
            postal_code=postal_code,
            address=r.text("address", 300, required=not phone_only),
            address_extra=r.text("address_extra", 300),
            kind=kind,
            set_reason=r.text("set_reason", 100),
            phone=phone,
            valid_from=valid_from,
            valid_until=valid_until,
            memo=r.text("memo", 200),
            stamps=r.stamps(),
        )
        if r.ok:
            yield record


# --- 036o013 代理人・納税管理人 --------------------------------------------------------------------


class RepresentativeRecord(NamedTuple):
    line: int
    taxpayer_no: str
    agent_taxpayer_no: str
    tax_item: str
    role: str
    valid_from: date | None
    valid_until: date | None
    phone: str
    memo: str
    stamps: Stamps


def _role(r: _Row) -> str:
    """``agent`` / ``tax_manager``, or the standard's 肩書 code: ``09`` 納税管理人, any other 代理人."""
    value = r.row["role"]
    if value in ROLES:
        return value
    if re.fullmatch(r"[0-9]{2}", value):
        return "tax_manager" if value == TAX_MANAGER_TITLE else "agent"
    if r.deleting and value == "":
        return ""
    r.fail(
        "role",
        "肩書は agent（代理人）、tax_manager（納税管理人）または標準の肩書コード2桁（09 = 納税管理人）で指定してください",
        value,
    )
    return ""


def parse_representatives(
    text: str | TextIO,
    errors: list[RowError],
    file_name: str = "",
    *,
    taxpayer_no_width: int | None = None,
    tax_items: Collection[str] = (),
) -> Iterator[RepresentativeRecord]:
    """``representatives.csv``: a 代理人 or 納税管理人 of a 宛名 for one tax item (``00`` = every item)."""
    for r in _rows(text, REPRESENTATIVE_HEADER, errors, file_name, taxpayer_no_width):
        taxpayer_no = r.taxpayer_no("taxpayer_no")
        agent = r.taxpayer_no("agent_taxpayer_no")
        if taxpayer_no and taxpayer_no == agent:
            r.fail("agent_taxpayer_no", "本人を自分の代理人にはできません", agent)
        tax_item = r.tax_item("tax_item", tax_items)
        role = _role(r)
        valid_from = r.date(r.row, "valid_from")  # part of the key: required on every row
        valid_until = r.day("valid_until")
        if valid_from is not None and valid_until is not None and valid_until < valid_from:
            r.fail("valid_until", "終了日が開始日より前です", r.row["valid_until"])
        phone, memo, stamps = r.phone("phone"), r.text("memo", 200), r.stamps()
        if r.ok:
            yield RepresentativeRecord(
                r.line, taxpayer_no, agent, tax_item, role, valid_from, valid_until, phone, memo, stamps
            )


# --- 036o011 共有者 -------------------------------------------------------------------------------


class CoOwnerRecord(NamedTuple):
    line: int
    ownership_taxpayer_no: str
    levy_year: int
    asset_group_no: str
    member_seq: int
    member_taxpayer_no: str
    is_representative: bool
    share_numerator: int | None
    share_denominator: int | None
    stamps: Stamps


def parse_co_owners(
    text: str | TextIO, errors: list[RowError], file_name: str = "", *, taxpayer_no_width: int | None = None
) -> Iterator[CoOwnerRecord]:
    """``co_owners.csv``: the members of a co-ownership (a 宛名 of kind 共有) per 課税年度."""
    for r in _rows(text, CO_OWNER_HEADER, errors, file_name, taxpayer_no_width):
        ownership = r.taxpayer_no("ownership_taxpayer_no")
        levy_year = r.year("levy_year")
        asset_group_no = r.text("asset_group_no", 20)
        member_seq = r.number("member_seq", low=1, high=32767)
        member = r.taxpayer_no("member_taxpayer_no")
        if ownership and ownership == member:
            r.fail("member_taxpayer_no", "共有の宛名を自分の構成員にはできません", member)
        is_representative = r.flag("is_representative")
        numerator, denominator = r.share() if not r.deleting else (None, None)
        stamps = r.stamps()
        if r.ok and levy_year is not None and member_seq is not None:
            yield CoOwnerRecord(
                r.line, ownership, levy_year, asset_group_no, member_seq, member, is_representative,
                numerator, denominator, stamps,
            )  # fmt: skip


# --- 承継納税義務者 (相続人) ---------------------------------------------------------------------------


class HeirRecord(NamedTuple):
    line: int
    deceased_taxpayer_no: str
    seq: int
    heir_taxpayer_no: str
    is_representative: bool
    share_numerator: int | None
    share_denominator: int | None
    since: date | None
    stamps: Stamps


def parse_heirs(
    text: str | TextIO, errors: list[RowError], file_name: str = "", *, taxpayer_no_width: int | None = None
) -> Iterator[HeirRecord]:
    """``heirs.csv``: the heirs (承継納税義務者) of a deceased 宛名, one of them the 相続人代表者."""
    for r in _rows(text, HEIR_HEADER, errors, file_name, taxpayer_no_width):
        deceased = r.taxpayer_no("deceased_taxpayer_no")
        seq = r.number("seq", low=1, high=32767)
        heir = r.taxpayer_no("heir_taxpayer_no")
        if deceased and deceased == heir:
            r.fail("heir_taxpayer_no", "被相続人を自分の相続人にはできません", heir)
        is_representative = r.flag("is_representative")
        numerator, denominator = r.share() if not r.deleting else (None, None)
        since, stamps = r.day("since"), r.stamps()
        if r.ok and seq is not None:
            yield HeirRecord(
                r.line, deceased, seq, heir, is_representative, numerator, denominator, since, stamps
            )


# --- 特別徴収義務者 and their employees -------------------------------------------------------------


class SpecialCollectorRecord(NamedTuple):
    line: int
    designation_no: str
    taxpayer_no: str
    name: str
    due_date_special: bool
    contact_name: str
    contact_phone: str
    stamps: Stamps


def parse_special_collectors(
    text: str | TextIO, errors: list[RowError], file_name: str = "", *, taxpayer_no_width: int | None = None
) -> Iterator[SpecialCollectorRecord]:
    """``special_collectors.csv``: 特別徴収義務者 by 指定番号, with the employer's own 宛名."""
    for r in _rows(text, SPECIAL_COLLECTOR_HEADER, errors, file_name, taxpayer_no_width):
        designation_no = r.designation_no()
        taxpayer_no = r.taxpayer_no("taxpayer_no") if not (r.deleting and r.row["taxpayer_no"] == "") else ""
        name = r.text("name", 200, required=True)
        due_date_special = r.flag("due_date_special")
        contact_name, contact_phone = r.text("contact_name", 100), r.phone("contact_phone")
        stamps = r.stamps()
        if r.ok:
            yield SpecialCollectorRecord(
                r.line,
                designation_no,
                taxpayer_no,
                name,
                due_date_special,
                contact_name,
                contact_phone,
                stamps,
            )


class SpecialEmployeeRecord(NamedTuple):
    line: int
    designation_no: str
    employee_taxpayer_no: str
    levy_year: int
    annual_amount: int
    start_month: str
    end_date: date | None
    stamps: Stamps


def parse_special_employees(
    text: str | TextIO, errors: list[RowError], file_name: str = "", *, taxpayer_no_width: int | None = None
) -> Iterator[SpecialEmployeeRecord]:
    """``special_employees.csv``: whose resident tax a 特別徴収義務者 withholds, per 賦課年度."""
    for r in _rows(text, SPECIAL_EMPLOYEE_HEADER, errors, file_name, taxpayer_no_width):
        designation_no = r.designation_no()
        employee = r.taxpayer_no("employee_taxpayer_no")
        levy_year = r.year("levy_year")
        amount = 0 if r.deleting and r.row["annual_amount"] == "" else r.yen(r.row, "annual_amount")
        start_month = r.row["start_month"]
        found = _MONTH.fullmatch(start_month)
        if start_month and (found is None or not 1 <= int(found.group(2)) <= 12):
            r.fail("start_month", "特別徴収開始月は YYYY-MM（例: 2024-06）で指定してください", start_month)
        end_date, stamps = r.day("end_date"), r.stamps()
        if r.ok and levy_year is not None and amount is not None:
            yield SpecialEmployeeRecord(
                r.line, designation_no, employee, levy_year, amount, start_month, end_date, stamps
            )
