from django.apps import AppConfig


class LeviesConfig(AppConfig):
    name = "choshu.levies"
    label = "levies"
    verbose_name = "調定・期別・元帳"
