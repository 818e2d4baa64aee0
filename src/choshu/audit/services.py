"""Writing audit records. Call these from services and views, inside the same transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from choshu.audit.models import AuditChainAnchor, AuditKind, AuditLog, AuditSubject, AuditSubjectType
from choshu.core.client_ip import client_ip
from choshu.core.models import Job, Municipality

GENESIS = "0" * 64
_LOCK_KEY = 0x43484F53  # "CHOS": one advisory lock serialises the chain on PostgreSQL

# What an app adds to every record about taxpayers: (user, taxpayer ids, whether the screen or file
# shows addresses, the day) → detail keys. ``taxpayers`` registers the 支援措置 flags (``protected``,
# ``address_shown``), so no caller of ``audit_record`` / ``audit_access`` can forget them.
SubjectFlags = Callable[[Any, list[int], bool, date], dict[str, Any]]
_SUBJECT_FLAGS: list[SubjectFlags] = []


def register_subject_flags(flags: SubjectFlags) -> None:
    if flags not in _SUBJECT_FLAGS:
        _SUBJECT_FLAGS.append(flags)


def _canonical(log: AuditLog) -> bytes:
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
        "prev_hash": log.prev_hash,
    }
    return json.dumps(
        payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def compute_hash(log: AuditLog) -> str:
    return hashlib.sha256(_canonical(log)).hexdigest()


# The client address of the work under way, for records written without the request at hand (a
# service called from a view: a change, a 決裁 request, approval or rejection). The web middleware
# ``accounts.middleware.AuditClientMiddleware`` sets it for each request; the console script sets
# ``CLI_CLIENT``. Empty outside both (a service called directly, e.g. from a test).
CLI_CLIENT = "cli"
_CURRENT_CLIENT: ContextVar[str] = ContextVar("choshu_audit_client", default="")


@contextmanager
def audit_client(addr: str) -> Iterator[None]:
    """Every audit record written inside this block carries ``addr`` unless given a request."""
    token = _CURRENT_CLIENT.set(addr)
    try:
        yield
    finally:
        _CURRENT_CLIENT.reset(token)


def client_addr(request: HttpRequest | None) -> str:
    """The request's client address (``REMOTE_ADDR``, or behind a trusted proxy the client it names:
    ``core.client_ip``); without a request, the address of the work under way."""
    if request is None:
        return _CURRENT_CLIENT.get()
    return client_ip(request)


@transaction.atomic
def audit_record(
    *,
    kind: str,
    function: str,
    municipality: Municipality | None,
    user: Any = None,
    request: HttpRequest | None = None,
    subject_type: str = "",
    subject_ids: Sequence[int] = (),
    detail: dict[str, Any] | None = None,
    job: Job | None = None,
    shows_address: bool = False,
) -> AuditLog:
    """Append one record to the hash chain (the chain is global, so logs of all tenants are linked).

    ``shows_address``: the screen or file recorded shows the subjects' addresses to a user allowed to
    see them (the 支援措置 flag ``address_shown``).
    """
    ids = [int(i) for i in subject_ids]
    detail = dict(detail or {})
    if subject_type == AuditSubjectType.TAXPAYER and ids:
        for flags in _SUBJECT_FLAGS:
            detail.update(flags(user, ids, shows_address, timezone.localdate()))
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    last = AuditLog.objects.order_by("-id").values_list("record_hash", flat=True).first()
    if last is None:  # empty, or everything purged: continue from the purge anchor
        last = (
            AuditChainAnchor.objects.order_by("-last_purged_id")
            .values_list("last_purged_hash", flat=True)
            .first()
        )
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    log = AuditLog(
        municipality=municipality,
        kind=kind,
        at=timezone.now(),
        user=user if authenticated else None,
        username=getattr(user, "username", "") if authenticated else "",
        client_addr=client_addr(request),
        function=function,
        subject_type=subject_type,
        subject_ids=ids,
        detail=detail,
        job=job,
        prev_hash=last or GENESIS,
    )
    log.record_hash = compute_hash(log)
    log.save()
    if municipality is not None and subject_type == AuditSubjectType.TAXPAYER and ids:
        AuditSubject.objects.bulk_create(
            [AuditSubject(log=log, municipality=municipality, taxpayer_id=i) for i in set(ids)]
        )
    return log


def audit_access(
    *,
    request: HttpRequest,
    function: str,
    taxpayer_ids: Iterable[int],
    detail: dict[str, Any] | None = None,
    shows_address: bool = False,
) -> AuditLog:
    """Record that the requesting user saw these taxpayers' data (照会); ``shows_address`` when the
    screen shows their addresses (to whoever may see them)."""
    user = request.user
    return audit_record(
        kind=AuditKind.ACCESS,
        function=function,
        municipality=getattr(user, "municipality", None),
        user=user,
        request=request,
        subject_type=AuditSubjectType.TAXPAYER,
        subject_ids=list(taxpayer_ids),
        detail=detail,
        shows_address=shows_address,
    )
