from django.apps import AppConfig


class ReliefConfig(AppConfig):
    name = "choshu.relief"
    label = "relief"
    verbose_name = "時効・不納欠損・緩和制度"

    def ready(self) -> None:
        # Registers how an approved 不納欠損 and 緩和制度 take effect (write_off imports the models).
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS, register_field_labels
        from choshu.relief import relief, write_off

        HANDLERS[RequestKind.WRITE_OFF] = write_off.apply_write_off
        register_field_labels(RequestKind.WRITE_OFF, lambda name: write_off.REQUEST_LABELS.get(name, name))
        HANDLERS[RequestKind.RELIEF] = relief.apply_relief
        register_field_labels(RequestKind.RELIEF, lambda name: relief.REQUEST_LABELS.get(name, name))
