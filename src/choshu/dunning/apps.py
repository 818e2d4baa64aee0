from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "choshu.dunning"
    label = "dunning"
    verbose_name = "督促"

    def ready(self) -> None:
        # Registers how an approved 督促停止（手動） takes effect (services import models).
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS, register_field_labels
        from choshu.dunning.services import REQUEST_LABELS, _apply_manual_suppression

        HANDLERS[RequestKind.DUNNING_SUPPRESSION] = _apply_manual_suppression
        register_field_labels(RequestKind.DUNNING_SUPPRESSION, lambda name: REQUEST_LABELS.get(name, name))
