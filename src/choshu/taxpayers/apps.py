from django.apps import AppConfig


class TaxpayersConfig(AppConfig):
    name = "choshu.taxpayers"
    label = "taxpayers"
    verbose_name = "宛名"

    def ready(self) -> None:
        # Imported here, not at the top: these modules import models, which may not be loaded before
        # the app registry is ready. Importing ``changes`` / ``mailing_changes`` registers the approval
        # handlers and field labels; the 支援措置 flags go on every audit record about a protected person
        # (security.md).
        from choshu.audit.services import register_subject_flags
        from choshu.taxpayers import changes, mailing_changes  # noqa: F401
        from choshu.taxpayers.protection import access_flags

        register_subject_flags(access_flags)
