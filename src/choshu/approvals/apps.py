from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "choshu.approvals"
    label = "approvals"
    verbose_name = "決裁"
