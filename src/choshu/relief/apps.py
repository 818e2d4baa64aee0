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
        from choshu.levies.exemptions import register_exemption_source

        register_exemption_source(relief.relief_exemptions)  # 法15条の9: the 延滞金 during a relief
        register_field_labels(RequestKind.RELIEF, lambda name: relief.REQUEST_LABELS.get(name, name))
        from choshu.core.labels import register_keys, register_values
        from choshu.relief.models import (
            ExtinctionReason,
            ReliefGround,
            ReliefKind,
            ReliefStatus,
            WriteOffStatus,
        )

        register_keys(
            {
                "relief": "緩和制度",
                "action": "内容",
                "months": "月数",
                "batch": "不納欠損の起案番号",
                "batch_id": "起案番号",
                "request_id": "決裁番号",
                "principal": "本税",
                "late_charge": "延滞金",
                "dunning_fee": "督促手数料",
                "total": "合計",
                "fiscal_year": "会計年度",
                "extinguished": "消滅した期別",
                "warned": "消滅が近い期別",
                "warned_amount": "消滅が近い本税",
                "warn_until": "警告の期限",
                "warn_months": "警告の月数",
                "by_reason": "事由別",
                "candidates": "判定した期別",
                "start": "開始日",
                "cancelled_on": "取消日",
                "booked": "計上額",
            }
        )
        for choices in (ExtinctionReason, ReliefGround, ReliefKind, ReliefStatus, WriteOffStatus):
            register_values(choices.choices)
