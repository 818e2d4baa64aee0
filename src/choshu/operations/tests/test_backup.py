"""``choshu backup`` / ``choshu restore``: encrypted, restricted to the backup right, restores exactly."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from choshu.accounts.models import Role
from choshu.accounts.permissions import Right
from choshu.accounts.services import right_set
from choshu.audit.models import AuditLog
from choshu.levies.models import Installment, LedgerEntry
from choshu.operations.backup import BackupError, decrypt_stream, encrypt_stream
from choshu.taxpayers.models import Taxpayer


def snapshot() -> list[Any]:
    return [
        list(
            Installment.objects.order_by("pk").values_list(
                "pk", "principal_levied", "principal_paid", "principal_outstanding"
            )
        ),
        list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount")),
        list(AuditLog.objects.order_by("pk").values_list("pk", "row_mac")),
        list(Taxpayer.objects.order_by("pk").values_list("pk", "name", "my_number_hash")),
    ]


@pytest.fixture
def operator(municipality: Any, make_user: Callable) -> Any:
    chief = make_user("chief", role=Role.CHIEF, municipality=municipality)
    ops = make_user("ops", role=Role.SUPPORT_CONTRACTOR, municipality=municipality)
    right_set(actor=chief, user=ops, right=Right.BACKUP, granted=True, reason="年次バックアップ担当")
    return ops


@pytest.mark.django_db(transaction=True)
def test_a_restore_gives_identical_balances_and_logs(
    municipality: Any, operator: Any, tmp_path: Path
) -> None:
    call_command("seed", "--taxpayers", "40", "--seed", "5", "--as-of", "2026-11-26", stdout=io.StringIO())
    backup = tmp_path / "choshu.bak"
    call_command("backup", "--output", str(backup), "--operator", "ops", stdout=io.StringIO())
    before = snapshot()
    assert b"\x00SQLite format" not in backup.read_bytes()[:100] and b"PGDMP" not in backup.read_bytes()[:100]
    assert (backup.stat().st_mode & 0o777) == 0o600
    Taxpayer.objects.filter(pk=Taxpayer.objects.first().pk).update(name="書き換え")  # type: ignore[union-attr]
    Installment.objects.update(principal_paid=0)
    call_command("restore", str(backup), "--operator", "ops", "--yes", stdout=io.StringIO())
    after = snapshot()
    assert after[:2] == before[:2] and after[3] == before[3]
    assert after[2][: len(before[2])] == before[2]  # the logs, plus the restore's own record
    out = io.StringIO()
    call_command("audit_verify", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True


@pytest.mark.django_db
def test_only_a_holder_of_the_backup_right_may_back_up(
    municipality: Any, make_user: Callable, tmp_path: Path
) -> None:
    make_user("clerk", role=Role.CLERK, municipality=municipality)
    make_user(
        "ops", role=Role.SUPPORT_CONTRACTOR, municipality=municipality
    )  # OPERATIONS only, no BACKUP yet
    for name in ("clerk", "ops", "nobody"):
        with pytest.raises(CommandError) as exc:
            call_command(
                "backup", "--output", str(tmp_path / "x.bak"), "--operator", name, stdout=io.StringIO()
            )
        assert exc.value.returncode == 2
    assert not (tmp_path / "x.bak").exists()


def test_a_tampered_or_truncated_backup_is_refused() -> None:
    data = bytes(range(256)) * 10000  # > 2 chunks
    sealed = io.BytesIO()
    encrypt_stream(io.BytesIO(data), sealed)
    raw = sealed.getvalue()
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(raw), out)
    assert out.getvalue() == data
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 1
    for bad in (bytes(flipped), raw[: len(raw) - 100], raw[: len(raw) // 2], b"not a backup"):
        with pytest.raises(BackupError):
            decrypt_stream(io.BytesIO(bad), io.BytesIO())
