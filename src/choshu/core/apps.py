from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "choshu.core"
    label = "core"
    verbose_name = "基盤"
