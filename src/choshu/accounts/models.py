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
