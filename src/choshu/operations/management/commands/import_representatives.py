from choshu.operations.related_imports import RelatedImportCommand


class Command(RelatedImportCommand):
    help = "代理人・納税管理人ファイル representatives.csv（標準 036o013）を取り込む（不正な行があればファイル全体を拒否）"
    layout = "representatives"
