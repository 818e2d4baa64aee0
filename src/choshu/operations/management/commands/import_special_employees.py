from choshu.operations.related_imports import RelatedImportCommand


class Command(RelatedImportCommand):
    help = "特別徴収対象者ファイル special_employees.csv を取り込む（不正な行があればファイル全体を拒否）"
    layout = "special-employees"
