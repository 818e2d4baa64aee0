"""``levies.csv``: a plainly well-formed row read by one regular expression gives the record the field
checks give, and any row the expression passes over is still read (and refused) by the field checks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from choshu.formats.errors import RowError
from choshu.formats.levies_csv import HEADER, parse_levies
from choshu.rules.check_digits import make_slip_no

FIELDS = {
    "tax_item": st.sampled_from(["01", "04", "06", "07", "1", "", "０１"]),
    "levy_year": st.sampled_from(["2024", "1949", "1950", "2200", "2201", "24", "20x4"]),
    "notice_no": st.sampled_from(["1", "100001", "123456789012", "1234567890123", "", "1-2"]),
    "taxpayer_no": st.sampled_from(["1001", "123456789012345", "1234567890123456", "", "１"]),
    "installment_no": st.sampled_from(["1", "12", "0", "00", "123", ""]),
    "due_date": st.sampled_from(["2024-07-01", "2024-02-30", "2024-13-01", "2024/07/01", "", "2024-7-1"]),
    "principal": st.sampled_from(["0", "30000", "007", "-5", "1.000", "", "１００"]),
    "slip_no": st.sampled_from(["", make_slip_no("123456789012345"), "1234567890123456", "12345", '"1,2"']),
}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries(FIELDS), min_size=1, max_size=6))
def test_the_plain_reading_gives_what_the_field_checks_give(rows: list[dict[str, str]]) -> None:
    text = ",".join(HEADER) + "\r\n" + "".join(",".join(r[h] for h in HEADER) + "\r\n" for r in rows)
    plain_errors: list[RowError] = []
    checked_errors: list[RowError] = []
    plain = list(parse_levies(text, plain_errors))
    checked = list(parse_levies(text, checked_errors, plain=False))
    assert plain == checked
    assert plain_errors == checked_errors
