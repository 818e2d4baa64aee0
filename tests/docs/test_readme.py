"""The README's examples run as printed against `make demo`'s city (issue 13 §8).

The block after the marker ``<!-- examples: … -->`` is run line by line, in order, as the console script
runs it (``choshu.cli.main``: the start-up checks included), on a small demo city seeded by
``choshu demo --no-serve`` (the same seed; 60 people hold every number the examples use).
"""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MARKER = "<!-- examples:"
PROGRAM = ".venv/bin/choshu"


def example_lines() -> list[str]:
    after = README.split(MARKER, 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, flags=re.S)
    assert block is not None, "the examples block follows its marker"
    return [line for line in block.group(1).splitlines() if line.strip()]


def parse(line: str) -> tuple[list[str], str]:
    """(the arguments after ``.venv/bin/choshu``, the text piped in by ``echo '…' |``)."""
    words = shlex.split(line, comments=True)
    stdin = ""
    if "|" in words:
        cut = words.index("|")
        assert words[0] == "echo", line
        stdin = " ".join(words[1:cut]) + "\n"
        words = words[cut + 1 :]
    assert words[0] == PROGRAM, line
    return words[1:], stdin


def test_make_demo_and_make_test_stay_the_first_two_commands() -> None:
    first = re.search(r"```sh\n(.*?)```", README, flags=re.S)
    assert first is not None
    lines = [line.split("#")[0].strip() for line in first.group(1).splitlines() if line.strip()]
    assert lines[:2] == ["make demo", "make test"]


def test_the_examples_name_the_demo_citys_ten_digit_numbers() -> None:
    for line in example_lines():
        args, _ = parse(line)
        if "--taxpayer" in args:
            assert re.fullmatch(r"\d{10}", args[args.index("--taxpayer") + 1]), line


@pytest.mark.django_db
def test_the_readme_examples_run_as_printed_against_the_demo_city(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from choshu.cli import main

    call_command("demo", "--no-serve", "--taxpayers", "60", stdout=io.StringIO())
    monkeypatch.chdir(tmp_path)  # files the examples write (var/…) land here
    # a command closes the connections when it ends; here they hold the test's transaction
    monkeypatch.setattr(connections, "close_all", lambda: None)
    results: dict[str, Any] = {}
    for line in example_lines():
        args, stdin = parse(line)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        assert code == 0, f"{line}\n{out.out[-2000:]}\n{out.err[-2000:]}"
        if "--json" in args:
            results[" ".join(args)] = json.loads(out.out.strip().splitlines()[-1])
    balances = next(v for k, v in results.items() if k.startswith("balances"))
    assert balances["installments"], "the README's taxpayer has levies in the demo city"
    assert all(v.get("ok", True) for v in results.values())
