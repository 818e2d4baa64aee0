from django.apps import AppConfig


class DebitsConfig(AppConfig):
    name = "choshu.debits"
    label = "debits"
    verbose_name = "口座振替"

    def ready(self) -> None:
        # How an approved 口座振替依頼 takes effect, and the Zengin result file as a payment channel.
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import CLOSERS, HANDLERS, register_field_labels
        from choshu.debits.results import register_channel
        from choshu.debits.services import REQUEST_LABELS, _apply_mandate, _close_mandate

        HANDLERS[RequestKind.DIRECT_DEBIT_MANDATE] = _apply_mandate
        CLOSERS[RequestKind.DIRECT_DEBIT_MANDATE] = _close_mandate
        register_field_labels(RequestKind.DIRECT_DEBIT_MANDATE, lambda name: REQUEST_LABELS.get(name, name))
        register_channel()
        # Its steps on the case file's timeline (core.timeline; issue 17 §5).
        from choshu.debits import timeline

        timeline.register()
