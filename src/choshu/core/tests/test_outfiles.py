"""The all-or-nothing output file every export uses (core/outfiles.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from choshu.core.outfiles import output_file


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_published_file_has_its_bytes_hash_and_size_and_no_part_is_left(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with output_file(out) as f:
        f.write(b"abc")
        f.write(b"def")
        assert not out.exists()  # not under its name until published
        f.publish()
    assert out.read_bytes() == b"abcdef"
    assert f.size == 6
    assert f.sha256 == "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721"
    assert _parts(tmp_path) == ["out.csv"]


def test_an_error_in_the_middle_leaves_nothing_under_any_name(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), output_file(out) as f:
        f.write(b"half")
        raise RuntimeError("the writer failed")
    assert _parts(tmp_path) == []


def test_leaving_without_publishing_is_a_dry_run(tmp_path: Path) -> None:
    with output_file(tmp_path / "out.csv") as f:
        f.write(b"x")
    assert _parts(tmp_path) == []


def test_an_existing_name_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_bytes(b"kept")
    with pytest.raises(ValidationError, match="既に存在します"), output_file(out):
        pytest.fail("the body must not run")
    assert out.read_bytes() == b"kept"


def test_a_name_made_while_writing_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with pytest.raises(ValidationError, match="出力中に作られました"), output_file(out) as f:
        f.write(b"new")
        out.write_bytes(b"someone else's")
        f.publish()
    assert out.read_bytes() == b"someone else's"
    assert _parts(tmp_path) == ["out.csv"]


def test_a_missing_folder_is_refused_with_its_name(tmp_path: Path) -> None:
    with (
        pytest.raises(ValidationError, match="フォルダ .*nowhere.* がありません"),
        output_file(tmp_path / "nowhere" / "x"),
    ):
        pytest.fail("the body must not run")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(ValidationError, match="書き込めません"), output_file(tmp_path / "x"):
            pytest.fail("the body must not run")
    finally:
        tmp_path.chmod(0o700)
