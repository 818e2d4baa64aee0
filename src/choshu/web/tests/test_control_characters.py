"""A NUL (or any control character) in a name is refused cleanly, on SQLite and PostgreSQL alike
(issue 14 §4): by the import with line, column and reason (exit 2), by every form as a form error."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from conftest import TAXPAYER_HEADER
from django import forms
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

import choshu
from choshu.approvals.models import ChangeRequest
from choshu.core.commands import EXIT_REFUSED
from choshu.core.forms import RefuseControlCharacters
from choshu.taxpayers.models import Taxpayer


@pytest.mark.parametrize("char", ["\x00", "\x1b"])
def test_the_import_refuses_a_control_character_in_a_name(
    municipality: Any, write_csv: Callable[..., Any], char: str
) -> None:
    rows = [
        "1001,individual,川口 太郎,カワグチ タロウ,1970-04-01,1,3330801,埼玉県川口市東川口1-2-3,,,,,1,",
        f"1002,individual,川口{char}花子,カワグチ ハナコ,1972-05-01,2,3330801,埼玉県川口市東川口1-2-3,,,,,1,",
    ]
    out = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_taxpayers", str(write_csv(TAXPAYER_HEADER, rows)), "--json", stdout=out)
    assert refused.value.returncode == EXIT_REFUSED
    payload = json.loads(out.getvalue().strip().splitlines()[-1])
    assert payload["refused"] is True
    (error,) = payload["errors"]
    assert (error["line"], error["column"]) == (3, "name")
    assert "3文字目に制御文字" in error["reason"]
    assert error["value"] == f"川口{chr(0x2400 + ord(char))}花子"  # quoted as ␀ / ␛, never the byte itself
    assert Taxpayer.objects.count() == 0


@pytest.mark.parametrize("char", ["\x00", "\x07"])
def test_the_correction_form_refuses_a_control_character_in_a_name(
    clerk_client: Client, taxpayer: Any, char: str
) -> None:
    response = clerk_client.post(
        reverse("approvals:taxpayer-edit", args=[taxpayer.pk]),
        {"name": f"川口{char}太郎", "reason": "転居届"},
    )
    assert response.status_code == 400
    assert "制御文字" in response.content.decode()
    assert not ChangeRequest.objects.exists()
    assert Taxpayer.objects.get(pk=taxpayer.pk).name == "川口 太郎"


def test_a_reason_typed_on_several_lines_is_accepted(clerk_client: Client, taxpayer: Any) -> None:
    from choshu.approvals.forms import ApproveForm

    assert ApproveForm({"comment": "一行目\r\n二行目"}).is_valid()
    form = ApproveForm({"comment": "一行目\x00"})
    assert not form.is_valid() and "制御文字" in str(form.errors)


def _forms() -> list[type[forms.BaseForm]]:
    found = []
    for info in pkgutil.walk_packages(choshu.__path__, "choshu."):
        if ".tests" in info.name or ".migrations" in info.name or info.name.endswith("config.wsgi"):
            continue
        module = importlib.import_module(info.name)
        for _name, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, forms.BaseForm)
                and obj.__module__ == info.name
                and obj.__module__ != "choshu.core.forms"
            ):
                found.append(obj)
    return found


def test_every_form_of_the_project_refuses_control_characters() -> None:
    found = _forms()
    assert len(found) > 10
    missing = [
        f"{f.__module__}.{f.__qualname__}" for f in found if not issubclass(f, RefuseControlCharacters)
    ]
    assert missing == [], "derive these from choshu.core.forms.Form (or mix in RefuseControlCharacters)"
