from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "choshu.cases"
    label = "cases"
    verbose_name = "滞納整理"

    def ready(self) -> None:
        # The timeline's providers for the data of the apps below (dunning, receipts) and the labels
        # of the audit details this app writes.
        from choshu.cases import providers
        from choshu.core.labels import register_keys

        providers.register_all()
        register_keys(providers.LABELS)
