"""Request and response bodies of the integration API (pydantic; unknown fields refused)."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StrictInt

MAX_BATCH = 1000
"""Records per push request (a bigger batch is refused whole with 422)."""


def _encodable(value: str) -> str:
    # a lone surrogate (JSON "\ud800") is a str in Python but no character: refuse it here, not at write
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("文字として扱えない値（サロゲート）が含まれています") from exc
    return value


Text = Annotated[str, Field(max_length=400), AfterValidator(_encodable)]
Yen = Annotated[StrictInt, Field(ge=0, le=10**13)]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class TaxpayerIn(Strict):
    """One row of taxpayers.csv (docs/formats.md §1, the standard layout): the same rules apply."""

    taxpayer_no: Text
    kind: Literal["individual", "corporation", "co_ownership"]
    name: Text
    name_kana: Text = ""
    birth_date: date | None = None
    sex: Literal["", "1", "2"] = ""
    postal_code: Text = ""
    address: Text = ""
    address_extra: Text = ""
    phone: Text = ""
    my_number: Text = ""
    corporate_number: Text = ""
    resident: Literal["0", "1"] = "1"
    deceased_on: date | None = None
    support_measure_from: date | None = None
    support_measure_until: date | None = None
    operator_id: Text = ""
    operated_on: date | None = None
    operated_time: time | None = None


class TaxpayersPush(Strict):
    records: list[TaxpayerIn] = Field(min_length=1, max_length=MAX_BATCH)


class LevyIn(Strict):
    """One row of levies.csv (docs/formats.md §2, the standard's layout): the same rules apply."""

    tax_item: Text
    levy_year: StrictInt
    relevant_year: StrictInt | None = None
    notice_no: Text
    taxpayer_no: Text
    special_collector_no: Text = ""
    filing_type: Text = ""
    filing_history_no: StrictInt | None = None
    business_year_no: StrictInt | None = None
    business_year_start: date | None = None
    business_year_end: date | None = None
    installment_no: StrictInt
    statutory_due_date: date | None = None
    due_date: date
    designated_due_date: date | None = None
    due_date_special: Literal["", "1"] = ""
    principal: Yen
    breakdown_1: Yen | None = None
    breakdown_2: Yen | None = None
    breakdown_3: Yen | None = None
    slip_no: Text = ""
    operator_id: Text = ""
    operated_on: date | None = None
    operated_time: time | None = None


class LeviesPush(Strict):
    booking_date: date | None = Field(None, description="調定日・更正日（省略時は本日）")
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
