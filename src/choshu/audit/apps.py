from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "choshu.audit"
    label = "audit"
    verbose_name = "監査ログ"

    def ready(self) -> None:
        # Connects the login / logout / failed-login receivers.
        from choshu.audit import signals  # noqa: F401
