from django.apps import AppConfig


class StdlinkConfig(AppConfig):
    name = "choshu.stdlink"
    label = "stdlink"
    verbose_name = "標準連携（統合収納⇄統合滞納）"
