"""The base of every form: no text field accepts a control character (issue 14 §4).

Every form of the project derives from ``Form`` (or mixes in ``RefuseControlCharacters`` ahead of a
Django form class); ``core/tests/test_forms.py`` fails when one does not. A text typed in a text area
may hold line breaks and tabs; any other C0 control character or DEL (NUL above all: PostgreSQL cannot
store it, other systems cut text at it) is a form error with a Japanese message, never a 500.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from choshu.formats.fields import control_character_reason


class NoControlCharacters:
    """Field validator: refuses C0 control characters and DEL (TAB, CR, LF too unless ``multiline``)."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        reason = control_character_reason(value, multiline=self.multiline)
        if reason is not None:
            raise ValidationError(reason, code="control_character")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((NoControlCharacters, self.multiline))


class RefuseControlCharacters:
    """Form mixin: gives every text field of the form the ``NoControlCharacters`` validator."""

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        # at cleaning time, so that fields a form adds in its own ``__init__`` are covered too
        for field in self.fields.values():
            if not isinstance(field, forms.CharField):
                continue
            guard = NoControlCharacters(multiline=isinstance(field.widget, forms.Textarea))
            if guard in field.validators:
                continue
            # the Django validator says the same about NUL only: one message is enough
            field.validators = [
                v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
            ]
            field.validators.append(guard)
        super().full_clean()  # type: ignore[misc]


class Form(RefuseControlCharacters, forms.Form):
    """``django.forms.Form`` with ``RefuseControlCharacters``: the base of every form."""
