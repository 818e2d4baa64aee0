from django.apps import AppConfig


class ReceiptsConfig(AppConfig):
    name = "choshu.receipts"
    label = "receipts"
    verbose_name = "収納"

    def ready(self) -> None:
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS
        from choshu.receipts.services import _apply_suspense_assign

        HANDLERS[RequestKind.SUSPENSE_ASSIGN] = _apply_suspense_assign
