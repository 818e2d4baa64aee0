"""Control characters in imported text are refused with line, column and reason (issue 14 §4)."""

from __future__ import annotations

import pytest

from choshu.formats.csvfile import RawRows, iter_fields, iter_rows
from choshu.formats.errors import RowError
from choshu.formats.fields import control_character_reason


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\t"])
def test_a_control_character_in_a_field_refuses_the_row_with_line_and_column(char: str) -> None:
    errors: list[RowError] = []
    rows = list(iter_rows(f"a,b\r\n1,2\r\n3,川{char}口\r\n5,6\r\n", ("a", "b"), errors))
    assert [line for line, _ in rows] == [2, 4]
    (error,) = errors
    assert (error.line, error.column) == (3, "b")
    assert "2文字目に制御文字" in error.reason and f"U+{ord(char):04X}" in error.reason


def test_a_line_break_inside_a_quoted_field_is_refused_but_line_ends_are_not() -> None:
    errors: list[RowError] = []
    rows = list(iter_fields('a,b\r\n1,2\n"x\r\ny",5\r\n6,7\r\n', ("a", "b"), errors))
    assert [line for line, _ in rows] == [2, 5]
    assert [(e.line, e.column) for e in errors] == [(3, "a")]
    assert "改行(CR)" in errors[0].reason


def test_the_plain_lines_of_raw_rows_are_checked_too() -> None:
    """``RawRows`` callers read plain lines themselves: one with a NUL is handed to ``row()``."""
    errors: list[RowError] = []
    rows = RawRows("a,b\r\n1,1\r\n1\x00,a\r\n", ("a", "b"), errors, plain="[1a\x00]*,[1a]*")
    _, lines = rows.start()
    results = []
    for line_no, line in enumerate(lines, start=2):
        results.append(line[0] if line[0] else rows.row(line_no, line))
    assert results == ["1,1", None]
    assert [(e.line, e.column) for e in errors] == [(3, "a")]


def test_the_shared_reason_allows_line_breaks_only_in_multiline_text() -> None:
    assert control_character_reason("川口 太郎") is None
    assert control_character_reason("一行目\r\n二行目\tタブ", multiline=True) is None
    assert control_character_reason("一行目\n二行目") is not None
    assert control_character_reason("a\x00", multiline=True) == (
        "2文字目に制御文字（NUL, U+0000）が含まれています（制御文字は使えません。元のデータを確認してください）"
    )
