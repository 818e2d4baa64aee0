from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "choshu.plans"
    label = "plans"
    verbose_name = "分納誓約"

    def ready(self) -> None:
        # A pledge is an acknowledgement of the debt (民法152条 via 地方税法18条3項): the prescription
        # run and the person page read it through relief's registry. The timeline shows the plans.
        from choshu.core.labels import register_keys, register_values
        from choshu.core.timeline import register_provider
        from choshu.plans import services, timeline
        from choshu.plans.models import InstalmentStatus, PlanMethod, PlanStatus
        from choshu.relief.prescription import register_event_source

        register_event_source(services.pledge_events)
        register_provider("plan", "分納", timeline.plan_events, order=60)
        register_keys(services.LABELS)
        for choices in (PlanStatus, PlanMethod, InstalmentStatus):
            register_values(choices.choices)
