"""収納 (payments): what arrived, through which channel, and the ledger transaction it became."""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    CONVENI = "conveni", "コンビニ"
    BANK = "bank", "金融機関"
    ELTAX = "eltax", "地方税共通納税"
    DIRECT_DEBIT = "direct_debit", "口座振替"
    COUNTER = "counter", "窓口"
    SEED = "seed", "移行データ"


class Payment(models.Model):
    """納付 — one amount received: channel, amount, 領収日 (``paid_on``) and 日計日 (``booked_on``).

    ``reference`` is the channel's natural key (eLTAX transaction id, conveni barcode+time+store, …),
    unique per channel, so the same record imported twice is recognised. Reconciliation turns a payment
    into a ledger transaction: allocations + overpayment + suspense = amount, always.
    """

    municipality = models.ForeignKey("core.Municipality", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField("収納経路", max_length=20, choices=Channel.choices)
    reference = models.CharField("参照キー", max_length=120)
    taxpayer = models.ForeignKey("taxpayers.Taxpayer", null=True, blank=True, on_delete=models.PROTECT)
    amount = models.BigIntegerField("金額")
    paid_on = models.DateField("領収日")
    booked_on = models.DateField("収納日(日計日)")
    slip_no = models.CharField("納付番号", max_length=16, blank=True)
    txn = models.ForeignKey("levies.LedgerTransaction", null=True, blank=True, on_delete=models.PROTECT)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "収納"
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "channel", "reference"], name="payment_ref_unique"
            ),
        ]
        indexes = [models.Index(fields=["municipality", "taxpayer"], name="payment_taxpayer_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.amount}円 {self.paid_on}"
