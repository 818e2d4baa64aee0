from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    name = "choshu.enforcement"
    label = "enforcement"
    verbose_name = "滞納処分"

    def ready(self) -> None:
        # How an approved 滞納処分 takes effect (決裁 ``enforcement``), its timeline events and labels.
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import CLOSERS, HANDLERS, register_field_labels
        from choshu.core.labels import register_keys, register_values
        from choshu.enforcement import services, timeline
        from choshu.enforcement.models import (
            AssetKind,
            ClaimKind,
            ClaimStatus,
            CollectionStatus,
            CostKind,
            ProceedingKind,
            SeizureStatus,
        )

        HANDLERS[RequestKind.ENFORCEMENT] = services.apply_enforcement
        CLOSERS[RequestKind.ENFORCEMENT] = services.close_enforcement
        register_field_labels(RequestKind.ENFORCEMENT, lambda name: services.REQUEST_LABELS.get(name, name))
        timeline.register()
        from choshu.core.casefile import register_section
        from choshu.enforcement.views import case_section

        register_section("enforcement", case_section, order=50)
        register_keys(
            {
                "seizure": "差押の番号",
                "collection": "取立の番号",
                "executed_on": "差押日",
                "served_on": "送達日",
                "released_on": "解除日",
                "received_on": "受領日",
                "payments": "収納",
                "notified_on": "告知日",
                "new_due_date": "繰上げ後の納期限",
                "exempt": "差押禁止額",
            }
        )
        for choices in (
            AssetKind,
            SeizureStatus,
            CollectionStatus,
            ClaimKind,
            ClaimStatus,
            ProceedingKind,
            CostKind,
        ):
            register_values(choices.choices)
