"""Function-level rights (機能別権限) per role, with per-user overrides granted by section chiefs.

The privacy impact assessment (section III) promises that only collection staff use the systems,
with rights per function granted and revoked by the section chiefs, and that outsourced parties see
only what their contract needs. Each role therefore has a default set of rights and a ceiling that no
grant can exceed. Views and commands check ``has_right(user, Right.X)``; selectors restrict the data
to the user's municipality (and team, where a function is team-scoped).
"""

from __future__ import annotations

from django.db import models

from choshu.accounts.models import Role, User


class Right(models.TextChoices):
    TAXPAYER_SEARCH = "taxpayer_search", "宛名検索"
    TAXPAYER_VIEW = "taxpayer_view", "宛名・収納状況の照会"
    TAXPAYER_EDIT = "taxpayer_edit", "宛名情報の入力・訂正"
    MY_NUMBER_REVEAL = "my_number_reveal", "個人番号の表示（番号利用事務）"
    PROTECTED_ADDRESS_VIEW = "protected_address_view", "支援措置対象者の住所の表示"
    APPROVE = "approve", "決裁（二人目の確認）"
    RIGHTS_ADMIN = "rights_admin", "権限の付与・取消"
    RIGHTS_REPORT = "rights_report", "権限変更・権限一覧の出力"
    DISCLOSURE_EXPORT = "disclosure_export", "開示請求に係る出力"
    AUDIT_VIEW = "audit_view", "アクセスログの閲覧"
    BACKUP = "backup", "バックアップ・復元"
    PURGE = "purge", "保存期間経過データの削除"
    OPERATIONS = "operations", "システム運用（個人情報なし）"
    COUNTER_RECEIPT = "counter_receipt", "窓口収納"
    PAYMENT_REVERSE = "payment_reverse", "収納の取消"
    SUSPENSE_WORK = "suspense_work", "未消込の処理"
    DAILY_TOTAL = "daily_total", "日計表の照会・出力"
    MUNICIPALITY_SETTINGS = "municipality_settings", "団体設定（収納代行・収納機関の番号）"
    SLIP_ISSUE = "slip_issue", "納付書の発行・再発行"
    IMPORT_FILES = "import_files", "ファイル取込（宛名・調定・収納）と取込履歴"
    DUNNING_RUN = "dunning_run", "督促状の一括発付"
    DUNNING_SUPPRESS = "dunning_suppress", "督促停止の登録・終了"
    REMINDER_LIST = "reminder_list", "催告対象リストの作成・確認"
    REFUND_WORK = "refund_work", "過誤納・充当・還付の処理（還付決議・口座の入力・振込ファイル）"
    CASE_WORK = "case_work", "滞納整理（担当班の滞納案件・経過記録）"
    CASE_MANAGE = "case_manage", "滞納案件の全班照会・担当替え"
    WRITE_OFF = "write_off", "不納欠損の起案・決算一覧"
    RELIEF = "relief", "緩和制度（徴収猶予・換価の猶予・執行停止）の起案"
    ENFORCEMENT = "enforcement", "滞納処分（財産調査・差押・取立・解除）の起案"
    REPORTS_VIEW = "reports_view", "決算・繰越の照会と出力（集計値のみ）"
    CERTIFICATE_ISSUE = "certificate_issue", "納税証明書の発行・照合"
    CALLCENTER_CALL = "callcenter_call", "納税催告センター: 当月の架電対象の照会と架電結果の入力（委託先）"
    CALLCENTER_MANAGE = "callcenter_manage", "納税催告センター: 抽出条件・対象者の出力・結果の取込・月次報告"


_STAFF = {Right.TAXPAYER_SEARCH, Right.TAXPAYER_VIEW, Right.TAXPAYER_EDIT, Right.SLIP_ISSUE}
_RECEIPTS = {Right.COUNTER_RECEIPT, Right.PAYMENT_REVERSE, Right.SUSPENSE_WORK, Right.DAILY_TOTAL}

