"""The base of every form: no text field accepts a control character, no date field a day outside the
calendar the office works in (issue 14 §4).

Every form of the project derives from ``Form`` (or mixes in ``RefuseControlCharacters`` ahead of a
Django form class); ``web/tests/test_control_characters.py`` fails when one does not. A text typed in a
text area may hold line breaks and tabs; any other C0 control character or DEL (NUL above all:
PostgreSQL cannot store it, other systems cut text at it) is a form error with a Japanese message,
never a 500. A date before ``EARLIEST_DATE`` or after ``LATEST_DATE`` (9999-12-31 is a valid ISO date,
but the day after it is not: a 日計表's "next day" link, a report's end of period, a 延滞金 computed to
it would all fail) is a form error too.
"""

from __future__ import annotations

from datetime import date
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


# The days a date entered on a screen may name: from the first day the 和暦 are converted from (the
# Gregorian calendar in Japan, 明治6年1月1日; formats.dates) to the end of 2999, far beyond any
# business date of the system (a form's own rule, e.g. 「領収日に未来の日付は指定できません」, still
# speaks first for the days between), yet leaving room for the arithmetic of days and years around it.
EARLIEST_DATE = date(1873, 1, 1)
LATEST_DATE = date(2999, 12, 31)
DATE_RANGE_MESSAGE = (
    f"日付は {EARLIEST_DATE:%Y-%m-%d} から {LATEST_DATE:%Y-%m-%d} までの範囲で入力してください。"
)


def date_in_range(value: date) -> bool:
    return EARLIEST_DATE <= value <= LATEST_DATE


def within_date_range(value: Any) -> None:
    """Field validator: the date lies between ``EARLIEST_DATE`` and ``LATEST_DATE``."""
    if isinstance(value, date) and not date_in_range(value):
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")


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


class RefuseImpossibleDates:
    """Form mixin: every date field of the form refuses a day outside ``EARLIEST_DATE``–``LATEST_DATE``."""

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        for field in self.fields.values():
            if isinstance(field, forms.DateField) and within_date_range not in field.validators:
                field.validators.append(within_date_range)
        super().full_clean()  # type: ignore[misc]


class Form(RefuseControlCharacters, RefuseImpossibleDates, forms.Form):
    """``django.forms.Form`` with ``RefuseControlCharacters`` and ``RefuseImpossibleDates``: the base
    of every form."""
