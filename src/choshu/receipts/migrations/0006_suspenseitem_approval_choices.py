"""未消込 → 決裁: a foreign key, filled from each suspense-assignment request's ``suspense_item``.

Before, the assignment was found through its transaction's memo (``未消込充当 決裁#<id>``). An item may
have had several requests (one refused, then another): the approved one wins, else the latest.
"""

import django.db.models.deletion
from django.db import migrations, models


def link_approvals(apps, schema_editor):  # type: ignore[no-untyped-def]
    ChangeRequest = apps.get_model("approvals", "ChangeRequest")
    SuspenseItem = apps.get_model("receipts", "SuspenseItem")
    chosen: dict[int, tuple[bool, int]] = {}  # item id → (approved, request id)
    # Historical models carry no TextChoices: the stored values are spelled out here.
    requests = ChangeRequest.objects.filter(kind="suspense_assign").order_by("pk")
    for pk, status, payload in requests.values_list("pk", "status", "payload").iterator():
        item_id = (payload or {}).get("suspense_item")
        if item_id is None:
            continue
        candidate = (status == "approved", pk)
        if max(chosen.get(int(item_id), candidate), candidate) == candidate:
            chosen[int(item_id)] = candidate
    for item_id, (_, request_id) in chosen.items():
        SuspenseItem.objects.filter(pk=item_id, approval__isnull=True).update(approval_id=request_id)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
        ("receipts", "0005_payment_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="suspenseitem",
            name="approval",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="approvals.changerequest",
            ),
        ),
        migrations.RunPython(link_approvals, migrations.RunPython.noop),
    ]
