"""``taxpayers.csv`` — the feed from the 宛名 / 住登外 systems (interchange.md §1, docs/formats.md §1).

Two layouts, chosen by the header: the 14 columns of the first version (``HEADER_V1``) and the
standard's (issue 12: ``HEADER``), which adds the 支援措置 period and the source system's stamps.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date, time
from typing import Any, NamedTuple, TextIO

from choshu.formats.csvfile import iter_rows
from choshu.formats.errors import RowError
from choshu.formats.fields import RowChecker, canonical_taxpayer_no
from choshu.rules.check_digits import is_valid_corporate_number, is_valid_my_number

HEADER_V1 = (
    "taxpayer_no", "kind", "name", "name_kana", "birth_date", "sex", "postal_code", "address",
    "address_extra", "phone", "my_number", "corporate_number", "resident", "deceased_on",
)  # fmt: skip
STANDARD_COLUMNS = (
    "support_measure_from", "support_measure_until", "operator_id", "operated_on", "operated_time",
)  # fmt: skip
HEADER = (*HEADER_V1, *STANDARD_COLUMNS)

# The lengths the database holds (taxpayers.models.Taxpayer); longer values are refused, not cut.
MAX_LENGTHS = {"name": 200, "name_kana": 200, "address": 300, "address_extra": 300, "phone": 30}

KINDS = {"individual": "個人", "corporation": "法人", "co_ownership": "共有"}
OPERATOR_MAX = 20
SEXES = {"": "不明", "1": "男", "2": "女"}
RESIDENT = {"1": "住登者", "0": "住登外"}


_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])")
_POSTAL = re.compile(r"([0-9]{3})-?([0-9]{4})")
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ーｰ", "-"))


def normalize_postal_code(text: str) -> str | None:
    """郵便番号 as 7 ASCII digits: ``3320012``, ``332-0012`` and their full-width forms (``３３２－００１２``,
    any dash) are accepted (issue 12); an empty field stays empty; anything else is ``None``."""
    if not text:
        return ""
    plain = unicodedata.normalize("NFKC", text).translate(_DASHES).strip()
    found = _POSTAL.fullmatch(plain)
    return found.group(1) + found.group(2) if found else None


class TaxpayerRecord(NamedTuple):
    line: int
    taxpayer_no: str
    kind: str
    name: str
    name_kana: str
    birth_date: date | None
    sex: str
    postal_code: str
    address: str
    address_extra: str
    phone: str
    my_number: str
    corporate_number: str
    resident: bool
    deceased_on: date | None
    # The standard layout only (``standard`` False: an old-layout row, which leaves these as they are)
    standard: bool = False
    support_measure_from: date | None = None
    support_measure_until: date | None = None
    source_operator: str = ""
    source_operated_on: date | None = None
    source_operated_time: time | None = None


def parse_taxpayers(
    text: str | TextIO, errors: list[RowError], file_name: str = "", *, taxpayer_no_width: int | None = None
) -> Iterator[TaxpayerRecord]:
    """Yield each valid row; append every problem to ``errors`` (the caller refuses the file if any).

    Each row is checked on its own; a 宛名番号 repeated in the file is found by the import on the
    staged rows (``taxpayers.services``), so memory does not grow with the file. Where the
    municipality's 宛名番号 have a fixed width (``taxpayer_no_width``), each is given zero-filled to it
    (``123`` and ``0000000123`` are the same person).
    """
    for line, row in iter_rows(text, HEADER, errors, file_name, older=(HEADER_V1,)):
        c = RowChecker(line, errors)
        taxpayer_no = _taxpayer_no(c, row, taxpayer_no_width)
        kind = c.choice(row, "kind", KINDS)
        name = c.required(row, "name")
        for column, limit in MAX_LENGTHS.items():
            if len(row[column]) > limit:
                c.fail(column, f"{limit}文字を超えています（{len(row[column])}文字）")
        birth_date = c.date(row, "birth_date", required=False)
        sex = c.choice(row, "sex", SEXES, required=False)
        postal_code = normalize_postal_code(row["postal_code"])
        if postal_code is None:
            c.fail(
                "postal_code",
                "郵便番号は7桁の数字（3320012 または 332-0012、全角も可）で指定してください",
                row["postal_code"],
            )
            postal_code = ""
        my_number = c.digits(row, "my_number", min_len=12, max_len=12, required=False)
        corporate_number = c.digits(row, "corporate_number", min_len=13, max_len=13, required=False)
        if kind == "co_ownership":
            _check_co_ownership(c, row)
        elif my_number:
            if kind == "corporation":
                c.fail("my_number", "法人に個人番号は指定できません")
            elif not is_valid_my_number(my_number):
                c.fail("my_number", "個人番号のチェックデジットが一致しません", "************")
        if corporate_number and kind != "co_ownership":
            if kind == "individual":
                c.fail("corporate_number", "個人に法人番号は指定できません")
            elif not is_valid_corporate_number(corporate_number):
                c.fail("corporate_number", "法人番号のチェックデジットが一致しません", corporate_number)
        resident = c.choice(row, "resident", RESIDENT)
        deceased_on = c.date(row, "deceased_on", required=False)
        standard = _standard_columns(c, row) if "operator_id" in row else None
        if c.ok:
            yield TaxpayerRecord(
                line=line,
                taxpayer_no=taxpayer_no,
                kind=kind,
                name=name,
                name_kana=row["name_kana"],
                birth_date=birth_date,
                sex=sex,
                postal_code=postal_code,
                address=row["address"],
                address_extra=row["address_extra"],
                phone=row["phone"],
                my_number=my_number,
                corporate_number=corporate_number,
                resident=resident == "1",
                deceased_on=deceased_on,
                **(standard or {}),
            )


def _taxpayer_no(c: RowChecker, row: dict[str, str], width: int | None) -> str:
    number = c.digits(row, "taxpayer_no", min_len=1, max_len=15)
    if not number or width is None:
        return number
    canonical = canonical_taxpayer_no(number, width)
    if canonical is None:
        c.fail("taxpayer_no", f"宛名番号がこの団体の桁数（{width}桁）に収まりません", number)
        return ""
    return canonical


def _check_co_ownership(c: RowChecker, row: dict[str, str]) -> None:
    """共有 (a co-ownership holding 固定資産税 levies) is no person: no number, birth date or sex."""
    for column, what in (
        ("my_number", "個人番号"),
        ("corporate_number", "法人番号"),
        ("birth_date", "生年月日"),
        ("sex", "性別"),
    ):
        if row[column]:
            c.fail(
                column,
                f"共有（共有者の集まり）に{what}は指定できません（共有者ごとの宛名に登録してください）",
            )


def _standard_columns(c: RowChecker, row: dict[str, str]) -> dict[str, Any]:
    """The standard layout's 支援措置 period and source stamps, checked."""
    start = c.date(row, "support_measure_from", required=False)
    end = c.date(row, "support_measure_until", required=False)
    if row["support_measure_until"] and not row["support_measure_from"]:
        c.fail("support_measure_until", "支援措置終了日だけは指定できません（開始日も指定してください）")
    elif start is not None and end is not None and end < start:
        c.fail("support_measure_until", "支援措置終了日が開始日より前です", row["support_measure_until"])
    operator = row["operator_id"]
    if len(operator) > OPERATOR_MAX:
        c.fail("operator_id", f"操作者IDは{OPERATOR_MAX}文字以内で指定してください（{len(operator)}文字）")
    operated_on = c.date(row, "operated_on", required=False)
    operated_time = None
    if row["operated_time"]:
        found = _TIME.fullmatch(row["operated_time"])
        if found is None:
            c.fail(
                "operated_time",
                "操作時刻は HH:MM:SS 形式（24時間制）で指定してください",
                row["operated_time"],
            )
        elif not row["operated_on"]:
            c.fail("operated_time", "操作時刻だけは指定できません（操作年月日も指定してください）")
        else:
            hour, minute, second = (int(part) for part in found.groups())
            operated_time = time(hour, minute, second)
    return {
        "standard": True,
        "support_measure_from": start,
        "support_measure_until": end,
        "source_operator": operator,
        "source_operated_on": operated_on,
        "source_operated_time": operated_time,
    }
