"""The shared spreadsheet-safe CSV writer (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from choshu.formats.csv_safe import csv_stream, neutralise_cell


@pytest.mark.parametrize(
    "text", ["=1+1", "+81-3", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", '=HYPERLINK("http://x","y")']
)
def test_a_cell_starting_like_a_formula_is_written_as_text(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


def test_ordinary_cells_are_unchanged() -> None:
    assert neutralise_cell("川口 太郎") == "川口 太郎"
    assert neutralise_cell("a=b") == "a=b"
    assert neutralise_cell(-5) == -5 and neutralise_cell(12) == 12
    assert neutralise_cell(None) == ""


def test_the_stream_reads_back_with_every_cell_neutralised() -> None:
    lines = list(csv_stream(["日時", "内容"], [["2026-01-01", "=cmd|' /C calc'!A0"], ["x", 'say "hi"\nok']]))
    assert lines[0].startswith("\ufeff") and len(lines) == 3  # one chunk per row: streamable
    rows = list(csv.reader(io.StringIO("".join(lines).lstrip("\ufeff"))))
    assert rows == [["日時", "内容"], ["2026-01-01", "'=cmd|' /C calc'!A0"], ["x", 'say "hi"\nok']]
