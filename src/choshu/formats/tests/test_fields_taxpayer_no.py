"""canonical_taxpayer_no: fixed-width 宛名番号 matched with or without leading zeros (issue 12 §6)."""

from choshu.formats.fields import canonical_taxpayer_no


def test_without_a_fixed_width_the_number_is_kept_as_received() -> None:
    assert canonical_taxpayer_no("00123", None) == "00123"
    assert canonical_taxpayer_no("123", None) == "123"


def test_with_a_fixed_width_shorter_and_longer_spellings_are_one_number() -> None:
    assert canonical_taxpayer_no("123", 10) == "0000000123"
    assert canonical_taxpayer_no("0000000123", 10) == "0000000123"
    assert canonical_taxpayer_no("000000000000123", 10) == "0000000123"


def test_a_number_wider_than_the_width_is_refused() -> None:
    assert canonical_taxpayer_no("12345678901", 10) is None
    assert canonical_taxpayer_no("012345678901", 10) is None
