from django.urls import include, path

from choshu.api.api import api
from choshu.api.token_views import token

urlpatterns = [
    path("", include("choshu.web.urls")),
    path("accounts/", include("choshu.accounts.urls")),
    path("approvals/", include("choshu.web.approvals_urls")),
    path("audit/", include("choshu.web.audit_urls")),
    path("receipts/", include("choshu.receipts.urls")),
    path("dunning/", include("choshu.dunning.urls")),
    path("refunds/", include("choshu.refunds.urls")),
    path("debits/", include("choshu.debits.urls")),
    path("cases/", include("choshu.cases.urls")),
    path("relief/", include("choshu.relief.urls")),
    path("enforcement/", include("choshu.enforcement.urls")),
    path("reports/", include("choshu.reports.urls")),
    path("api-clients/", include("choshu.api.urls")),
    # the integration API (docs/api.md): machine clients with bearer tokens, not staff sessions
    path("api/oauth/token", token, name="oauth-token"),
    path("api/", api.urls),
    path("callcenter/", include("choshu.callcenter.urls")),
]
