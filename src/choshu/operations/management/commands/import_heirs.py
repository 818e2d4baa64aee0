from choshu.operations.related_imports import RelatedImportCommand


class Command(RelatedImportCommand):
    help = "相続人（承継納税義務者）ファイル heirs.csv を取り込む（不正な行があればファイル全体を拒否）"
    layout = "heirs"
