"""The codes printed on a 納付書 (interchange.md §3): GS1-128 barcode, eL番号, lower OCR line."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from choshu.formats.slipcodes import (
    BARCODE_MAX_AMOUNT,
    BarcodeFields,
    OcrFields,
    SlipCodes,
    parse_barcode,
    parse_ocr_lower,
    slip_codes,
)
from choshu.rules.check_digits import (
    gs1_mod10_check_digit,
    is_valid_gs1_barcode,
    is_valid_ocr_lower,
    make_slip_no,
    ocr_check_digits,
)

SLIP = make_slip_no("202500100000001")  # 2025001000000017
SETTINGS = {"company_code": "912345", "client_code": "11203", "agency_no": "11203"}

# formats-reference §2.1: the two published GS1 examples (43-digit body → check digit 3).
GS1_VECTORS = [
    "91" + "912345" + "0123456789012345678901" + "010331" + "0" + "123000",
    "91" + "942386" + "1789539178539356927301" + "030731" + "1" + "031290",
]
# formats-reference §5: the published OCR vectors (upper 37-digit body → 61, lower 42-digit body → 22).
OCR_UPPER_VECTOR = ("0000000000000000003600226000033421101", "61")
OCR_LOWER_VECTOR = ("100250881102000000061050501000000000000000", "22")


def codes(**overrides: Any) -> SlipCodes:
    args: dict[str, Any] = {
        "slip_no": SLIP,
        "confirmation_no": "4821",
        "amount": 12300,
        "pay_by": date(2025, 6, 30),
        "tax_item": "01",
        **SETTINGS,
    }
    args.update(overrides)
    return slip_codes(**args)


def with_gs1_cd(body43: str) -> str:
    return body43 + str(gs1_mod10_check_digit(body43))


def with_ocr_cds(body42: str) -> str:
    return ocr_check_digits(body42) + body42


def test_the_barcode_is_ai_91_company_client_slip_reissue_deadline_stamp_amount_and_check_digit() -> None:
    barcode = codes(reissue=2).barcode
    assert barcode == "91" + "912345" + "11203" + SLIP + "2" + "250630" + "0" + "012300" + barcode[43]
    assert len(barcode) == 44 and is_valid_gs1_barcode(barcode)


def test_the_el_number_is_agency_slip_confirmation_and_payment_class() -> None:
    assert codes(tax_item="04").el_number == "11203" + SLIP + "4821" + "004"


def test_the_lower_ocr_line_is_two_check_digits_and_the_standard_body() -> None:
    ocr = codes(tax_item="05").ocr_lower
    body = "0" + "000005" + "8" + "0" + "00" + SLIP + "4821" + "0" * 11
    assert ocr == ocr_check_digits(body) + body
    assert len(ocr) == 44 and is_valid_ocr_lower(ocr)


def test_a_slip_without_deadline_prints_999999() -> None:
    assert codes(pay_by=None).barcode[30:36] == "999999"


def test_a_slip_over_999999_yen_carries_no_barcode_but_keeps_the_other_codes() -> None:
    assert codes(amount=BARCODE_MAX_AMOUNT).barcode[37:43] == "999999"
    over = codes(amount=BARCODE_MAX_AMOUNT + 1)
    assert over.barcode == ""
    assert over.el_number and over.ocr_lower


@pytest.mark.parametrize("missing", ["company_code", "client_code"])
def test_no_barcode_when_the_collection_agent_is_not_configured(missing: str) -> None:
    assert codes(**{missing: ""}).barcode == ""


def test_no_el_number_when_the_agency_number_is_not_configured() -> None:
    assert codes(agency_no="").el_number == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slip_no": SLIP[:-1] + str((int(SLIP[-1]) + 1) % 10)}, "slip_no"),
        ({"slip_no": SLIP[:15]}, "slip_no"),
        ({"confirmation_no": "48a1"}, "confirmation_no"),
        ({"confirmation_no": "482"}, "confirmation_no"),
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 12.0}, "amount"),
        ({"tax_item": "08"}, "tax_item"),
        ({"tax_item": "1"}, "tax_item"),
        ({"reissue": 10}, "reissue"),
        ({"reissue": -1}, "reissue"),
        ({"pay_by": datetime(2025, 6, 30, 12, 0)}, "pay_by"),
        ({"pay_by": date(1999, 12, 31)}, "pay_by"),
        ({"company_code": "12345"}, "company_code"),
        ({"client_code": "1120３"}, "client_code"),
        ({"agency_no": "112030"}, "agency_no"),
    ],
)
def test_programmer_errors_raise_a_clear_value_error(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        codes(**overrides)


def test_the_published_gs1_vectors_check_and_parse_as_far_as_the_slip_number() -> None:
    # Their free area is not our client code + slip number, so the parser stops at the slip
    # number's own check digit — after the GS1 check digit and the deadline were accepted.
    for body in GS1_VECTORS:
        assert gs1_mod10_check_digit(body) == 3
        assert is_valid_gs1_barcode(body + "3")
        with pytest.raises(ValueError, match="納付番号"):
            parse_barcode("EAN" + body + "3")


def test_a_published_gs1_vector_with_check_digit_plus_one_is_refused() -> None:
    with pytest.raises(ValueError, match="チェックデジットが一致しません"):
        parse_barcode(GS1_VECTORS[0] + "4")


def test_parse_barcode_returns_every_field_with_or_without_the_ean_prefix() -> None:
    barcode = codes(reissue=1).barcode
    expected = BarcodeFields(
        company_code="912345",
        client_code="11203",
        slip_no=SLIP,
        reissue=1,
        pay_by=date(2025, 6, 30),
        stamp_flag="0",
        amount=12300,
        check_digit=int(barcode[43]),
    )
    assert parse_barcode(barcode) == expected
    assert parse_barcode("EAN" + barcode) == expected
    assert parse_barcode(codes(pay_by=None).barcode).pay_by is None


def test_parse_barcode_accepts_stamp_flag_1_and_leaves_the_tax_rule_to_the_caller() -> None:
    body = codes().barcode[:36] + "1" + codes().barcode[37:43]
    assert parse_barcode(with_gs1_cd(body)).stamp_flag == "1"


@pytest.mark.parametrize(
    ("barcode", "reason"),
    [
        (codes().barcode[:43], "43桁"),
        (codes().barcode + "0", "45桁"),
        ("EAN", "空"),
        (codes().barcode[:20] + "x" + codes().barcode[21:], "数字以外"),
        (codes().barcode[:20] + "５" + codes().barcode[21:], "数字以外"),
        (" " + codes().barcode, "数字以外"),
        (with_gs1_cd("92" + codes().barcode[2:43]), "AI"),
        (with_gs1_cd(codes().barcode[:30] + "251331" + codes().barcode[36:43]), "支払期限 251331"),
        (with_gs1_cd(codes().barcode[:30] + "250230" + codes().barcode[36:43]), "支払期限 250230"),
        (with_gs1_cd(codes().barcode[:36] + "2" + codes().barcode[37:43]), "印紙フラグ"),
        (
            with_gs1_cd(codes().barcode[:28] + str((int(SLIP[15]) + 1) % 10) + codes().barcode[29:43]),
            "納付番号",
        ),
    ],
)
def test_parse_barcode_names_what_is_wrong_in_japanese(barcode: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_barcode(barcode)


def test_parse_ocr_lower_reads_tax_item_slip_and_confirmation_number() -> None:
    assert parse_ocr_lower(codes(tax_item="06").ocr_lower) == OcrFields("06", SLIP, "4821")


def test_the_published_ocr_vectors_check() -> None:
    assert ocr_check_digits(OCR_UPPER_VECTOR[0]) == OCR_UPPER_VECTOR[1]
    body, cds = OCR_LOWER_VECTOR
    assert ocr_check_digits(body) == cds
    # The Kyoto slip's check digits are right; its body (予算区分 1) is not our layout.
    with pytest.raises(ValueError, match="予算区分"):
        parse_ocr_lower(cds + body)


def test_an_ocr_line_with_swapped_check_digits_is_refused() -> None:
    # (The published lower vector has CDs "22", which a swap leaves unchanged; use our own slips.)
    ocr = next(o for o in (codes(confirmation_no=f"{n:04d}").ocr_lower for n in range(100)) if o[0] != o[1])
    with pytest.raises(ValueError, match="チェックデジットが一致しません"):
        parse_ocr_lower(ocr[1] + ocr[0] + ocr[2:])


OCR_BODY = "0" + "000001" + "8" + "0" + "00" + SLIP + "4821" + "0" * 11


@pytest.mark.parametrize(
    ("ocr", "reason"),
    [
        ("", "空"),
        (with_ocr_cds(OCR_BODY)[:43], "43桁"),
        (with_ocr_cds(OCR_BODY) + "0", "45桁"),
        (with_ocr_cds(OCR_BODY)[:10] + "-" + with_ocr_cds(OCR_BODY)[11:], "数字以外"),
        (with_ocr_cds("1" + OCR_BODY[1:]), "予算区分"),
        (with_ocr_cds(OCR_BODY[:5] + "08" + OCR_BODY[7:]), "科目ID"),
        (with_ocr_cds(OCR_BODY[:1] + "1" + OCR_BODY[2:]), "科目ID"),
        (with_ocr_cds(OCR_BODY[:7] + "90" + OCR_BODY[9:]), "収納区分"),
        (with_ocr_cds(OCR_BODY[:9] + "01" + OCR_BODY[11:]), "納付番号欄"),
        (with_ocr_cds(OCR_BODY[:26] + str((int(SLIP[15]) + 1) % 10) + OCR_BODY[27:]), "納付番号"),
        (with_ocr_cds(OCR_BODY[:41] + "1"), "自由使用領域"),
    ],
)
def test_parse_ocr_lower_names_what_is_wrong_in_japanese(ocr: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_ocr_lower(ocr)


slip_inputs = st.fixed_dictionaries(
    {
        "slip_no": st.from_regex(r"[0-9]{15}", fullmatch=True).map(make_slip_no),
        "confirmation_no": st.from_regex(r"[0-9]{4}", fullmatch=True),
        "amount": st.integers(min_value=1, max_value=BARCODE_MAX_AMOUNT),
        "pay_by": st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
        "tax_item": st.sampled_from(["01", "02", "03", "04", "05", "06"]),
        "company_code": st.from_regex(r"[0-9]{6}", fullmatch=True),
        "client_code": st.from_regex(r"[0-9]{5}", fullmatch=True),
        "agency_no": st.from_regex(r"[0-9]{5}", fullmatch=True),
        "reissue": st.integers(min_value=0, max_value=9),
    }
)


@given(slip_inputs)
def test_every_valid_slip_round_trips_through_its_barcode_and_ocr_line(args: dict[str, Any]) -> None:
    printed = slip_codes(**args)
    bc = parse_barcode(printed.barcode)
    assert (bc.company_code, bc.client_code, bc.slip_no, bc.reissue, bc.pay_by, bc.stamp_flag, bc.amount) == (
        args["company_code"],
        args["client_code"],
        args["slip_no"],
        args["reissue"],
        args["pay_by"],
        "0",
        args["amount"],
    )
    assert parse_ocr_lower(printed.ocr_lower) == OcrFields(
        args["tax_item"], args["slip_no"], args["confirmation_no"]
    )
    assert (
        printed.el_number
        == args["agency_no"] + args["slip_no"] + args["confirmation_no"] + "0" + args["tax_item"]
    )
