from django.urls import include, path

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
    path("callcenter/", include("choshu.callcenter.urls")),
]
