from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "choshu.reports"
    label = "reports"
    verbose_name = "決算・繰越・納税証明書"

    def ready(self) -> None:
        from choshu.core.labels import register_keys, register_values
        from choshu.reports.models import Category, CertificateKind

        register_keys(
            {
                "fiscal_year": "会計年度",
                "closed": "締め済み",
                "already": "締め済み（変更なし）",
                "rows": "行数",
                "carried_outstanding": "繰越した収入未済額",
                "certificate_no": "証明書番号",
                "certificate_kind": "証明書の種類",
                "fee": "手数料",
                "fee_source": "手数料の根拠",
                "purpose": "使用目的",
                "years": "年度",
                "unpaid": "未納額",
                "vehicle_no": "車両番号",
                "valid_until": "有効期限",
                "verified": "照合結果",
                "format": "形式",
            }
        )
        for choices in (Category, CertificateKind):
            register_values(choices.choices)
