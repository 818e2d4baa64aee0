from django.urls import path

from choshu.reports import views

app_name = "reports"
urlpatterns = [
    path("settlement/", views.settlement_page, name="settlement"),
    path("settlement/csv/", views.settlement_csv_view, name="settlement-csv"),
    path("settlement/xlsx/", views.settlement_xlsx_view, name="settlement-xlsx"),
    path("statistics/", views.statistics_page, name="statistics"),
    path("monthly-statement/", views.monthly_statement_page, name="monthly-statement"),
    path("monthly-statement/csv/", views.monthly_statement_csv_view, name="monthly-statement-csv"),
    path("monthly-statement/xlsx/", views.monthly_statement_xlsx_view, name="monthly-statement-xlsx"),
    path("certificates/verify/", views.certificate_verify, name="certificate-verify"),
    path("taxpayers/<int:pk>/certificate/", views.certificate_issue, name="certificate"),
]
