from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "choshu.web"
    label = "web"
    verbose_name = "画面"
