"""The built-in 経過記録 templates (no municipality: offered to every one)."""

from django.db import migrations

TEMPLATES = [
    # name, channel, counterpart, summary, next_action, follow_up_days
    ("電話催告（不在）", "phone", "", "電話したが応答なし。", "再度電話", 3),
    (
        "電話催告（本人と会話・約束）",
        "phone",
        "本人",
        "本人と通話。滞納額と延滞金を説明し、納付を約束した。",
        "約束日の入金確認",
        None,
    ),
    ("臨戸（不在・差置）", "visit", "", "臨戸したが不在。催告文書を差し置いた。", "連絡待ち・再臨戸", 7),
    ("臨戸（面談）", "visit", "本人", "臨戸し本人と面談。", "", 14),
    ("来庁相談", "counter", "本人", "来庁し納付相談。生活状況を聴取した。", "財産調査・分納の検討", 14),
    ("文書催告の送付", "letter", "", "催告文書を送付した。", "反応の確認", 14),
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    ContactTemplate = apps.get_model("cases", "ContactTemplate")
    for n, (name, channel, counterpart, summary, next_action, days) in enumerate(TEMPLATES):
        ContactTemplate.objects.create(
            municipality=None,
            name=name,
            channel=channel,
            counterpart=counterpart,
            summary=summary,
            next_action=next_action,
            follow_up_days=days,
            sort_order=n * 10,
        )


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("cases", "ContactTemplate").objects.filter(municipality=None).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
