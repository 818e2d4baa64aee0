"""Reading and verifying the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from choshu.audit.models import AuditChainAnchor, AuditLog
from choshu.audit.services import GENESIS, compute_hash

CHUNK = 5000


@dataclass(frozen=True)
class ChainProblem:
    id: int
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "problem": self.problem}


@dataclass(frozen=True)
class ChainReport:
    records: int
    head_id: int | None
    head_hash: str
    problems: list[ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "problems": [p.as_dict() for p in self.problems],
        }


def audit_chain_verify(*, limit: int = 1000) -> ChainReport:
    """Recompute every record's hash and check that each points at its predecessor.

    An edited row no longer matches its hash; a deleted row breaks the link of the row after it;
    a row inserted out of band cannot carry a valid link. Record the head hash printed here
    somewhere else (docs/operations.md) to detect a truncated tail as well.
    """
    anchor = AuditChainAnchor.objects.order_by("-last_purged_id").first()
    expected_prev = anchor.last_purged_hash if anchor else GENESIS
    last_id = anchor.last_purged_id if anchor else 0
    problems: list[ChainProblem] = []
    count = 0
    head_id: int | None = None
    while True:
        chunk = list(AuditLog.objects.filter(id__gt=last_id).order_by("id")[:CHUNK])
        if not chunk:
            break
        for log in chunk:
            count += 1
            if log.prev_hash != expected_prev and len(problems) < limit:
                problems.append(
                    ChainProblem(log.pk, "前のレコードとの連鎖が切れています（削除・挿入の疑い）")
                )
            if compute_hash(log) != log.record_hash and len(problems) < limit:
                problems.append(ChainProblem(log.pk, "内容がハッシュと一致しません（改ざんの疑い）"))
            expected_prev = log.record_hash
            head_id = log.pk
        last_id = chunk[-1].pk
    return ChainReport(records=count, head_id=head_id, head_hash=expected_prev, problems=problems)
