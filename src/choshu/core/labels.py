"""Japanese names of the internal keys and codes that reach a screen — the one place to look them up.

Screens never show a key such as ``slip_no`` or a code such as ``taxpayer_edit``: the audit list
(``AuditLog.detail``), the 決裁 screens (a request's payload and before values), the received record of
a 未消込 and any other place printing a stored dict name its keys with ``key_label`` and its coded
values with ``value_label``.

- ``KEY_LABELS`` below: the keys services write (audit details, payloads, import records, summaries).
- The choices of every model field (``TextChoices``: 種別, 状態, 収納経路, 処理 …) and the Japanese
  ``verbose_name`` of every model field are registered when the apps are ready (``core.apps``), so a
  new enum or field is named without touching this file. An explicit entry here wins.
- An app with keys of its own (a request kind's payload) may add them with ``register_keys``; the
  guard test ``web/tests/test_japanese_screens.py`` fails on any key left in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

KEY_LABELS: dict[str, str] = {
    # people and numbers
    "taxpayer": "宛名",
    "taxpayer_id": "宛名",
    "taxpayer_no": "宛名番号",
    "taxpayer_ids": "宛名",
    "kana": "カナ氏名",
    "name": "氏名・名称",
    "name_kana": "氏名カナ",
    "birth_date": "生年月日",
    "corporate_no": "法人番号",
    "corporate_number": "法人番号",
    "address": "住所",
    "address_extra": "方書",
    "postal_code": "郵便番号",
    "phone": "電話番号",
    "notice_no": "通知書番号",
    "my_number": "個人番号",
    "my_number_registered": "個人番号の登録",
    "mailing_postal_code": "送付先郵便番号",
    "mailing_address": "送付先住所",
    "mailing_name": "送付先氏名",
    "protected": "支援措置対象者",
    "protected_ids": "支援措置対象者",
    "address_shown": "住所を表示",
    # levies and payments
    "tax_item": "税目",
    "tax_item_name": "税目名",
    "levy_year": "賦課年度",
    "installment_no": "期別",
    "installments": "期別",
    "due_date": "納期限",
    "pay_by": "支払期限",
    "principal": "本税",
    "principal_paid": "本税収納額",
    "principal_outstanding": "本税未納額",
    "late_charge_accrued": "延滞金",
    "outstanding": "未納額",
    "levied": "調定額",
    "paid": "収納額",
    "payment": "収納番号",
    "payments": "収納",
    "amount": "金額",
    "amount_total": "金額合計",
    "amount_posted": "消込額",
    "amount_overpaid": "過誤納額",
    "amount_suspense": "未消込額",
    "amount_reversed": "取消額",
    "paid_on": "領収日",
    "booked_on": "収納日",
    "paid_time": "領収時刻",
    "channel": "収納経路",
    "slip_no": "納付番号",
    "slips": "納付書",
    "confirmation_no": "確認番号",
    "barcode": "バーコード",
    "el_number": "eL番号",
    "ocr_lower": "OCR（下段）",
    "ocr_upper": "OCR（上段）",
    "bank_code": "金融機関コード",
    "branch_code": "店舗コード",
    "transaction_id": "取引番号",
    "agency_no": "地方公共団体コード",
    "payment_class": "納付区分",
    "record_type": "データ種別",
    "chain_code": "コンビニ本部コード",
    "chain_name": "コンビニ名",
    "store_code": "店舗コード",
    "reissue": "再発行区分",
    "data_created_on": "データ作成日",
    "suspense_item": "未消込番号",
    "suspense": "未消込",
    "reference": "参照キー",
    "line": "行番号",
    "current": "現年",
    "carried_over": "滞繰",
    "unknown": "不明",
    # import and job summaries
    "file": "ファイル",
    "files": "ファイル",
    "sha256": "ハッシュ値（SHA-256）",
    "encoding": "文字コード",
    "rows": "件数",
    "records": "件数",
    "count": "件数",
    "created": "新規",
    "updated": "更新",
    "unchanged": "変更なし",
    "corrections": "訂正",
    "ended": "終了",
    "already_imported": "取込済み",
    "levies_created": "調定新規",
    "levies_updated": "調定更新",
    "overpayments": "過誤納",
    "amount_levied": "調定額",
    "amount_corrected": "更正額",
    "file_already_imported": "取込済みのファイル",
    "posted": "消込",
    "provisional": "速報",
    "cancelled": "速報取消",
    "reversed": "取消",
    "overpaid": "過誤納",
    "warnings": "警告",
    "errors": "エラー",
    "refused": "取込拒否",
    "job": "処理番号",
    "job_id": "処理番号",
    "date": "日付",
    "as_of": "基準日",
    "by_component": "内訳別",
    "examined": "確認件数",
    "deleted": "削除件数",
    "kept": "保存件数",
    "kept_reasons": "保存理由",
    "audit_deleted": "削除したログ",
    "dry_run": "試行",
    "report_file": "報告ファイル",
    "parameters": "条件",
    # audit and approvals
    "query": "検索条件",
    "conditions": "検索条件",
    "up_to": "記録番号（まで）",
    "reception_no": "受付番号",
    "receipt": "領収番号",
    "slip_nos": "納付番号（一覧）",
    "approval": "決裁番号",
    "overpayment_accepted": "過誤納金として受入れ",
    "has_more": "上限超過",
    "partial": "一部表示",
    "page": "頁",
    "purpose_label": "目的",
    "reason": "理由",
    "note": "備考",
    "comment": "コメント",
    "username": "入力ユーザー名",
    "known_user": "登録済みユーザー",
    "stage": "段階",
    "request": "決裁番号",
    "requests": "決裁番号",
    "requested_by": "申請者",
    "payload": "内容",
    "before": "変更前",
    "after": "変更後",
    "operation": "処理",
    "kind": "種別",
    "status": "状態",
    "ok": "結果",
    "problems": "問題",
    "problem": "問題",
    "clerk": "取扱者",
    "role": "職務",
    "right": "権限",
    "granted": "付与",
    "revision": "履歴番号",
    "set_reason": "送付先を設定する理由",
    "valid_from": "登録年月日",
    "valid_until": "利用廃止年月日",
    "date_from": "期間（開始）",
    "date_to": "期間（終了）",
    "function": "機能",
}

# Coded values that are not the choices of a model field.
VALUE_LABELS: dict[str, str] = {
    "all": "すべて",
    "otp": "ワンタイムパスワード",
    "password": "パスワード",
    "save": "登録・変更",
    "end": "終了",
}

# Keys whose values are yen: shown with separators.
AMOUNT_KEYS = frozenset(
    {
        "amount",
        "amount_total",
        "amount_posted",
        "amount_overpaid",
        "amount_suspense",
        "amount_reversed",
        "amount_levied",
        "amount_corrected",
        "principal",
        "principal_paid",
        "principal_outstanding",
        "late_charge_accrued",
        "outstanding",
        "levied",
        "paid",
    }
)


def register_keys(labels: Mapping[str, str], *, replace: bool = False) -> None:
    """Add the Japanese names of an app's keys (``replace``: also over existing names)."""
    for key, label in labels.items():
        if replace or key not in KEY_LABELS:
            KEY_LABELS[key] = label


