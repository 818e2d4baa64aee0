"""督促状の再発行（PDF）: one notice printed at the counter, from the person page's 督促状 list.

Right ``slip_issue`` (the counter's 納付書の発行・再発行: the notice carries the slip). A notice of
another municipality is "not found" (404). Every print writes the access log and an EXPORT record with
the PDF's SHA-256; for a person under 支援措置 both carry the protection flags (``audit``) and the
address is printed only for a user who may see it (``dunning.notice_pdf``).
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.audit.models import AuditKind, AuditSubjectType
from choshu.audit.services import audit_access, audit_record
from choshu.dunning.models import DunningNotice
from choshu.dunning.notice_pdf import notice_print, render_notice
from choshu.taxpayers.selectors import taxpayer_get_for_user

PDF_FUNCTION = "督促状出力（再発行）"


@never_cache
@right_required(Right.SLIP_ISSUE)
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The 督促状 ``pk`` as a PDF (inline)."""
    user = staff_user(request)
    notice = (
        DunningNotice.objects.filter(pk=pk, municipality_id=user.municipality_id or 0)
        .select_related("municipality", "taxpayer", "slip")
        .first()
    )
    if notice is None:
        raise Http404("指定された督促状は見つかりません。")
    taxpayer_get_for_user(user=user, pk=notice.taxpayer_id, right=Right.SLIP_ISSUE)
    data = notice_print(notice, user=user, on=timezone.localdate())
    pdf = render_notice(data)
    detail = {
        "notice": notice.pk,
        "slip_no": notice.slip.slip_no if notice.slip else "",
        "print_in_office": notice.print_in_office,
        "address_withheld": data.address_withheld,
        "sha256": hashlib.sha256(pdf).hexdigest(),
    }
    shows_address = not data.address_withheld
    with transaction.atomic():
        audit_access(
            request=request, function=PDF_FUNCTION, taxpayer_ids=[notice.taxpayer_id], detail=detail,
            shows_address=shows_address,
        )  # fmt: skip
        audit_record(
            kind=AuditKind.EXPORT,
            function=PDF_FUNCTION,
            municipality=user.municipality,
            user=user,
            request=request,
            subject_type=AuditSubjectType.TAXPAYER,
            subject_ids=[notice.taxpayer_id],
            detail=detail,
            shows_address=shows_address,
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(False, f"tokusoku-{notice.pk}.pdf") or "inline"
    )
    return response
