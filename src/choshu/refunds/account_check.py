"""The payee account checked at entry (issue 16 "Bad input"), with ``choshu.formats.zengin``: the
bank and branch known to the ``zengin-code`` data, the account number's length, the holder's name
converted to the Zengin repertoire (never truncated). Every problem is named; nothing is saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from choshu.formats.zengin import DepositType, FieldClass, KanaError, bank_info, branch_info, to_zengin_kana

if TYPE_CHECKING:
    from choshu.refunds.services import AccountInput

HOLDER_BYTES = 30  # 総合振込 data record: 受取人名 30 bytes (formats-reference.md §1.2)
DEPOSIT_TYPES = {DepositType.ORDINARY.value, DepositType.CHECKING.value, DepositType.TAX_RESERVE.value}


def check_account(data: AccountInput) -> AccountInput:
    from choshu.refunds.services import AccountInput  # noqa: PLC0415 - the dataclass lives with the service

    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    bank, branch = data.bank_code.strip(), data.branch_code.strip()
    if not (len(bank) == 4 and bank.isdigit()):
        bad("bank_code", f"金融機関コード「{bank}」は4桁の数字で入力してください")
    elif bank_info(bank) is None:
        bad("bank_code", f"金融機関コード「{bank}」は全銀協の金融機関コードにありません")
    if not (len(branch) == 3 and branch.isdigit()):
        bad("branch_code", f"支店コード「{branch}」は3桁の数字で入力してください")
    elif "bank_code" not in errors and branch_info(bank, branch) is None:
        bad("branch_code", f"支店コード「{branch}」は金融機関 {bank} の支店にありません")
    deposit = data.deposit_type.strip()
    if deposit not in DEPOSIT_TYPES:
        bad("deposit_type", "預金種目は 1（普通）、2（当座）、3（納税準備）のいずれかです")
    number = data.account_no.strip()
    if not number.isdigit() or not 1 <= len(number) <= 7:
        bad("account_no", f"口座番号「{number}」は7桁以内の数字で入力してください（{len(number)}桁）")
    holder = ""
    try:
        holder = to_zengin_kana(data.holder_kana.strip(), field=FieldClass.NAME, max_bytes=HOLDER_BYTES)
    except KanaError as exc:
        bad("holder_kana", f"口座名義: {exc}")
    if not data.holder_kana.strip():
        bad("holder_kana", "口座名義（カナ）を入力してください")
    if errors:
        raise ValidationError({k: [ValidationError(m) for m in v] for k, v in errors.items()})
    return AccountInput(bank, branch, deposit, number.zfill(7), holder)
