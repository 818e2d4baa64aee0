from django.urls import path

from choshu.reports import views

app_name = "reports"
urlpatterns = [
    path("settlement/", views.settlement_page, name="settlement"),
    path("settlement/csv/", views.settlement_csv_view, name="settlement-csv"),
    path("settlement/xlsx/", views.settlement_xlsx_view, name="settlement-xlsx"),
    path("certificates/verify/", views.certificate_verify, name="certificate-verify"),
    path("taxpayers/<int:pk>/certificate/", views.certificate_issue, name="certificate"),
]
