from choshu.operations.related_imports import RelatedImportCommand


class Command(RelatedImportCommand):
    help = "固定資産税の共有者ファイル co_owners.csv（標準 036o011）を取り込む（不正な行があればファイル全体を拒否）"
    layout = "co-owners"
