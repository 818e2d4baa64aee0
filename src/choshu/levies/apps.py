from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


def _seed_new_municipality(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new municipality starts with the default tax items (``levies.tax_items``)."""
    if created and not raw:
        from choshu.levies.models import TaxItem, TaxItemBreakdown  # noqa: PLC0415 - apps not ready at import
        from choshu.levies.tax_items import forget_catalog, seed_tax_items  # noqa: PLC0415

        seed_tax_items(instance.pk, TaxItem, TaxItemBreakdown)
        forget_catalog()


class LeviesConfig(AppConfig):
    name = "choshu.levies"
    label = "levies"
    verbose_name = "調定・期別・元帳"

    def ready(self) -> None:
        from choshu.core.models import Municipality  # noqa: PLC0415

        post_save.connect(_seed_new_municipality, sender=Municipality, dispatch_uid="levies-seed-tax-items")
