from django.apps import AppConfig


class ReceiptsConfig(AppConfig):
    name = "choshu.receipts"
    label = "receipts"
    verbose_name = "収納"

    def ready(self) -> None:
        # Imported here, not at the top: services import models, which may not be loaded before the
        # app registry is ready. Registers how an approved 未消込の充当先指定 takes effect.
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS
        from choshu.receipts.services import _apply_suspense_assign

        HANDLERS[RequestKind.SUSPENSE_ASSIGN] = _apply_suspense_assign
