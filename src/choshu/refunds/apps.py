from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "choshu.refunds"
    label = "refunds"
    verbose_name = "過誤納・充当・還付"

    def ready(self) -> None:
        # Registers how an approved 還付決議 or 還付口座 takes effect (services import models). Both are
        # requests of kind REFUND (BANK_ACCOUNT is left to the direct-debit accounts); the payload's
        # ``step`` says which.
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS, register_field_labels
        from choshu.core.labels import register_keys
        from choshu.refunds.services import LABELS, apply_request

        HANDLERS[RequestKind.REFUND] = apply_request
        register_field_labels(RequestKind.REFUND, lambda name: LABELS.get(name, name))
        register_keys(LABELS)
        # Its steps on the case file's timeline (core.timeline; issue 16 §6).
        from choshu.refunds import timeline

        timeline.register()
        # A payment reversed after its overpayment was appropriated or refunded (receipts' hook).
        from choshu.receipts.engine import REVERSAL_HOOKS
        from choshu.refunds.services import on_payments_reversed

        if on_payments_reversed not in REVERSAL_HOOKS:
            REVERSAL_HOOKS.append(on_payments_reversed)
