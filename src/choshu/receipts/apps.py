from django.apps import AppConfig


class ReceiptsConfig(AppConfig):
    name = "choshu.receipts"
    label = "receipts"
    verbose_name = "収納"

    def ready(self) -> None:
        # Imported here, not at the top: services import models, which may not be loaded before the
        # app registry is ready. Registers how an approved 未消込の充当先指定 takes effect.
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS, register_field_labels
        from choshu.receipts.services import (
            REQUEST_LABELS,
            _apply_counter_backdated,
            _apply_payment_reversal,
            _apply_suspense_assign,
        )

        HANDLERS[RequestKind.SUSPENSE_ASSIGN] = _apply_suspense_assign
        HANDLERS[RequestKind.COUNTER_BACKDATED] = _apply_counter_backdated
        HANDLERS[RequestKind.PAYMENT_REVERSAL] = _apply_payment_reversal
        for kind in (RequestKind.COUNTER_BACKDATED, RequestKind.PAYMENT_REVERSAL):
            register_field_labels(kind, lambda name: REQUEST_LABELS.get(name, name))
