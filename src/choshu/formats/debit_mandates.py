"""口座振替依頼 (direct-debit mandates): checking what a form says, and the bulk CSV of them.

Pure: no database. The Zengin rules (kana repertoire, bank codes, ゆうちょ 記号・番号) are
``formats.zengin``'s; this module puts them together and words the errors for clerks. The CSV
(Pay-easy 口座振替受付 results and the like; docs/formats.md "口座振替依頼") is read whole: any bad row
refuses the file with line, column and reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from choshu.formats.csvfile import decode_strict, iter_rows
from choshu.formats.errors import FileRefused, RowError
from choshu.formats.fields import RowChecker
from choshu.formats.zengin import (
    FieldClass,
    KanaError,
    check_bank_branch,
    jpbank_to_zengin,
    to_zengin_kana,
)

JP_BANK = "9900"
DEPOSIT_TYPES = {"1": "普通", "2": "当座", "3": "納税準備", "9": "その他"}
HOLDER_BYTES = 30  # 預金者名 C(30), formats-reference §1.1


@dataclass(frozen=True)
class MandateInput:
    """A mandate as entered (screen) or read (CSV row): text as given."""

    tax_item: str
    bank_code: str
    branch_code: str
    deposit_type: str
    account: str
    holder_name: str
    start: date
    end: date | None
    received_on: date
    jp_kigo: str = ""
    jp_bango: str = ""


@dataclass
class CheckedMandate:
    """The normalised mandate, or the problems (field, Japanese message) found."""

    bank_code: str = ""
    branch_code: str = ""
    deposit_type: str = ""
    account: str = ""
    holder_kana: str = ""
    warnings: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def check_mandate(m: MandateInput) -> CheckedMandate:
    """Validate and convert: bank code 4 digits, branch 3 digits (ゆうちょ: from 記号・番号), 預金種目
    1/2/3/9, account up to 7 digits (zero-filled), holder name in the Zengin repertoire within 30 bytes
    (never truncated), the period. Unknown bank/branch codes are warnings, not errors."""
    out = CheckedMandate()
    bank = m.bank_code.strip()
    if not (_digits(bank) and len(bank) == 4):
        out.errors.append(("bank_code", "金融機関コードは4桁の数字で入力してください"))
    kigo, bango = m.jp_kigo.strip(), m.jp_bango.strip()
    if kigo or bango:
        if bank and bank != JP_BANK:
            out.errors.append(("jp_kigo", "記号・番号はゆうちょ銀行（9900）の口座にだけ入力できます"))
        else:
            bank = JP_BANK
            try:
                out.branch_code, out.deposit_type, out.account = jpbank_to_zengin(kigo, bango)
            except ValueError as exc:
                out.errors.append(("jp_kigo", f"ゆうちょ銀行の記号・番号を変換できません: {exc}"))
    else:
        branch = m.branch_code.strip()
        if not (_digits(branch) and len(branch) == 3):
            out.errors.append(("branch_code", "支店コードは3桁の数字で入力してください"))
        elif bank == JP_BANK and not branch.endswith(("8", "9")):
            out.errors.append(
                ("branch_code", "ゆうちょ銀行の店番は末尾が8または9です（記号・番号から変換できます）")
            )
        out.branch_code = branch
        if m.deposit_type not in DEPOSIT_TYPES:
            out.errors.append(
                ("deposit_type", "預金種目は 1（普通）、2（当座）、3（納税準備）、9（その他）です")
            )
        out.deposit_type = m.deposit_type
        account = m.account.strip()
        if not (_digits(account) and 1 <= len(account) <= 7):
            out.errors.append(("account", "口座番号は7桁以内の数字で入力してください"))
        out.account = account.zfill(7)
    out.bank_code = bank
    try:
        out.holder_kana = to_zengin_kana(m.holder_name.strip(), field=FieldClass.NAME, max_bytes=HOLDER_BYTES)
        if not out.holder_kana.strip():
            out.errors.append(("holder_name", "口座名義（カナ）を入力してください"))
    except KanaError as exc:
        out.errors.append(("holder_name", f"口座名義を全銀の文字に変換できません: {exc}"))
    if m.end is not None and m.end < m.start:
        out.errors.append(("end", f"振替終了日（{m.end:%Y-%m-%d}）が開始日（{m.start:%Y-%m-%d}）より前です"))
    if out.ok:
        out.warnings = check_bank_branch(out.bank_code, out.branch_code)
    return out


MANDATES_HEADER = (
    "taxpayer_no", "tax_item", "bank_code", "branch_code", "deposit_type", "account", "jp_kigo", "jp_bango",
    "holder_kana", "start", "end", "received_on",
)  # fmt: skip


@dataclass(frozen=True)
class MandateRow:
    line: int
    taxpayer_no: str
    mandate: MandateInput


@dataclass(frozen=True)
class MandatesFile:
    encoding: str
    sha256: str
    rows: tuple[MandateRow, ...]


def _rows(text: str, errors: list[RowError], file_name: str) -> Iterator[MandateRow]:
    seen: dict[tuple[str, str], int] = {}
    for line, row in iter_rows(text, MANDATES_HEADER, errors, file_name):
        c = RowChecker(line, errors)
        taxpayer_no = c.digits(row, "taxpayer_no", min_len=1, max_len=15)
        tax_item = c.digits(row, "tax_item", min_len=2, max_len=2, required=False)
        start = c.date(row, "start")
        end = c.date(row, "end", required=False)
        received_on = c.date(row, "received_on")
        if not c.ok or start is None or received_on is None:
            continue
        m = MandateInput(
            tax_item=tax_item,
            bank_code=row["bank_code"],
            branch_code=row["branch_code"],
            deposit_type=row["deposit_type"],
            account=row["account"],
            holder_name=row["holder_kana"],
            start=start,
            end=end,
            received_on=received_on,
            jp_kigo=row["jp_kigo"],
            jp_bango=row["jp_bango"],
        )
        checked = check_mandate(m)
        for column, reason in checked.errors:
            c.fail("holder_kana" if column == "holder_name" else column, reason, row.get(column, ""))
        first = seen.setdefault((taxpayer_no, tax_item), line)
        if first != line:
            c.fail("taxpayer_no", f"同じ宛名番号・税目の依頼が{first}行目にもあります", taxpayer_no)
        if c.ok:
            yield MandateRow(line, taxpayer_no, m)


def parse_mandates_csv(data: bytes, *, file_name: str = "") -> MandatesFile:
    """Decode strictly (UTF-8 or CP932), check every row, return the rows or raise ``FileRefused``."""
    decoded = decode_strict(data, file_name)
    errors: list[RowError] = []
    rows = tuple(_rows(decoded.text, errors, file_name))
    if errors:
        raise FileRefused(sorted(errors, key=lambda e: e.line), file_name)
    if not rows:
        raise FileRefused([RowError(0, "", "口座振替依頼の行がありません")], file_name)
    return MandatesFile(decoded.encoding, decoded.sha256, rows)
