from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "choshu.accounts"
    label = "accounts"
    verbose_name = "職員・権限"

    def ready(self) -> None:
        # Imported here, not at the top: receivers are connected once the app registry is ready (a
        # module-level import of the models would run before it). Connects the login / logout /
        # failed-login receivers that write the audit log.
        from choshu.accounts import signals  # noqa: F401
