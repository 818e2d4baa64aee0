from django.urls import path

from choshu.accounts import views

app_name = "accounts"
urlpatterns = [
    path("users/", views.user_list, name="user-list"),
    path("municipality/", views.municipality_settings, name="municipality-settings"),
    path("lockouts/", views.lockout_list, name="lockout-list"),
    path("lockouts/unlock/", views.lockout_unlock, name="lockout-unlock"),
    path("users/new/", views.user_new, name="user-new"),
    path("users/<int:pk>/", views.user_detail, name="user-detail"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("reports/changes/", views.report_changes, name="report-changes"),
    path("reports/changes/csv/", views.report_changes_csv, name="report-changes-csv"),
    path("reports/review/", views.report_review, name="report-review"),
    path("reports/review/csv/", views.report_review_csv, name="report-review-csv"),
]
