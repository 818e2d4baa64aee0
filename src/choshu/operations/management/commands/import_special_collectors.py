from choshu.operations.related_imports import RelatedImportCommand


class Command(RelatedImportCommand):
    help = "特別徴収義務者ファイル special_collectors.csv を取り込む（不正な行があればファイル全体を拒否）"
    layout = "special-collectors"
