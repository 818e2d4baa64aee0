"""The audit log is append-only and tamper-evident (seed section III: access and operator logs)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from choshu.audit.models import AuditKind, AuditLog
from choshu.audit.selectors import audit_chain_verify
from choshu.audit.services import GENESIS, audit_record


def write_logs(municipality: Any, n: int = 5) -> list[AuditLog]:
    return [
        audit_record(
            kind=AuditKind.ACCESS,
            function="宛名照会",
            municipality=municipality,
            subject_type="taxpayer",
            subject_ids=[i],
            detail={"n": i},
        )
        for i in range(1, n + 1)
    ]


def verify() -> tuple[int, dict[str, Any]]:
    out = StringIO()
    try:
        call_command("audit_verify", "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def raw(sql: str, params: list[Any]) -> None:
    """Tamper the way an intruder with database access would: plain SQL, triggers dropped first."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = replica")  # superuser: triggers off
        else:
            cur.execute("DROP TRIGGER IF EXISTS audit_auditlog_no_update")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = origin")


def test_records_are_linked_from_the_genesis_and_verify_clean(municipality: Any) -> None:
    logs = write_logs(municipality)
    assert logs[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.record_hash for a, b in zip(logs, logs[1:], strict=False))
    code, report = verify()
    assert (
        code == 0 and report["ok"] and report["records"] == 5 and report["head_hash"] == logs[-1].record_hash
    )


def test_an_edited_record_is_detected(municipality: Any) -> None:
    logs = write_logs(municipality)
    raw("UPDATE audit_auditlog SET function = %s WHERE id = %s", ["改ざん", logs[2].pk])
    code, report = verify()
    assert code == 1
    assert {"id": logs[2].pk, "problem": "内容がハッシュと一致しません（改ざんの疑い）"} in report["problems"]


def test_a_deleted_record_is_detected_by_the_broken_link(municipality: Any) -> None:
    logs = write_logs(municipality)
    raw("DELETE FROM audit_auditsubject WHERE log_id = %s", [logs[1].pk])
    raw("DELETE FROM audit_auditlog WHERE id = %s", [logs[1].pk])
    report = audit_chain_verify()
    assert not report.ok and report.problems[0].id == logs[2].pk


def test_a_rehashed_edit_still_breaks_the_next_link(municipality: Any) -> None:
    logs = write_logs(municipality)
    forged = AuditLog.objects.get(pk=logs[1].pk)
    forged.detail = {"n": 999}
    from choshu.audit.services import compute_hash

    raw(
        "UPDATE audit_auditlog SET detail = %s, record_hash = %s WHERE id = %s",
        [json.dumps({"n": 999}), compute_hash(forged), logs[1].pk],
    )
    report = audit_chain_verify()
    assert [p.id for p in report.problems] == [logs[2].pk]


def test_the_database_refuses_updates_of_audit_rows(municipality: Any) -> None:
    logs = write_logs(municipality, 1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=logs[0].pk).update(function="x")
    assert AuditLog.objects.get(pk=logs[0].pk).function == "宛名照会"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="DELETE trigger is PostgreSQL-only")
def test_postgresql_refuses_deleting_audit_rows_without_a_purge_permit(municipality: Any) -> None:
    logs = write_logs(municipality, 1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditlog WHERE id = %s", [logs[0].pk])
    assert AuditLog.objects.filter(pk=logs[0].pk).exists()
