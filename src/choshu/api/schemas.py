"""Request and response bodies of the integration API (pydantic; unknown fields refused)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictInt

from choshu.core.forms import EARLIEST_DATE, LATEST_DATE, date_in_range

MAX_BATCH = 1000
"""Records per push request (a bigger batch is refused whole with 422)."""


def _encodable(value: str) -> str:
    # a lone surrogate (JSON "\ud800") is a str in Python but no character: refuse it here, not at write
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("文字として扱えない値（サロゲート）が含まれています") from exc
    return value


def _iso_text(value: Any) -> Any:
    # a JSON date or time is a string: a number (a timestamp, seconds) is the wrong type, not a date
    if value is not None and not isinstance(value, str | date | time):
        raise ValueError('日付は "YYYY-MM-DD"、時刻は "HH:MM:SS" の文字列で指定してください')
    return value


def _in_range(value: date) -> date:
    if not date_in_range(value):
        raise ValueError(
            f"日付は {EARLIEST_DATE.isoformat()} から {LATEST_DATE.isoformat()} までにしてください"
        )
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_in_range)]
IsoTime = Annotated[time, BeforeValidator(_iso_text)]
Text = Annotated[str, Field(max_length=400), AfterValidator(_encodable)]
Digits15 = Annotated[str, Field(pattern=r"^[0-9]{1,15}$", description="宛名番号（半角数字1〜15桁）")]
Required = Annotated[str, Field(min_length=1, max_length=400), AfterValidator(_encodable)]
Yen = Annotated[StrictInt, Field(ge=0, le=10**13)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TaxpayerIn(Strict):
    """One row of taxpayers.csv (docs/formats.md §1, the standard layout): the same rules apply."""

    taxpayer_no: Digits15
    kind: Literal["individual", "corporation", "co_ownership"]
    name: Required
    name_kana: Text = ""
    birth_date: IsoDate | None = None
    sex: Literal["", "1", "2"] = ""
    postal_code: Text = ""
    address: Text = ""
    address_extra: Text = ""
    phone: Text = ""
    my_number: Text = ""
    corporate_number: Text = ""
    resident: Literal["0", "1"] = "1"
    deceased_on: IsoDate | None = None
    support_measure_from: IsoDate | None = None
    support_measure_until: IsoDate | None = None
    operator_id: Text = ""
    operated_on: IsoDate | None = None
    operated_time: IsoTime | None = None


class TaxpayersPush(Strict):
    records: list[TaxpayerIn] = Field(min_length=1, max_length=MAX_BATCH)


class LevyIn(Strict):
    """One row of levies.csv (docs/formats.md §2, the standard's layout): the same rules apply."""

    tax_item: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{2}$", description="業務詳細（科目）コード")]
    levy_year: Annotated[StrictInt, Field(ge=1950, le=2200)]
    relevant_year: Annotated[StrictInt, Field(ge=1950, le=2200)] | None = None
    notice_no: Annotated[str, Field(pattern=r"^[0-9]{1,12}$", description="通知書番号")]
    taxpayer_no: Digits15
    special_collector_no: Text = ""
    filing_type: Text = ""
    filing_history_no: Annotated[StrictInt, Field(ge=0, le=99999999)] | None = None
    business_year_no: Annotated[StrictInt, Field(ge=0, le=99999999)] | None = None
    business_year_start: IsoDate | None = None
    business_year_end: IsoDate | None = None
    installment_no: Annotated[StrictInt, Field(ge=1, le=99)]
    statutory_due_date: IsoDate | None = None
    due_date: IsoDate
    designated_due_date: IsoDate | None = None
    due_date_special: Literal["", "1"] = ""
    principal: Yen
    breakdown_1: Yen | None = None
    breakdown_2: Yen | None = None
    breakdown_3: Yen | None = None
    slip_no: Annotated[str, Field(pattern=r"^([0-9]{16})?$", description="納付番号（16桁、空可）")] = ""
    operator_id: Text = ""
    operated_on: IsoDate | None = None
    operated_time: IsoTime | None = None


class LeviesPush(Strict):
    booking_date: IsoDate | None = Field(None, description="調定日・更正日（省略時は本日）")
    records: list[LevyIn] = Field(min_length=1, max_length=MAX_BATCH)


class RecordError(Schema):
    index: int = Field(description="records の何番目（0 から）か。ファイル全体の誤りは -1")
    field: str
    reason: str
    value: str


class Refused(Schema):
    refused: bool = True
    detail: str
    errors: list[RecordError]


class PushResult(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int
    corrections: int
    already_imported: bool
    job_id: int | None


class Error(Schema):
    detail: str


class Problem(Schema):
    """422: a body or query the API cannot use (``errors``: where and why), or a batch the import
    refused (``refused``: true; ``errors``: record index, field, reason)."""

    detail: str
    refused: bool = False
    errors: list[dict[str, Any]] = []


class InstallmentStatus(Schema):
    tax_item: str
    tax_item_name: str
    levy_year: int
    notice_no: str
    installment_no: int
    due_date: date
    slip_no: str
    principal: int
    principal_paid: int
    principal_due: int
    late_charge: int | None = Field(description="未納の延滞金（指定日現在）。税率が未設定の年は null")
    dunning_fee: int
    total: int
    status: Literal["paid", "partial", "unpaid", "overpaid", "not_due"]
    extinguished: bool


class Balances(Schema):
    taxpayer_no: str
    as_of: date
    installments: list[InstallmentStatus]
    principal_due: int
    late_charge: int
    dunning_fee: int
    total: int
    overpayment: int


class SlipOut(Schema):
    slip_no: str
    confirmation_no: str
    amount: int
    pay_by: date | None
    tax_item: str
    outstanding: int
    barcode: str
    el_number: str
    ocr_lower: str


class Slips(Schema):
    taxpayer_no: str
    slips: list[SlipOut]


class PaymentOut(Schema):
    id: int
    taxpayer_no: str | None
    channel: str
    status: str
    amount: int
    paid_on: date
    booked_on: date | None
    slip_no: str
    allocated: int
    overpaid: int
    suspended: int


class DunningOut(Schema):
    id: int
    taxpayer_no: str
    tax_item: str
    issued_on: date
    pay_by: date
    principal: int
    late_charge: int
    fee: int
    total: int


class WriteOffOut(Schema):
    id: int
    taxpayer_no: str
    tax_item: str
    levy_year: int
    notice_no: str
    installment_no: int
    reason: str
    extinguished_on: date
    booked_on: date | None
    principal: int
    late_charge: int
    dunning_fee: int


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str = Field(description="次の呼び出しに渡すカーソル（続きがなければ同じ値）")
    has_more: bool


class DunningPage(Schema):
    items: list[DunningOut]
    next_cursor: str
    has_more: bool


class WriteOffPage(Schema):
    items: list[WriteOffOut]
    next_cursor: str
    has_more: bool
