from django.apps import AppConfig


class TaxpayersConfig(AppConfig):
    name = "choshu.taxpayers"
    label = "taxpayers"
    verbose_name = "宛名"

    def ready(self) -> None:
        # Imported here, not at the top: changes.py imports models, which may not be loaded before the
        # app registry is ready. Importing it registers the approval handlers and field labels.
        from choshu.taxpayers import changes, mailing_changes  # noqa: F401
