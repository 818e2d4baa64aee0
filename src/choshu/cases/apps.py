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
        from choshu.cases.plan_hooks import follow_plans
        from choshu.plans.signals import plan_status_changed

        plan_status_changed.connect(follow_plans, dispatch_uid="cases.follow_plans")
        register_keys(providers.LABELS)
