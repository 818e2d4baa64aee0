from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "choshu.dunning"
    label = "dunning"
    verbose_name = "督促"

    def ready(self) -> None:
        # Registers how an approved 督促停止（手動） takes effect (services import models).
        from choshu.approvals.models import RequestKind
        from choshu.approvals.services import HANDLERS, register_field_labels
        from choshu.core.labels import register_keys
        from choshu.dunning.services import REQUEST_LABELS, _apply_manual_suppression

        HANDLERS[RequestKind.DUNNING_SUPPRESSION] = _apply_manual_suppression
        register_field_labels(RequestKind.DUNNING_SUPPRESSION, lambda name: REQUEST_LABELS.get(name, name))
        register_keys(
            {
                "suppression": "督促停止",
                "installment": "期別",
                "installment_id": "期別（内部番号）",
                "ended_at": "終了日時",
                "candidates": "督促対象の期別",
                "suppressed": "督促停止中の期別",
                "issued": "発付した督促状",
                "blocked": "庁内印刷（支援措置）",
                "fee_total": "督促手数料の合計",
                "principal_total": "本税の合計",
                "late_charge_total": "延滞金の合計",
                "batch_id": "一括発付番号",
                # 返戻・公示送達 (dunning.returned)
                "registered": "登録件数",
                "suppressions": "督促停止の件数",
                "returned": "返戻した督促状",
                "notice": "督促状",
                "suppression_ids": "督促停止（内部番号）",
                "on": "基準日",
                "checked": "確認した返戻",
                "cleared": "宛先が変わった返戻",
                "added": "追加した督促停止",
                "seizure_from": "差押可能日",
                "returned_mail": "返戻の宛先確認",
            }
        )
        from choshu.dunning.print_data import LABELS as PRINT_LABELS

        register_keys(PRINT_LABELS)
