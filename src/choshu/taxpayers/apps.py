from django.apps import AppConfig


class TaxpayersConfig(AppConfig):
    name = "choshu.taxpayers"
    label = "taxpayers"
    verbose_name = "宛名"
