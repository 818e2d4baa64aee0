from django.apps import AppConfig, apps


class CoreConfig(AppConfig):
    name = "choshu.core"
    label = "core"
    verbose_name = "基盤"

    def ready(self) -> None:
        # Every model is loaded now: name its fields and choices for screens (``core.labels``).
        from choshu.core.labels import register_models

        register_models(m for m in apps.get_models() if m.__module__.startswith("choshu."))
