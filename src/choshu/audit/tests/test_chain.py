"""The audit trail is append-only and tamper-evident against the database's own role (issue 14 §1).

Each attack is made the way an intruder holding the application's database role would: plain SQL
(with the append-only triggers switched off, which that role cannot do — so this is stronger), but
without the audit key, which lives outside the database.
"""

from __future__ import annotations

import hashlib
import json
import threading
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from choshu.audit import checkpoints
from choshu.audit.macs import GENESIS, canonical, seal_mac
from choshu.audit.models import AuditKind, AuditLog, AuditPending, AuditSeal, chain_of
from choshu.audit.sealing import head, purge_before, seal_all, seal_chain
from choshu.audit.selectors import audit_chain_verify
from choshu.audit.services import audit_record


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


def sealed(municipality: Any, n: int = 5) -> list[AuditLog]:
    logs = write_logs(municipality, n)
    seal_all(force_checkpoint=True)
    return logs


def verify() -> tuple[int, dict[str, Any]]:
    out = StringIO()
    try:
        call_command("audit_verify", "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def problems() -> list[str]:
    return [p.problem for p in audit_chain_verify().problems]


def raw(sql: str, params: list[Any]) -> None:
    """Tamper with plain SQL, the append-only triggers switched off first."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = replica")  # superuser: triggers off
        else:
            cur.execute("DROP TRIGGER IF EXISTS audit_auditlog_no_update")
            cur.execute("DROP TRIGGER IF EXISTS audit_auditseal_no_update")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = origin")


def delete_record(log_id: int) -> None:
    raw("DELETE FROM audit_auditsubject WHERE log_id = %s", [log_id])
    raw("DELETE FROM audit_auditseal WHERE log_id = %s", [log_id])
    raw("DELETE FROM audit_auditpending WHERE log_id = %s", [log_id])
    raw("DELETE FROM audit_auditlog WHERE id = %s", [log_id])


def test_records_are_signed_queued_then_sealed_in_order_and_verify_clean(municipality: Any) -> None:
    logs = write_logs(municipality)
    assert AuditPending.objects.count() == 5 and not AuditSeal.objects.exists()
    report = audit_chain_verify()
    assert report.ok and report.pending == 5
    seal_all(force_checkpoint=True)
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [s.log_id for s in seals] == [log.pk for log in logs] and [s.seq for s in seals] == [1, 2, 3, 4, 5]
    prev = GENESIS
    for seal, log in zip(seals, logs, strict=True):
        assert seal.mac == seal_mac(
            chain=municipality.pk, seq=seal.seq, log_id=log.pk, record_mac=log.row_mac, prev=prev
        )
        prev = seal.mac
    assert not AuditPending.objects.exists()
    code, payload = verify()
    assert code == 0 and payload["ok"] and payload["records"] == 5 and payload["pending"] == 0
    [chain] = payload["chains"]
    assert chain["chain"] == municipality.pk and chain["head_seq"] == 5 and chain["checkpoint_size"] == 5


def test_each_municipality_has_its_own_chain(municipality: Any, other_municipality: Any) -> None:
    write_logs(municipality, 3)
    write_logs(other_municipality, 2)
    audit_record(kind=AuditKind.LOGIN_FAILED, function="ログイン", municipality=None)
    result = seal_chain(chain_of(other_municipality.pk))
    assert result.sealed == 2 and head(municipality.pk) == (0, GENESIS)  # one tenant's sealing alone
    seal_all(force_checkpoint=True)
    assert head(municipality.pk)[0] == 3 and head(other_municipality.pk)[0] == 2 and head(0)[0] == 1
    assert audit_chain_verify().ok
    assert audit_chain_verify(chains=[municipality.pk]).chains[0].sealed == 3


def test_an_edited_record_is_detected(municipality: Any) -> None:
    logs = sealed(municipality)
    raw("UPDATE audit_auditlog SET function = %s WHERE id = %s", ["改ざん", logs[2].pk])
    code, report = verify()
    assert code == 1
    assert {"id": logs[2].pk, "problem": "内容が署名と一致しません（改ざん・偽造の疑い）"} in report[
        "problems"
    ]


def test_a_record_forged_without_the_key_is_never_sealed_and_is_reported(municipality: Any) -> None:
    sealed(municipality, 2)
    forged = AuditLog(
        municipality=municipality, kind=AuditKind.ACCESS, at=timezone.now(), function="宛名照会", nonce="x"
    )
    forged.row_mac = hashlib.sha256(canonical(forged)).hexdigest()  # all an intruder can compute
    forged.save()
    AuditPending.objects.create(chain=municipality.pk, log=forged, at=forged.at)
    [result] = seal_all()
    assert result.sealed == 0 and result.refused == 1
    assert not AuditSeal.objects.filter(log=forged).exists()
    assert (forged.pk, "内容が署名と一致しません（改ざん・偽造の疑い）") in [
        (p.id, p.problem) for p in audit_chain_verify().problems
    ]


def test_a_seal_forged_for_an_inserted_record_is_detected(municipality: Any) -> None:
    logs = sealed(municipality, 3)
    copy = AuditLog.objects.get(pk=logs[1].pk)
    copy.pk = None
    copy.row_mac = "f" * 64
    copy.save()
    AuditSeal.objects.create(chain=municipality.pk, seq=4, log=copy, mac="0" * 64, sealed_at=timezone.now())
    found = problems()
    assert "内容が署名と一致しません（改ざん・偽造の疑い）" in found
    assert "封印が前の記録とつながりません（挿入・並べ替え・偽造の疑い）" in found


@pytest.mark.parametrize("which", [0, 2], ids=["first", "middle"])
def test_a_deleted_first_or_middle_record_leaves_a_gap(municipality: Any, which: int) -> None:
    logs = sealed(municipality)
    delete_record(logs[which].pk)
    report = audit_chain_verify()
    assert not report.ok
    assert f"封印番号 {which + 1}〜{which + 1} の記録がありません（削除の疑い）" in [
        p.problem for p in report.problems
    ]


def test_a_deleted_last_record_is_caught_by_the_signed_checkpoint(municipality: Any) -> None:
    logs = sealed(municipality)
    delete_record(logs[-1].pk)
    code, report = verify()
    assert code == 1
    assert any("末尾の記録の削除の疑い" in p["problem"] for p in report["problems"])


def test_reordered_seals_are_detected(municipality: Any) -> None:
    logs = sealed(municipality, 3)
    raw("UPDATE audit_auditseal SET seq = -1 WHERE log_id = %s", [logs[0].pk])
    raw("UPDATE audit_auditseal SET seq = 1 WHERE log_id = %s", [logs[1].pk])
    raw("UPDATE audit_auditseal SET seq = 2 WHERE log_id = %s", [logs[0].pk])
    assert "封印が前の記録とつながりません（挿入・並べ替え・偽造の疑い）" in problems()


def test_a_forged_purge_permit_and_deleted_oldest_rows_are_detected(municipality: Any) -> None:
    """The issue's first attack: insert a permit, delete rows 1–3 (triggers on, PostgreSQL)."""
    logs = sealed(municipality)
    with connection.cursor() as cur:
        cur.execute("INSERT INTO audit_auditpurgepermit (created_at) VALUES (%s)", [timezone.now()])
        ids = [log.pk for log in logs[:3]]
        marks = ",".join(["%s"] * len(ids))
        cur.execute(f"DELETE FROM audit_auditsubject WHERE log_id IN ({marks})", ids)
        cur.execute(f"DELETE FROM audit_auditseal WHERE log_id IN ({marks})", ids)
        cur.execute(f"DELETE FROM audit_auditlog WHERE id IN ({marks})", ids)
    found = problems()
    assert "封印番号 1〜3 の記録がありません（削除の疑い）" in found
    assert "監査ログの削除許可が残っています（消去処理の外で作られた疑い）" in found


def test_a_removed_per_person_index_row_is_detected(municipality: Any) -> None:
    logs = sealed(municipality)
    raw("DELETE FROM audit_auditsubject WHERE log_id = %s", [logs[3].pk])
    assert (logs[3].pk, "対象者の索引が記録と一致しません（索引の削除・追加の疑い）") in [
        (p.id, p.problem) for p in audit_chain_verify().problems
    ]


def test_an_unsealed_record_taken_off_the_queue_is_detected(municipality: Any) -> None:
    logs = write_logs(municipality, 2)
    AuditPending.objects.filter(log=logs[1]).delete()
    assert (logs[1].pk, "封印されておらず封印待ちの列からも外されています（隠ぺいの疑い）") in [
        (p.id, p.problem) for p in audit_chain_verify().problems
    ]


def test_an_edited_or_removed_checkpoint_is_detected(municipality: Any) -> None:
    sealed(municipality)
    path = checkpoints.checkpoint_path()
    line = json.loads(path.read_text().splitlines()[-1])
    line["size"] = 3  # pretend fewer records were ever sealed
    path.write_text(json.dumps(line) + "\n")
    assert (
        "チェックポイント 1 行目: チェックポイントの署名が一致しません（改ざん・別の鍵の疑い）" in problems()
    )
    path.unlink()
    assert any("署名付きチェックポイントがありません" in p for p in problems())


def test_the_retention_purge_is_a_signed_event_and_the_rest_still_verifies(municipality: Any) -> None:
    logs = sealed(municipality, 6)
    # The four oldest are the ones past retention: the purge removes records by seal order up to the
    # first one written on or after the cutoff day.
    raw("UPDATE audit_auditlog SET at = %s WHERE id <= %s", [logs[0].at.replace(year=2000), logs[3].pk])
    cutoff = logs[4].at.date()
    deleted = purge_before(cutoff)
    assert deleted == 4
    entries = [e for e in checkpoints.read() if isinstance(e, checkpoints.Checkpoint) and e.type == "purge"]
    assert [(e.chain, e.size, e.count) for e in entries] == [(municipality.pk, 4, 4)]
    report = audit_chain_verify()
    assert report.ok, report.problems
    assert report.chains[0].start_seq == 5 and report.chains[0].sealed == 2
    delete_record(logs[4].pk)  # a later deletion at the new start is still a gap
    assert "封印番号 5〜5 の記録がありません（削除の疑い）" in problems()


def test_the_purge_never_removes_a_chain_s_newest_seal(municipality: Any) -> None:
    sealed(municipality, 2)
    assert purge_before(timezone.localdate().replace(year=2999)) == 1
    assert AuditSeal.objects.count() == 1 and audit_chain_verify().ok


def test_records_are_sealed_right_after_their_transaction_commits(
    municipality: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        write_logs(municipality, 1)
    assert AuditSeal.objects.count() == 1 and not AuditPending.objects.exists()
    assert checkpoints.checkpoint_path().exists()
    assert audit_chain_verify().ok


def test_audit_seal_command_and_public_key(municipality: Any) -> None:
    write_logs(municipality, 2)
    out = StringIO()
    call_command("audit_seal", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["sealed"] == 2 and Path(payload["checkpoint_file"]).exists()
    out = StringIO()
    call_command("audit_verify", "--public-key", "--json", stdout=out)
    assert len(json.loads(out.getvalue())["public_key"]) == 44


def test_the_database_refuses_updates_of_audit_rows_and_seals(municipality: Any) -> None:
    logs = sealed(municipality, 1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditLog.objects.filter(pk=logs[0].pk).update(function="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSeal.objects.filter(log=logs[0]).update(mac="0" * 64)
    assert AuditLog.objects.get(pk=logs[0].pk).function == "宛名照会"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="DELETE trigger is PostgreSQL-only")
def test_postgresql_refuses_deleting_audit_rows_and_seals_without_a_purge_permit(municipality: Any) -> None:
    logs = sealed(municipality, 1)
    for sql in ("DELETE FROM audit_auditseal WHERE log_id = %s", "DELETE FROM audit_auditlog WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [logs[0].pk])
    assert AuditSeal.objects.filter(log=logs[0]).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_chain_being_sealed_elsewhere_is_left_to_that_process_without_waiting(municipality: Any) -> None:
    write_logs(municipality, 2)  # committed one by one: the first is sealed at once, the second waits
    waiting = AuditPending.objects.count()
    assert waiting >= 1
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x43484F53, municipality.pk])
            held.set()
            release.wait(10)
        connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        assert seal_chain(municipality.pk).busy
        assert AuditPending.objects.count() == waiting
    finally:
        release.set()
        thread.join()
    assert seal_chain(municipality.pk).sealed == waiting and head(municipality.pk)[0] == 2


def test_a_queue_row_added_for_a_sealed_record_does_not_stop_the_sealer(municipality: Any) -> None:
    logs = sealed(municipality, 2)
    AuditPending.objects.create(chain=municipality.pk, log=logs[0], at=logs[0].at)  # would seal it twice
    write_logs(municipality, 1)
    [result] = seal_all()
    assert result.sealed == 1 and head(municipality.pk)[0] == 3 and not AuditPending.objects.exists()
    assert audit_chain_verify().ok


def test_a_malformed_audit_key_is_named_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from choshu.audit.keys import audit_key_problem

    monkeypatch.setenv("CHOSHU_AUDIT_KEY", "not-base64!")
    assert "環境変数 CHOSHU_AUDIT_KEY（監査ログ署名鍵）が base64 ではありません" in (
        audit_key_problem() or ""
    )
    monkeypatch.setenv("CHOSHU_AUDIT_KEY", "YWJj")  # 3 bytes
    assert "の鍵が 3 バイトです（32 バイトが必要です）" in (audit_key_problem() or "")
