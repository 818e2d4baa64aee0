from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Operations across the domain apps: the synthetic city, the demo, the retention purge, backups and
    the disclosure export. The top of the domain layers: it may read and write every app below it, and
    no app below imports it."""

    name = "choshu.operations"
    label = "operations"
    verbose_name = "運用"

    def ready(self) -> None:
        # Registers the approval handler of a purge request (``RequestKind.PURGE``).
        from choshu.operations import retention  # noqa: F401
