"""``taxpayers.csv`` — the feed from the 宛名 / 住登外 systems (interchange.md §1)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import NamedTuple, TextIO

from choshu.formats.csvfile import iter_rows
from choshu.formats.errors import RowError
from choshu.formats.fields import RowChecker
from choshu.rules.check_digits import is_valid_corporate_number, is_valid_my_number

HEADER = (
    "taxpayer_no", "kind", "name", "name_kana", "birth_date", "sex", "postal_code", "address",
    "address_extra", "phone", "my_number", "corporate_number", "resident", "deceased_on",
)  # fmt: skip

# The lengths the database holds (taxpayers.models.Taxpayer); longer values are refused, not cut.
MAX_LENGTHS = {"name": 200, "name_kana": 200, "address": 300, "address_extra": 300, "phone": 30}

KINDS = {"individual": "個人", "corporation": "法人", "co_ownership": "共有"}
SEXES = {"": "不明", "1": "男", "2": "女"}
RESIDENT = {"1": "住登者", "0": "住登外"}


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


def parse_taxpayers(
    text: str | TextIO, errors: list[RowError], file_name: str = ""
) -> Iterator[TaxpayerRecord]:
    """Yield each valid row; append every problem to ``errors`` (the caller refuses the file if any).

    Each row is checked on its own; a 宛名番号 repeated in the file is found by the import on the
    staged rows (``taxpayers.services``), so memory does not grow with the file.
    """
    for line, row in iter_rows(text, HEADER, errors, file_name):
        c = RowChecker(line, errors)
        taxpayer_no = c.digits(row, "taxpayer_no", min_len=1, max_len=15)
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
        if my_number:
            if kind in ("corporation", "co_ownership"):
                c.fail("my_number", f"{KINDS[kind]}の宛名に個人番号は指定できません")
            elif not is_valid_my_number(my_number):
                c.fail("my_number", "個人番号のチェックデジットが一致しません", "************")
        if corporate_number:
            if kind in ("individual", "co_ownership"):
                c.fail("corporate_number", f"{KINDS[kind]}の宛名に法人番号は指定できません")
            elif not is_valid_corporate_number(corporate_number):
                c.fail("corporate_number", "法人番号のチェックデジットが一致しません", corporate_number)
        resident = c.choice(row, "resident", RESIDENT)
        deceased_on = c.date(row, "deceased_on", required=False)
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
            )