# What each role has unless a chief changes it.
ROLE_DEFAULTS: dict[str, frozenset[str]] = {
    Role.CLERK: frozenset(
        _STAFF | _RECEIPTS | {Right.DUNNING_SUPPRESS, Right.REFUND_WORK, Right.CERTIFICATE_ISSUE}
    ),
    Role.CASE_OFFICER: frozenset(
        _STAFF
        | {
            Right.MY_NUMBER_REVEAL,
            Right.COUNTER_RECEIPT,
            Right.DAILY_TOTAL,
            Right.DUNNING_SUPPRESS,
            Right.REMINDER_LIST,
            Right.CASE_WORK,
            Right.RELIEF,
            Right.ENFORCEMENT,
        }
    ),
    Role.CHIEF: frozenset(
        _STAFF
        | _RECEIPTS
        | {
            Right.MUNICIPALITY_SETTINGS,
            Right.MY_NUMBER_REVEAL,
            Right.APPROVE,
            Right.RIGHTS_ADMIN,
            Right.RIGHTS_REPORT,
            Right.DISCLOSURE_EXPORT,
            Right.IMPORT_FILES,
            Right.DUNNING_RUN,
            Right.DUNNING_SUPPRESS,
            Right.REMINDER_LIST,
            Right.REFUND_WORK,
            Right.CASE_WORK,
            Right.CASE_MANAGE,
            Right.WRITE_OFF,
            Right.RELIEF,
            Right.ENFORCEMENT,
            Right.REPORTS_VIEW,
            Right.CERTIFICATE_ISSUE,
            Right.CALLCENTER_MANAGE,
        }
    ),
    Role.WINDOW_CONTRACTOR: frozenset({Right.TAXPAYER_SEARCH, Right.TAXPAYER_VIEW, Right.COUNTER_RECEIPT}),
    # Only its own pages (callcenter.middleware confines the role to them whatever it is granted).
    Role.CALLCENTER_OPERATOR: frozenset({Right.CALLCENTER_CALL}),
    Role.SUPPORT_CONTRACTOR: frozenset({Right.OPERATIONS}),
    Role.AUDITOR: frozenset({Right.AUDIT_VIEW, Right.RIGHTS_REPORT}),
}

# The most a chief may grant to each role (outsourced roles never reach personal data beyond contract).
ROLE_CEILING: dict[str, frozenset[str]] = {
    Role.CLERK: frozenset(
        _STAFF
        | _RECEIPTS
        | {
            Right.MY_NUMBER_REVEAL,
            Right.APPROVE,
            Right.DISCLOSURE_EXPORT,
            Right.PROTECTED_ADDRESS_VIEW,
            Right.IMPORT_FILES,
            Right.DUNNING_RUN,
            Right.DUNNING_SUPPRESS,
            Right.REMINDER_LIST,
            Right.REFUND_WORK,
            Right.CERTIFICATE_ISSUE,
        }
    ),
    Role.CASE_OFFICER: frozenset(
        _STAFF
        | _RECEIPTS
        | {
            Right.MY_NUMBER_REVEAL,
            Right.APPROVE,
            Right.DISCLOSURE_EXPORT,
            Right.PROTECTED_ADDRESS_VIEW,
            Right.DUNNING_SUPPRESS,
            Right.REMINDER_LIST,
            Right.CASE_WORK,
            Right.CASE_MANAGE,
            Right.RELIEF,
            Right.ENFORCEMENT,
            Right.CERTIFICATE_ISSUE,
            Right.CALLCENTER_MANAGE,
        }
    ),
    # The call-centre operator's right is the contractor's, not staff work.
    Role.CHIEF: frozenset(Right.values) - {Right.OPERATIONS, Right.CALLCENTER_CALL},
    Role.WINDOW_CONTRACTOR: frozenset({Right.TAXPAYER_SEARCH, Right.TAXPAYER_VIEW, Right.COUNTER_RECEIPT}),
    # Only its own pages (callcenter.middleware confines the role to them whatever it is granted).
    Role.CALLCENTER_OPERATOR: frozenset({Right.CALLCENTER_CALL}),
    Role.SUPPORT_CONTRACTOR: frozenset({Right.OPERATIONS, Right.BACKUP}),
    Role.AUDITOR: frozenset({Right.AUDIT_VIEW, Right.RIGHTS_REPORT}),
}

# Kept for callers written against the first version of this module.
ROLE_RIGHTS = ROLE_DEFAULTS


def effective_rights(user: User) -> frozenset[str]:
    """The role's defaults with the chief's overrides applied, capped by the role's ceiling."""
    cached = getattr(user, "_choshu_rights", None)
    if cached is not None:
        return cached
    rights = set(ROLE_DEFAULTS.get(user.role, frozenset()))
    if user.pk is not None:
        for right, granted in user.right_overrides.values_list("right", "granted"):
            (rights.add if granted else rights.discard)(right)
    result = frozenset(rights & ROLE_CEILING.get(user.role, frozenset()))
    user._choshu_rights = result  # type: ignore[attr-defined]
    return result


def has_right(user: User, right: str) -> bool:
    """True when a signed-in, active member of a municipality holds ``right``."""
    if not user.is_authenticated or not user.is_active or user.municipality_id is None:
        return False
    verified = getattr(user, "is_verified", None)  # set by OTPMiddleware on request.user
    if verified is not None and not verified():
        return False
    return right in effective_rights(user)