def register_values(choices: Iterable[tuple[object, object]]) -> None:
    """Add coded values and their labels (e.g. a ``TextChoices.choices``); the first name wins."""
    for value, label in choices:
        if isinstance(value, str) and value not in VALUE_LABELS:
            VALUE_LABELS[value] = str(label)


def key_label(key: str) -> str:
    """The Japanese name of ``key`` (the key itself when nobody named it: the guard test finds it)."""
    return KEY_LABELS.get(key, key)


_CODE = re.compile(r"[a-z][a-z0-9_-]*")


def value_label(value: str) -> str:
    """The Japanese name of a coded value (``taxpayer_edit`` → 宛名情報の訂正, ``eltax`` →
    地方税共通納税); anything not written like a code (names, digits such as 「01」) unchanged."""
    if not _CODE.fullmatch(value):
        return value
    return VALUE_LABELS.get(value, value)


def register_models(models: Iterable[type]) -> None:
    """Name the fields and choices of every model: its Japanese ``verbose_name``, its choices."""
    for model in models:
        for field in model._meta.get_fields():  # type: ignore[attr-defined]
            verbose = str(getattr(field, "verbose_name", "") or "")
            name = getattr(field, "name", "")
            if name and verbose and not verbose.isascii():
                register_keys({name: verbose})
            choices = getattr(field, "choices", None)
            if choices:
                register_values(choices)
