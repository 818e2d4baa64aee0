"""Sealing: linking each municipality's records into its chain, in batches, and checkpointing the head.

A request only inserts its record (signed) and a row in ``AuditPending``. The sealer takes a chain's
pending records in id order, checks each record's signature, gives it the next sequence number and a
seal ``mac`` = HMAC(previous mac, seq, id, row_mac), and removes it from the queue — one transaction
per batch, under a per-chain lock that is only *tried* (``pg_try_advisory_xact_lock``): a process
that finds the chain being sealed leaves the work to the one sealing, so nobody waits, and one
municipality's sealing never holds up another's.

Who seals: every process right after a transaction that wrote records commits (at most once per
``CHOSHU_AUDIT_SEAL_SECONDS`` per chain and process), the background worker every few seconds, and
``choshu audit-seal`` (cron). The lag — how long a record waits unsealed — is shown to the auditor
(``choshu audit-verify``, 監査ログ › 改ざん検証). After sealing, a signed checkpoint of the head is
appended outside the database at most once per ``CHOSHU_AUDIT_CHECKPOINT_SECONDS`` per chain and
process (``audit.checkpoints``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from choshu.audit import checkpoints
from choshu.audit.macs import GENESIS, row_mac, seal_mac
from choshu.audit.models import AuditLog, AuditPending, AuditPurgePermit, AuditSeal

logger = logging.getLogger("choshu.audit")
BATCH = 2000
_LOCK_NAMESPACE = 0x43484F53  # "CHOS": the per-chain sealing lock is (namespace, chain)

# Per process: when each chain was last sealed / checkpointed (monotonic seconds). Keyed by the
# checkpoint directory too, so tests (each with its own directory) do not see each other's.
_last_sealed: dict[tuple[str, int], float] = {}
_last_checkpoint: dict[tuple[str, int], float] = {}


def _key(chain: int) -> tuple[str, int]:
    return (str(settings.CHOSHU_AUDIT_CHECKPOINT_DIR), chain)


@dataclass(frozen=True)
class SealResult:
    chain: int
    sealed: int
    refused: int  # pending records whose signature does not verify: left for the verifier to report
    head_seq: int
    busy: bool  # another process held the chain's lock


def head(chain: int) -> tuple[int, str]:
    """The chain's last seal: (seq, mac), or (0, GENESIS) before the first."""
    last = AuditSeal.objects.filter(chain=chain).order_by("-seq").values_list("seq", "mac").first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def _try_lock(chain: int) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: one writer at a time; a duplicate seq is refused by the unique index
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, chain])
        return bool(cur.fetchone()[0])


def seal_chain(chain: int, *, batch: int = BATCH) -> SealResult:
    """Seal up to ``batch`` pending records of one chain (one transaction)."""
    with transaction.atomic():
        if not _try_lock(chain):
            return SealResult(chain, 0, 0, 0, busy=True)
        queue = AuditPending.objects.filter(chain=chain)
        # A queue row for a record already sealed (not written by choshu) is dropped, not resealed.
        queue.filter(log__seal__isnull=False).delete()
        ids = list(queue.order_by("log_id").values_list("log_id", flat=True)[:batch])
        seq, prev = head(chain)
        if not ids:
            return SealResult(chain, 0, 0, seq, busy=False)
        now = timezone.now()
        seals: list[AuditSeal] = []
        refused = 0
        for log in AuditLog.objects.filter(id__in=ids).order_by("id").iterator(chunk_size=batch):
            if log.row_mac != row_mac(log):
                refused += 1  # not written by choshu (or edited): never sealed into the chain
                continue
            seq += 1
            prev = seal_mac(chain=chain, seq=seq, log_id=log.pk, record_mac=log.row_mac, prev=prev)
            seals.append(AuditSeal(chain=chain, seq=seq, log_id=log.pk, mac=prev, sealed_at=now))
        AuditSeal.objects.bulk_create(seals)
        AuditPending.objects.filter(log_id__in=[s.log_id for s in seals]).delete()
    if refused:
        logger.error("監査ログ: 署名の一致しない封印待ちの記録が %s 件あります（chain %s）", refused, chain)
    return SealResult(chain, len(seals), refused, seq, busy=False)


def checkpoint(chain: int) -> dict[str, object] | None:
    """Append a signed checkpoint of the chain's current head (nothing for an empty chain)."""
    seq, mac = head(chain)
    if seq == 0:
        return None
    _last_checkpoint[_key(chain)] = time.monotonic()
    return checkpoints.append({"type": "checkpoint", "chain": chain, "size": seq, "head": mac})


