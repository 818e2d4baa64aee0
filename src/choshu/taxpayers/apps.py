from django.apps import AppConfig


class TaxpayersConfig(AppConfig):
    name = "choshu.taxpayers"
    label = "taxpayers"
    verbose_name = "宛名"

    def ready(self) -> None:
        from choshu.taxpayers import changes  # noqa: F401  (registers the approval handlers)
