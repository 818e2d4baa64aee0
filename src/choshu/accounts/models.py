"""Staff users and their roles."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    """Function-level roles (職務). What each may do is defined in ``choshu.accounts.permissions``."""

    CLERK = "clerk", "収納担当職員"
    CASE_OFFICER = "case_officer", "滞納整理担当職員"
    CHIEF = "chief", "課長・係長"
    WINDOW_CONTRACTOR = "window_contractor", "窓口委託事業者"
    CALLCENTER_OPERATOR = "callcenter_operator", "納税催告センター オペレーター"
    SUPPORT_CONTRACTOR = "support_contractor", "システム保守事業者"
    AUDITOR = "auditor", "監査担当"


class User(AbstractUser):
    """A member of staff (職員) or of an outsourced contractor, bound to one municipality and team."""

    municipality = models.ForeignKey(
        "core.Municipality", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField("職務", max_length=30, choices=Role.choices, default=Role.CLERK)
    team = models.CharField("班", max_length=50, blank=True)
    display_name = models.CharField("氏名", max_length=100, blank=True)

    class Meta:
        verbose_name = "職員"

    def __str__(self) -> str:
        return self.display_name or self.username


class UserRight(models.Model):
    """A section chief's change to one user's rights on top of the role's defaults (権限の付与・取消).

    ``granted`` True adds a right the role does not have by default; False withdraws a default one.
    The effective rights are the role's defaults with these overrides applied, never beyond the
    role's ceiling (``permissions.ROLE_CEILING``): an outsourced operator can never be given My Number.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="right_overrides")
    right = models.CharField("権限", max_length=40)
    granted = models.BooleanField("付与")
    changed_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = "権限の個別設定"
        constraints = [models.UniqueConstraint(fields=["user", "right"], name="user_right_unique")]

    def __str__(self) -> str:
        return f"{self.user} {'+' if self.granted else '-'}{self.right}"


class RightChange(models.Model):
    """権限変更の記録 — every grant, revocation and role change, for the rights-change report."""

    class Action(models.TextChoices):
        CREATE = "create", "利用者登録"
        GRANT = "grant", "付与"
        REVOKE = "revoke", "取消"
        ROLE = "role", "職務変更"
        DEACTIVATE = "deactivate", "利用停止"

    municipality = models.ForeignKey(
        "core.Municipality", null=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="right_changes")
    action = models.CharField(max_length=20, choices=Action.choices)
    right = models.CharField("権限", max_length=40, blank=True)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    reason = models.CharField("理由", max_length=200, blank=True)
    changed_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "権限変更履歴"
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d} {self.user} {self.action} {self.right}"
