"""Staff accounts: creation with a second factor, rights granted and revoked by section chiefs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from choshu.accounts.models import RightChange, Role, User, UserRight
from choshu.accounts.permissions import ROLE_CEILING, ROLE_DEFAULTS, Right, effective_rights, has_right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_record
from choshu.core.models import Municipality


@dataclass(frozen=True)
class CreatedUser:
    user: User
    otpauth_uri: str


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    municipality: Municipality,
    team: str = "",
    display_name: str = "",
    actor: User | None = None,
) -> CreatedUser:
    """Create a staff account with a TOTP device (the IC-card equivalent second factor).

    The provisioning URI (``otpauth://…``) is returned once for the person to register in an
    authenticator app; it is not shown again. ``actor`` is None only for the bootstrap command.
    """
    if role not in Role.values:
        raise ValidationError(f"職務 {role!r} は定義されていません（{', '.join(Role.values)}）")
    if actor is not None:
        _check_admin(actor, municipality)
    if User.objects.filter(username=username).exists():
        raise ValidationError(f"利用者ID {username} は登録済みです")
    user = User(
        username=username,
        role=role,
        team=team,
        display_name=display_name or username,
        municipality=municipality,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    now = timezone.now()
    RightChange.objects.create(
        municipality=municipality,
        user=user,
        action=RightChange.Action.CREATE,
        after=f"{Role(role).label} / " + ",".join(sorted(ROLE_DEFAULTS.get(role, frozenset()))),
        changed_by=actor,
        changed_at=now,
        reason="利用者登録",
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="利用者登録",
        municipality=municipality,
        user=actor,
        subject_type=AuditSubjectType.USER,
        subject_ids=[user.pk],
        detail={"username": username, "role": role},
    )
    return CreatedUser(user=user, otpauth_uri=device.config_url)


def _check_admin(actor: User, municipality: Municipality | None) -> None:
    if not has_right(actor, Right.RIGHTS_ADMIN):
        raise PermissionDenied("権限を変更できるのは課長・係長（権限管理の権限を持つ職員）だけです")
    if municipality is not None and actor.municipality_id != municipality.pk:
        raise PermissionDenied("他の自治体の利用者は変更できません")


@transaction.atomic
def right_set(*, actor: User, user: User, right: str, granted: bool, reason: str) -> User:
    """Grant or revoke one right for one user (記録が権限変更報告に載る). Nobody changes their own rights."""
    _check_admin(actor, user.municipality)
    if actor.pk == user.pk:
        raise PermissionDenied("自分自身の権限は変更できません（別の管理者に依頼してください）")
    if right not in Right.values:
        raise ValidationError(f"権限 {right!r} は定義されていません")
    if granted and right not in ROLE_CEILING.get(user.role, frozenset()):
        raise ValidationError(
            f"{Role(user.role).label} には「{Right(right).label}」を付与できません（契約・職務の範囲外）"
        )
    if not reason.strip():
        raise ValidationError("変更理由を入力してください")
    before = right in effective_rights(user)
    if before == granted:
        raise ValidationError("権限は既にその状態です")
    default = right in ROLE_DEFAULTS.get(user.role, frozenset())
    now = timezone.now()
    if granted == default:
        UserRight.objects.filter(user=user, right=right).delete()
    else:
        UserRight.objects.update_or_create(
            user=user, right=right, defaults={"granted": granted, "changed_by": actor, "changed_at": now}
        )
    RightChange.objects.create(
        municipality=user.municipality,
        user=user,
        action=RightChange.Action.GRANT if granted else RightChange.Action.REVOKE,
        right=right,
        before="有" if before else "無",
        after="有" if granted else "無",
        reason=reason,
        changed_by=actor,
        changed_at=now,
    )
    audit_record(
        kind=AuditKind.CHANGE,
        function="権限変更",
        municipality=user.municipality,
        user=actor,
        subject_type=AuditSubjectType.USER,
        subject_ids=[user.pk],
        detail={"username": user.username, "right": right, "granted": granted, "reason": reason},
    )
    if hasattr(user, "_choshu_rights"):
        del user._choshu_rights
    return user


def rights_review(*, municipality: Municipality) -> list[dict[str, Any]]:
    """権限一覧（定期棚卸し用）: every account of the municipality with its role, team and effective rights."""
    rows = []
    for user in User.objects.filter(municipality=municipality).order_by("username"):
        rights = effective_rights(user)
        rows.append(
            {
                "username": user.username,
                "display_name": user.display_name,
                "role": Role(user.role).label,
                "team": user.team,
                "active": user.is_active,
                "last_login": user.last_login.isoformat() if user.last_login else "",
                "rights": [Right(r).label for r in Right.values if r in rights],
            }
        )
    return rows
