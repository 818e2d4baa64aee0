"""Writing audit records. Call these from services and views, inside the same transaction."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from choshu.audit.macs import row_mac
from choshu.audit.models import AuditKind, AuditLog, AuditPending, AuditSubject, AuditSubjectType, chain_of
from choshu.audit.sealing import seal_soon
from choshu.core.client_ip import client_ip
from choshu.core.models import Job, Municipality

# What an app adds to every record about taxpayers: (user, taxpayer ids, whether the screen or file
# shows addresses, the day) → detail keys. ``taxpayers`` registers the 支援措置 flags (``protected``,
# ``address_shown``), so no caller of ``audit_record`` / ``audit_access`` can forget them.
SubjectFlags = Callable[[Any, list[int], bool, date], dict[str, Any]]
_SUBJECT_FLAGS: list[SubjectFlags] = []


def register_subject_flags(flags: SubjectFlags) -> None:
    if flags not in _SUBJECT_FLAGS:
        _SUBJECT_FLAGS.append(flags)


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
    """Write one record, signed with its chain's key, and queue it for sealing.

    No lock is taken: the record waits in ``AuditPending`` until the sealer links it into its
    municipality's chain (right after this transaction commits, at most once per
    ``CHOSHU_AUDIT_SEAL_SECONDS`` per process, and by ``choshu worker`` / ``choshu audit-seal``).

    ``shows_address``: the screen or file recorded shows the subjects' addresses to a user allowed to
    see them (the 支援措置 flag ``address_shown``).
    """
    ids = [int(i) for i in subject_ids]
    detail = dict(detail or {})
    if subject_type == AuditSubjectType.TAXPAYER and ids:
        for flags in _SUBJECT_FLAGS:
            detail.update(flags(user, ids, shows_address, timezone.localdate()))
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
        nonce=secrets.token_hex(16),
    )
    # Roundtrip the JSON fields as the database will return them, so the signature covers exactly
    # what a verifier reads back (e.g. a date in ``detail`` becomes its ISO string).
    log.detail = json.loads(json.dumps(log.detail, default=str))
    log.row_mac = row_mac(log)
    log.save()
    if municipality is not None and subject_type == AuditSubjectType.TAXPAYER and ids:
        AuditSubject.objects.bulk_create(
            [AuditSubject(log=log, municipality=municipality, taxpayer_id=i) for i in set(ids)]
        )
    chain = chain_of(log.municipality_id)
    AuditPending.objects.create(chain=chain, log=log, at=log.at)
    transaction.on_commit(lambda: seal_soon(chain))
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
