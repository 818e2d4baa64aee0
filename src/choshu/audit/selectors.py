"""Reading and verifying the audit trail (``choshu audit-verify``, 監査ログ › 改ざん検証).

The verifier trusts only the key (outside the database) and the signed checkpoint file (outside the
database). For every chain it walks the seals in order from the chain's start — sequence 1, or the
first after a signed purge record — and checks:

* each record's signature over its content (an edited or forged record fails);
* each seal's link to the previous one (an inserted, reordered or forged seal fails);
* that the sequence has no gap (a deleted first or middle record leaves one);
* that the per-person index (``AuditSubject``) holds exactly the record's subjects;
* that the newest signed checkpoint's size and head are still there (a deleted last record fails).

Records not yet sealed are checked for their signature and must still be queued; the oldest of them
gives the sealing lag shown to the auditor. A purge permit left in the table is reported too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from choshu.audit import checkpoints
from choshu.audit.checkpoints import BadLine, Checkpoint
from choshu.audit.macs import GENESIS, row_mac, seal_mac
from choshu.audit.models import (
    AuditLog,
    AuditPending,
    AuditPurgePermit,
    AuditSeal,
    AuditSubject,
    AuditSubjectType,
    chain_of,
)

CHUNK = 5000


@dataclass(frozen=True)
class ChainProblem:
    id: int  # the record's number (0: not about one record)
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "problem": self.problem}


@dataclass
class ChainState:
    chain: int
    sealed: int = 0
    head_seq: int = 0
    head_mac: str = GENESIS
    start_seq: int = 1
    checkpoint_size: int | None = None
    checkpoint_at: datetime | None = None
    pending: int = 0
    oldest_pending: datetime | None = None

    def lag_seconds(self, now: datetime) -> int:
        return int((now - self.oldest_pending).total_seconds()) if self.oldest_pending else 0

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "sealed": self.sealed,
            "head_seq": self.head_seq,
            "head_mac": self.head_mac,
            "start_seq": self.start_seq,
            "checkpoint_size": self.checkpoint_size,
            "checkpoint_at": self.checkpoint_at.isoformat() if self.checkpoint_at else None,
            "pending": self.pending,
            "lag_seconds": self.lag_seconds(now),
        }


@dataclass
class ChainReport:
    chains: list[ChainState]
    problems: list[ChainProblem]
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def records(self) -> int:
        return sum(c.sealed + c.pending for c in self.chains)

    @property
    def pending(self) -> int:
        return sum(c.pending for c in self.chains)

    @property
    def lag_seconds(self) -> int:
        return max((c.lag_seconds(self.checked_at) for c in self.chains), default=0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "pending": self.pending,
            "lag_seconds": self.lag_seconds,
            "chains": [c.as_dict(self.checked_at) for c in self.chains],
            "problems": [p.as_dict() for p in self.problems],
        }


class _Problems:
    def __init__(self, limit: int) -> None:
        self.items: list[ChainProblem] = []
        self.limit = limit

    def add(self, log_id: int, text: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(ChainProblem(log_id, text))


def _subjects(log_ids: list[int]) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    for log_id, taxpayer_id in AuditSubject.objects.filter(log_id__in=log_ids).values_list(
        "log_id", "taxpayer_id"
    ):
        found[log_id].add(taxpayer_id)
    return found


def _expected_subjects(log: AuditLog) -> set[int]:
    if log.municipality_id is None or log.subject_type != AuditSubjectType.TAXPAYER:
        return set()
    return {int(i) for i in log.subject_ids}


def _check_record(log: AuditLog, subjects: dict[int, set[int]], problems: _Problems) -> None:
    if row_mac(log) != log.row_mac:
        problems.add(log.pk, "内容が署名と一致しません（改ざん・偽造の疑い）")
    if subjects.get(log.pk, set()) != _expected_subjects(log):
        problems.add(log.pk, "対象者の索引が記録と一致しません（索引の削除・追加の疑い）")


def _read_checkpoints(
    problems: _Problems,
) -> tuple[dict[int, Checkpoint], dict[int, Checkpoint]]:
    latest: dict[int, Checkpoint] = {}
    purged: dict[int, Checkpoint] = {}
    for entry in checkpoints.read():
        if isinstance(entry, BadLine):
            problems.add(0, f"チェックポイント {entry.line} 行目: {entry.problem}")
        elif entry.type == "purge":
            if entry.chain not in purged or entry.size > purged[entry.chain].size:
                purged[entry.chain] = entry
        elif entry.type == "restore" or entry.chain not in latest or entry.size > latest[entry.chain].size:
            latest[entry.chain] = entry  # a restore from backup resets the reference
    return latest, purged


def _walk(state: ChainState, purge: Checkpoint | None, cp: Checkpoint | None, problems: _Problems) -> None:
    chain = state.chain
    prev = purge.head if purge else GENESIS
    expected = state.start_seq = purge.size + 1 if purge else 1
    cp_matches: bool | None = None
    last_seq = expected - 1
    while True:
        chunk = list(
            AuditSeal.objects.filter(chain=chain, seq__gt=last_seq)
            .select_related("log")
            .order_by("seq")[:CHUNK]
        )
        if not chunk:
            break
        subjects = _subjects([s.log_id for s in chunk])
        for seal in chunk:
            log = seal.log
            if seal.seq != expected:
                problems.add(
                    log.pk,
                    f"封印番号 {expected}〜{seal.seq - 1} の記録がありません（削除の疑い）",
                )
            if chain_of(log.municipality_id) != chain:
                problems.add(log.pk, "別の団体の連鎖に封印されています（移し替えの疑い）")
            _check_record(log, subjects, problems)
            link = seal_mac(chain=chain, seq=seal.seq, log_id=log.pk, record_mac=log.row_mac, prev=prev)
            if seal.mac != link:
                problems.add(log.pk, "封印が前の記録とつながりません（挿入・並べ替え・偽造の疑い）")
            if cp is not None and seal.seq == cp.size:
                cp_matches = seal.mac == cp.head
            prev = seal.mac
            expected = seal.seq + 1
            last_seq = seal.seq
            state.sealed += 1
        state.head_seq, state.head_mac = last_seq, prev
    if cp is not None:
        state.checkpoint_size, state.checkpoint_at = cp.size, datetime.fromisoformat(cp.at)
        if cp.size > last_seq:
            problems.add(
                0,
                f"署名付きチェックポイント（{cp.at}、{cp.size} 件目まで）より封印済みの記録が少なくなっています"
                f"（{last_seq} 件目まで）: 末尾の記録の削除の疑い",
            )
        elif cp_matches is False:
            problems.add(0, f"署名付きチェックポイント（{cp.size} 件目）のハッシュ値と記録が一致しません")
    elif state.sealed:
        problems.add(
            0,
            f"封印済みの記録があるのに署名付きチェックポイントがありません（{checkpoints.checkpoint_path()}）:"
            " チェックポイントファイルの削除・置き換えの疑い",
        )


def _scope(chains: set[int] | None) -> Q:
    if chains is None:
        return Q()
    q = Q(municipality_id__in=[c for c in chains if c])
    return q | Q(municipality_id__isnull=True) if 0 in chains else q


def _check_unsealed(chains: set[int] | None, states: dict[int, ChainState], problems: _Problems) -> None:
    """Check the queued records, then count: every record must be sealed or queued.

    The queue is small, so this costs little; only when the count says a record is neither sealed
    nor queued are all records walked (in id order, by index look-ups) to name it.
    """
    queue = AuditPending.objects.select_related("log").filter(log__seal__isnull=True)
    if chains is not None:
        queue = queue.filter(chain__in=chains)
    last_id = 0
    while True:
        chunk = list(queue.filter(log_id__gt=last_id).order_by("log_id")[:CHUNK])
        if not chunk:
            break
        subjects = _subjects([p.log_id for p in chunk])
        for pending in chunk:
            last_id = pending.log_id
            log = pending.log
            state = states.setdefault(
                chain_of(log.municipality_id), ChainState(chain_of(log.municipality_id))
            )
            _check_record(log, subjects, problems)
            state.pending += 1
            if state.oldest_pending is None or log.at < state.oldest_pending:
                state.oldest_pending = log.at
    records = AuditLog.objects.filter(_scope(chains))
    accounted = sum(c.sealed + c.pending for c in states.values())
    if records.count() <= accounted:
        return
    last_id = 0
    while True:
        ids = list(records.filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[:CHUNK])
        if not ids:
            break
        last_id = ids[-1]
        known = set(AuditSeal.objects.filter(log_id__in=ids).values_list("log_id", flat=True))
        known |= set(AuditPending.objects.filter(log_id__in=ids).values_list("log_id", flat=True))
        lost = [i for i in ids if i not in known]
        subjects = _subjects(lost)
        for log in AuditLog.objects.filter(id__in=lost).order_by("id"):
            _check_record(log, subjects, problems)
            problems.add(log.pk, "封印されておらず封印待ちの列からも外されています（隠ぺいの疑い）")


def audit_chain_verify(*, chains: Iterable[int] | None = None, limit: int = 1000) -> ChainReport:
    """Verify every chain (or only ``chains``) against the key and the signed checkpoints."""
    wanted = None if chains is None else set(chains)
    problems = _Problems(limit)
    latest, purged = _read_checkpoints(problems)
    known = set(AuditSeal.objects.values_list("chain", flat=True).distinct()) | set(latest) | set(purged)
    if wanted is not None:
        known &= wanted
    states = {chain: ChainState(chain) for chain in known}
    for chain in sorted(known):
        _walk(states[chain], purged.get(chain), latest.get(chain), problems)
    _check_unsealed(wanted, states, problems)
    if AuditPurgePermit.objects.exists():
        problems.add(0, "監査ログの削除許可が残っています（消去処理の外で作られた疑い）")
    return ChainReport(chains=[states[c] for c in sorted(states)], problems=problems.items)
