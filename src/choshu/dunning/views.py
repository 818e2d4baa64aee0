"""督促状の一括発付 screen (issue 15 §8): a dry run with counts and amounts by tax item, then issue.

No personal data is shown (counts and totals only); issuing writes the run's own audit record."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from choshu.accounts.decorators import right_required, staff_user
from choshu.accounts.permissions import Right
from choshu.dunning.forms import DunningRunForm
from choshu.dunning.services import dunning_run
from choshu.levies.tax_items import tax_item_name


@never_cache
@right_required(Right.DUNNING_RUN)
def run_view(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: a dry run (default) or, with ``issue``, the run itself."""
    user = staff_user(request)
    today = timezone.localdate()
    context: dict[str, object] = {"today": today}
    if request.method != "POST":
        context["form"] = DunningRunForm(initial={"as_of": today})
        return render(request, "dunning/run.html", context)
    form = DunningRunForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "dunning/run.html", context, status=400)
    issue = "issue" in request.POST
    assert user.municipality is not None  # right_required: a member of a municipality
    try:
        summary = dunning_run(
            municipality=user.municipality,
            as_of=form.cleaned_data["as_of"],
            today=today,
            actor=user,
            dry_run=not issue,
        )
    except ValidationError as exc:
        form.add_error("as_of", exc.messages)
        return render(request, "dunning/run.html", context, status=400)
    m = user.municipality.pk
    context["summary"] = summary
    context["items"] = [
        {"code": code, "name": tax_item_name(m, code), **counts}
        for code, counts in sorted(summary.by_tax_item.items())
    ]
    return render(request, "dunning/run.html", context)
