from django.apps import AppConfig


class ReceiptsConfig(AppConfig):
    name = "choshu.receipts"
    label = "receipts"
    verbose_name = "収納"
