"""The municipality's 宛名番号 width (issue 12 §6): where the numbers have a fixed width, ``123`` and
``0000000123`` are one person; imports and the staff search match either, and numbers are stored
zero-filled to the width (``formats.fields.canonical_taxpayer_no``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from choshu.audit.models import AuditKind
from choshu.audit.services import audit_record
from choshu.core.models import Municipality
from choshu.formats.fields import canonical_taxpayer_no
from choshu.taxpayers.models import Taxpayer

MAX_WIDTH = 15  # Taxpayer.taxpayer_no holds 15 digits


def canonical_sql(width: int) -> str:
    """SQL for ``canonical_taxpayer_no(taxpayer_no, width)`` of a number that fits the width."""
    if connection.vendor == "postgresql":
        return f"LPAD(LTRIM(taxpayer_no, '0'), {int(width)}, '0')"
    return f"SUBSTR('{'0' * MAX_WIDTH}' || LTRIM(taxpayer_no, '0'), -{int(width)})"


def taxpayer_no_for_search(municipality: Municipality, typed: str) -> str:
    """The 宛名番号 a clerk typed as the municipality stores it (as typed when it does not fit)."""
    return canonical_taxpayer_no(typed, municipality.taxpayer_no_width) or typed


def taxpayer_nos_for_search(municipality: Municipality, typed: str) -> list[str]:
    """Every way the 宛名番号 a clerk typed may be stored (issue 13 §7: with or without leading zeros).

    With a fixed width (``Municipality.taxpayer_no_width``) there is one: the zero-filled number. With
    none, numbers are kept as received, so 「1001」 may be held as 「0000001001」 and 「0001001」 as 「1001」:
    the digits without their leading zeros, and zero-filled to every longer length up to the column's
    15 — at most 16 values, each answered by the unique (municipality, 宛名番号) index."""
    if municipality.taxpayer_no_width is not None or not typed.isdigit():
        return [taxpayer_no_for_search(municipality, typed)]
    stripped = typed.lstrip("0") or "0"
    return list(dict.fromkeys([typed, *(stripped.zfill(n) for n in range(len(stripped), MAX_WIDTH + 1))]))


@transaction.atomic
def taxpayer_no_width_set(*, actor: Any, municipality: Municipality, width: int | None) -> int:
    """Set (or clear, ``None``) the fixed width of the municipality's 宛名番号 and zero-fill the numbers
    already held to it, in one statement. Refused (``ValidationError``, nothing changed) when a number
    held does not fit the width or two numbers would become one. Returns how many were zero-filled."""
    if width is not None and not 1 <= width <= MAX_WIDTH:
        raise ValidationError(f"宛名番号の桁数は1〜{MAX_WIDTH}で指定してください")
    locked = Municipality.objects.select_for_update().get(pk=municipality.pk)
    before = locked.taxpayer_no_width
    renumbered = 0 if width is None else _zero_fill(locked, width)
    if before != width:
        locked.taxpayer_no_width = width
        locked.save(update_fields=["taxpayer_no_width"])
        audit_record(
            kind=AuditKind.CHANGE,
            function="団体設定の変更",
            municipality=locked,
            user=actor,
            detail={
                "before": {"taxpayer_no_width": before},
                "after": {"taxpayer_no_width": width},
                "zero_filled": renumbered,
            },
        )
    municipality.taxpayer_no_width = width
    return renumbered


def _zero_fill(municipality: Municipality, width: int) -> int:
    table = Taxpayer._meta.db_table
    canonical = canonical_sql(width)
    params = {"m": municipality.pk, "w": width}
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT taxpayer_no FROM {table} WHERE municipality_id = %(m)s
                AND LENGTH(LTRIM(taxpayer_no, '0')) > %(w)s ORDER BY taxpayer_no LIMIT 5""",  # noqa: S608
            params,
        )
        too_long = [row[0] for row in cur.fetchall()]
        if too_long:
            raise ValidationError(
                f"{width}桁に収まらない宛名番号がすでにあります（{'、'.join(too_long)} など）。"
                "桁数を確認してください"
            )
        cur.execute(
            f"""SELECT {canonical}, MIN(taxpayer_no), MAX(taxpayer_no) FROM {table}
                WHERE municipality_id = %(m)s GROUP BY {canonical} HAVING COUNT(*) > 1
                ORDER BY 1 LIMIT 5""",  # noqa: S608
            params,
        )
        clashes = [f"{low} と {high}" for _, low, high in cur.fetchall()]
        if clashes:
            raise ValidationError(
                f"{width}桁にそろえると同じ番号になる宛名があります（{'、'.join(clashes)}）。"
                "名寄せなどで整理してから設定してください"
            )
        cur.execute(
            f"""UPDATE {table} SET taxpayer_no = {canonical}
                WHERE municipality_id = %(m)s AND taxpayer_no <> {canonical}""",  # noqa: S608
            params,
        )
        return int(cur.rowcount)
