"""Strict decoding and header/row checks shared by every CSV import (interchange.md, common rules)."""

from __future__ import annotations

import pytest

from choshu.formats.csvfile import decode_strict, iter_rows
from choshu.formats.errors import FileRefused, RowError


def test_utf8_with_and_without_bom_and_cp932_are_detected() -> None:
    text = "a,b\r\n川口,ｶﾜｸﾞﾁ\r\n"
    assert decode_strict(text.encode("utf-8")).encoding == "utf-8"
    assert decode_strict(b"\xef\xbb\xbf" + text.encode("utf-8")).encoding == "utf-8-sig"
    cp = decode_strict(text.encode("cp932"))
    assert cp.encoding == "cp932" and cp.text == text


def test_undecodable_bytes_are_refused_with_the_line_number() -> None:
    data = b"a,b\r\n1,2\r\n" + b"\xff\xfe\xff,3\r\n"
    with pytest.raises(FileRefused) as exc:
        decode_strict(data, "x.csv")
    assert exc.value.errors[0].line == 3
    assert "文字コード" in exc.value.errors[0].reason


def test_a_file_mixing_utf8_and_cp932_lines_is_refused() -> None:
    data = b"a,b\r\n" + "川口,太郎\r\n".encode("cp932") + "鳩ヶ谷,花子\r\n".encode()
    with pytest.raises(FileRefused) as exc:
        decode_strict(data, "mixed.csv")
    assert exc.value.errors[0].line == 3
    assert "混在" in exc.value.errors[0].reason


def test_a_wrong_header_refuses_the_file() -> None:
    errors: list[RowError] = []
    with pytest.raises(FileRefused) as exc:
        list(iter_rows("a,c\r\n1,2\r\n", ("a", "b"), errors))
    assert "見出し" in exc.value.errors[0].reason


def test_rows_with_the_wrong_column_count_are_reported_and_skipped() -> None:
    errors: list[RowError] = []
    rows = list(iter_rows('a,b\r\n1,2\r\n3\r\n"x,y",5\r\n6,7,8\r\n', ("a", "b"), errors))
    assert [line for line, _ in rows] == [2, 4]
    assert rows[1][1] == {"a": "x,y", "b": "5"}
    assert [e.line for e in errors] == [3, 5]


def test_line_numbers_count_the_lines_of_a_quoted_field_refused_for_its_line_break() -> None:
    """A line break inside a field is a control character (issue 14 §4): refused, and the rows after it
    keep their physical line numbers."""
    errors: list[RowError] = []
    rows = list(iter_rows('a,b\r\n1,2\r\n3\r\n"x\r\ny",5\r\n6,7,8\r\n9,9\r\n', ("a", "b"), errors))
    assert [line for line, _ in rows] == [2, 7]
    assert [(e.line, e.column) for e in errors] == [(3, ""), (4, "a"), (6, "")]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(FileRefused):
        list(iter_rows("", ("a",), []))
