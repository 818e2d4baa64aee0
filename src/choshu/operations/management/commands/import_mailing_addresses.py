from choshu.operations.related_imports import RelatedImportCommand


class Command(RelatedImportCommand):
    help = "送付先・連絡先ファイル mailing_addresses.csv（標準 036o014）を取り込む（不正な行があればファイル全体を拒否）"
    layout = "mailing-addresses"
