"""Reads of the refund records for other screens (the person page)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch

from choshu.refunds.models import Appropriation, Overpayment, Refund, RefundNotice


def person_overpayments(*, taxpayer_ids: Sequence[int]) -> list[Overpayment]:
    """The overpayments of these 宛名 with their appropriations, refunds and notices (a fixed number of
    queries), newest first: each step of 過誤納 → 充当 → 還付 for the person page and its timeline."""
    return list(
        Overpayment.objects.filter(taxpayer_id__in=list(taxpayer_ids))
        .select_related("taxpayer")
        .prefetch_related(
            Prefetch(
                "appropriations",
                queryset=Appropriation.objects.select_related("installment__levy").order_by("pk"),
            ),
            Prefetch("refunds", queryset=Refund.objects.select_related("account").order_by("pk")),
            Prefetch("notices", queryset=RefundNotice.objects.order_by("pk")),
        )
        .order_by("-arose_on", "-pk")
    )
