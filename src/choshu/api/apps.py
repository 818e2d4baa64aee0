from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "choshu.api"
    label = "api"
    verbose_name = "庁内連携API"
