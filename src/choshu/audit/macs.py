"""What the audit trail's keyed hashes cover (one place, for the writer, the sealer and the verifier)."""

from __future__ import annotations

import json

from choshu.audit.keys import chain_mac
from choshu.audit.models import AuditLog, chain_of

GENESIS = "0" * 64


def canonical(log: AuditLog) -> bytes:
    """The bytes a record's ``row_mac`` signs: every field but the id (unknown until the insert)."""
    payload = {
        "municipality": log.municipality_id,
        "kind": log.kind,
        "at": log.at.isoformat(),
        "user": log.user_id,
        "username": log.username,
        "client_addr": log.client_addr,
        "function": log.function,
        "subject_type": log.subject_type,
        "subject_ids": log.subject_ids,
        "detail": log.detail,
        "job": log.job_id,
        "nonce": log.nonce,
    }
    return json.dumps(
        payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def row_mac(log: AuditLog) -> str:
    """The record's signature under its chain's key (written with the record, in the request)."""
    return chain_mac(chain_of(log.municipality_id), b"record|" + canonical(log))


def seal_mac(*, chain: int, seq: int, log_id: int, record_mac: str, prev: str) -> str:
    """The link: the previous seal, this record's place (``seq``), its id and its signature."""
    return chain_mac(chain, f"seal|{chain}|{seq}|{log_id}|{record_mac}|{prev}".encode())
