"""Tenants and batch-job records shared by every app."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# 全国地方公共団体コード: the first two digits are the prefecture (JIS X 0401).
PREFECTURES = {
    "01": "北海道", "02": "青森県", "03": "岩手県", "04": "宮城県", "05": "秋田県", "06": "山形県",
    "07": "福島県", "08": "茨城県", "09": "栃木県", "10": "群馬県", "11": "埼玉県", "12": "千葉県",
    "13": "東京都", "14": "神奈川県", "15": "新潟県", "16": "富山県", "17": "石川県", "18": "福井県",
    "19": "山梨県", "20": "長野県", "21": "岐阜県", "22": "静岡県", "23": "愛知県", "24": "三重県",
    "25": "滋賀県", "26": "京都府", "27": "大阪府", "28": "兵庫県", "29": "奈良県", "30": "和歌山県",
    "31": "鳥取県", "32": "島根県", "33": "岡山県", "34": "広島県", "35": "山口県", "36": "徳島県",
    "37": "香川県", "38": "愛媛県", "39": "高知県", "40": "福岡県", "41": "佐賀県", "42": "長崎県",
    "43": "熊本県", "44": "大分県", "45": "宮崎県", "46": "鹿児島県", "47": "沖縄県",
}  # fmt: skip


class Municipality(models.Model):
    """自治体 — the tenant. Every table of personal or financial data carries one.

    ``code`` is the 6-digit 全国地方公共団体コード including its check digit (川口市 = 112038).
    """

    code = models.CharField("地方公共団体コード", max_length=6, unique=True)
    name = models.CharField("団体名", max_length=50)
    conveni_company_code = models.CharField("コンビニ収納 企業コード", max_length=6, blank=True)
    conveni_client_code = models.CharField("コンビニ収納 委託者コード", max_length=5, blank=True)
    eltax_agency_no = models.CharField("収納機関番号", max_length=5, blank=True)
    taxpayer_no_width = models.PositiveSmallIntegerField(
        "宛名番号の桁数",
        null=True,
        blank=True,
        help_text="固定桁の団体のみ: 取込ファイルの宛名番号は先頭0の有無を問わずこの桁数で照合する",
    )
    office_name = models.CharField(
        "担当課（督促状・通知書の発行者）",
        max_length=100,
        blank=True,
        help_text="例: 川口市 市民生活部 納税課",
    )
    office_phone = models.CharField("担当課の電話番号", max_length=30, blank=True)
    retention_years = models.PositiveSmallIntegerField(
        "保存年限（完結後）", default=7, help_text="滞納が完結した日から個人情報を保存する年数（評価書: 7年）"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "自治体"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefecture(self) -> str:
        return PREFECTURES.get(self.code[:2], "")


class Job(models.Model):
    """A run of a batch command (import, seed, verification): who, what, counts, outcome.

    Imports record the SHA-256 of the file so that the same file twice changes nothing. An import
    uploaded from the browser is recorded ``queued`` when it is uploaded; the background worker runs
    it and writes its progress (``progress_done`` of ``progress_total`` records, ``heartbeat_at``)
    at chunk boundaries (``core.progress``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "待機中"
        RUNNING = "running", "実行中"
        SUCCEEDED = "succeeded", "正常終了"
        REFUSED = "refused", "取込拒否"
        FAILED = "failed", "異常終了"

    class Kind(models.TextChoices):
        IMPORT_TAXPAYERS = "import-taxpayers", "宛名取込"
        IMPORT_LEVIES = "import-levies", "調定取込"
        IMPORT_CALENDAR = "import-calendar", "期別マスタ取込"
        IMPORT_PAYMENTS_CONVENI = "import-payments-conveni", "収納取込（コンビニ）"
        IMPORT_PAYMENTS_BANK = "import-payments-bank", "収納取込（金融機関）"
        IMPORT_PAYMENTS_ELTAX = "import-payments-eltax", "収納取込（地方税共通納税）"
        IMPORT_MAILING_ADDRESSES = "import-mailing-addresses", "送付先取込"
        IMPORT_REPRESENTATIVES = "import-representatives", "代理人・納税管理人取込"
        IMPORT_CO_OWNERS = "import-co-owners", "共有者取込"
        IMPORT_HEIRS = "import-heirs", "相続人取込"
        IMPORT_SPECIAL_COLLECTORS = "import-special-collectors", "特別徴収義務者取込"
        IMPORT_SPECIAL_EMPLOYEES = "import-special-employees", "特別徴収対象者取込"
        SEED = "seed", "合成データ作成"
        PURGE = "purge", "保存年限経過データの削除"
        DUNNING_RUN = "dunning-run", "督促状の一括発付"
        REFUNDS_RUN = "refunds-run", "過誤納金の充当"
        REFUND_TRANSFER = "refund-transfer", "還付金の振込ファイル作成"
        REFUND_CONFIRM = "refund-confirm", "還付金の振込結果の取込"

        IMPORT_PAYMENTS_ZENGIN = "import-payments-zengin", "収納取込（口座振替結果）"
        DEBIT_REQUEST = "debit-request", "口座振替依頼データの作成"
        IMPORT_DEBIT_MANDATES = "import-debit-mandates", "口座振替依頼の一括取込"

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField("処理", max_length=40, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=500, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    parameters = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    progress_done = models.PositiveBigIntegerField("処理済み件数", default=0)
    progress_total = models.PositiveBigIntegerField("全件数", default=0)
    heartbeat_at = models.DateTimeField("最終進捗時刻", null=True, blank=True)

    class Meta:
        verbose_name = "バッチ処理"
        indexes = [models.Index(fields=["municipality", "kind", "file_sha256"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


class SourceStamp(models.Model):
    """標準の操作者ID・操作年月日・操作時刻: who changed a record in the system it came from, kept as
    received beside choshu's own change log (issue 12 §7)."""

    source_operator = models.CharField(
        "操作者ID（連携元）", max_length=20, blank=True, default="", db_default=""
    )
    source_operated_on = models.DateField("操作年月日（連携元）", null=True, blank=True)
    source_operated_time = models.TimeField("操作時刻（連携元）", null=True, blank=True)

    class Meta:
        abstract = True