def restore_checkpoints() -> None:
    """After a restore from backup: append a signed ``restore`` line with each chain's head as
    restored. The verifier takes it as the chain's reference from then on, so the records written
    after the backup (lost by the restore, as everything else) are not reported as deleted."""
    for chain in sorted(AuditSeal.objects.values_list("chain", flat=True).distinct()):
        seq, mac = head(chain)
        checkpoints.append({"type": "restore", "chain": chain, "size": seq, "head": mac})


def pending_chains() -> list[int]:
    return sorted(AuditPending.objects.values_list("chain", flat=True).distinct())


def seal_all(*, force_checkpoint: bool = False) -> list[SealResult]:
    """Seal every chain's whole queue and checkpoint it (the worker, ``choshu audit-seal``)."""
    results: list[SealResult] = []
    chains = set(pending_chains())
    if force_checkpoint:
        chains |= set(AuditSeal.objects.values_list("chain", flat=True).distinct())
    for chain in sorted(chains):
        total = 0
        while True:
            result = seal_chain(chain)
            total += result.sealed
            if result.busy or result.sealed == 0:
                break
        results.append(SealResult(chain, total, result.refused, head(chain)[0], result.busy))
        if total or force_checkpoint:
            _maybe_checkpoint(chain, force=force_checkpoint)
    return results


def _maybe_checkpoint(chain: int, *, force: bool = False) -> None:
    last = _last_checkpoint.get(_key(chain))
    if force or last is None or time.monotonic() - last >= settings.CHOSHU_AUDIT_CHECKPOINT_SECONDS:
        checkpoint(chain)


def seal_soon(chain: int) -> None:
    """After a commit that wrote records: seal the chain now unless this process did so very lately.

    Never raises: a failure leaves the records queued for the next sealer, and is logged.
    """
    key = _key(chain)
    now = time.monotonic()
    last = _last_sealed.get(key)
    if last is not None and now - last < settings.CHOSHU_AUDIT_SEAL_SECONDS:
        return
    _last_sealed[key] = now
    try:
        result = seal_chain(chain)
        if result.sealed:
            _maybe_checkpoint(chain)
    except (DatabaseError, IntegrityError, OSError):
        logger.exception("監査ログの封印を後回しにしました（chain %s）", chain)


def oldest_pending() -> datetime | None:
    return AuditPending.objects.order_by("at").values_list("at", flat=True).first()


def forget_process_state() -> None:
    """For tests: forget when this process last sealed or checkpointed."""
    _last_sealed.clear()
    _last_checkpoint.clear()


def purge_before(cutoff: date) -> int:
    """Delete each chain's sealed records older than ``cutoff`` (the audit log's own retention).

    Only a prefix of a chain goes, and never its newest seal (the chain continues from it). Before
    the rows go, a signed ``purge`` line (the last purged sequence number, its seal and the count) is
    appended to the checkpoint file in the same transaction: the verifier starts the chain there, so
    the purge is itself a signed, checkpointed event, and rows deleted by anyone else leave a gap.
    """
    total = 0
    for chain in sorted(AuditSeal.objects.values_list("chain", flat=True).distinct()):
        last_seq, _ = head(chain)
        first_kept = (
            AuditSeal.objects.filter(chain=chain, log__at__date__gte=cutoff)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        through = min(last_seq - 1, (first_kept - 1) if first_kept is not None else last_seq)
        doomed = AuditSeal.objects.filter(chain=chain, seq__lte=through)
        with transaction.atomic():
            count = doomed.count()
            if not count:
                continue
            through_mac = AuditSeal.objects.get(chain=chain, seq=through).mac
            permit = AuditPurgePermit.objects.create()
            with connection.cursor() as cur:
                seals = "SELECT log_id FROM audit_auditseal WHERE chain = %s AND seq <= %s"
                cur.execute(f"DELETE FROM audit_auditsubject WHERE log_id IN ({seals})", [chain, through])
                # The seals' foreign keys are checked at commit: the records may go first.
                cur.execute(f"DELETE FROM audit_auditlog WHERE id IN ({seals})", [chain, through])
                cur.execute("DELETE FROM audit_auditseal WHERE chain = %s AND seq <= %s", [chain, through])
            checkpoints.append(
                {"type": "purge", "chain": chain, "through": through, "head": through_mac, "count": count}
            )
            permit.delete()
        total += count
    return total


def start_sealer(interval: float) -> threading.Event:
    """Seal every chain every ``interval`` seconds in a background thread until the event is set."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                seal_all()
            except Exception:  # noqa: BLE001 — a sealing failure must not stop the worker
                logger.exception("監査ログの定期封印に失敗しました")
            finally:
                close_old_connections()

    threading.Thread(target=loop, name="choshu-audit-sealer", daemon=True).start()
    return stop
