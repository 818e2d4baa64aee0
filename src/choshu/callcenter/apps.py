from django.apps import AppConfig


class CallcenterConfig(AppConfig):
    name = "choshu.callcenter"
    label = "callcenter"
    verbose_name = "納税催告センター"
