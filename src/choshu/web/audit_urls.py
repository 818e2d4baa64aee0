from django.urls import path

from choshu.web import audit_views as views

app_name = "audit"
urlpatterns = [
    path("", views.audit_log, name="log"),
    path("export.csv", views.audit_log_export, name="export"),
    path("verify/", views.chain_verify, name="verify"),
]
